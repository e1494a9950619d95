//go:build ignore

// load fires /v1/identify requests at a running facerec serve for a fixed
// time from several clients and reports what a load balancer would see:
// requests per second, status counts, p50/p99 latency, whether every 200
// named the expected person, and the server's RSS before and after.
//
//	go run docs/load/load.go -url http://127.0.0.1:8080 -photo P.jpg -want NAME -pid PID -clients 4 -for 60s
//
// docs/load/README.md has the numbers it gave.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "server")
	path := flag.String("photo", "", "photo to identify")
	want := flag.String("want", "", "name the answer must give")
	pid := flag.Int("pid", 0, "server process, for its RSS")
	clients := flag.Int("clients", 4, "concurrent clients")
	dur := flag.Duration("for", 30*time.Second, "how long")
	flag.Parse()
	photo, err := os.ReadFile(*path)
	if err != nil {
		fail(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "probe.jpg")
	fw.Write(photo)
	mw.Close()
	rss0 := rss(*pid)
	var (
		mu        sync.Mutex
		lat       []time.Duration
		status    = map[int]int{}
		wrong     int
		transport int
	)
	deadline := time.Now().Add(*dur)
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	start := time.Now()
	for range *clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Post(*url+"/v1/identify", mw.FormDataContentType(), bytes.NewReader(body.Bytes()))
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					transport++
					mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				ok := true
				if resp.StatusCode == 200 && *want != "" {
					var r struct {
						Faces []struct{ Match *struct{ Name string } }
					}
					ok = json.Unmarshal(b, &r) == nil && len(r.Faces) > 0 && r.Faces[0].Match != nil && r.Faces[0].Match.Name == *want
				}
				mu.Lock()
				status[resp.StatusCode]++
				lat = append(lat, d)
				if !ok {
					wrong++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	out, _ := json.Marshal(map[string]any{
		"clients": *clients, "seconds": elapsed.Seconds(), "requests": len(lat), "req_per_s": float64(len(lat)) / elapsed.Seconds(),
		"status": status, "wrong_answers": wrong, "transport_errors": transport,
		"p50_ms": pct(0.5), "p99_ms": pct(0.99), "rss_start_mb": rss0, "rss_end_mb": rss(*pid),
	})
	fmt.Println(string(out))
}

// rss is the resident set of process pid in MB (0 without one).
func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb float64
		if _, err := fmt.Sscanf(l, "VmRSS: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}
