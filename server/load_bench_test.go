package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/internal/sharedtest"
)

// loadGallerySize is the gallery size of BenchmarkIdentifyLoad.
const loadGallerySize = 10_000

// BenchmarkIdentifyLoad fires /v1/identify requests over real TCP at a
// server with a 10k-person gallery, from 2×GOMAXPROCS clients so that
// every recognition slot stays busy. The request photo is a 250×250 LFW
// image through the real pipeline; the gallery holds 9,999 synthetic
// people (random descriptors, enrolled through the gallery directly) and
// the person in the photo. It reports throughput and the p50/p99 latency
// seen by the clients.
//
//	go test -run '^$' -bench IdentifyLoad -benchtime 200x ./server/
func BenchmarkIdentifyLoad(b *testing.B) {
	p := realPipeline(b)
	lfw := sharedtest.Path(b, "data", "lfw", "deepfunneled")
	photo := lfwPhoto(b, lfw, "Aaron_Peirsol", 1)
	h := newHarness(b, harnessOptions{rec: p})
	seedStart := time.Now()
	subject := h.enroll("Aaron Peirsol", photo)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for i := 1; i < loadGallerySize; i++ {
		if _, _, err := h.gal.Enroll(ctx, fmt.Sprint("synthetic ", i), nil, syntheticFace(rng, p.Model())); err != nil {
			b.Fatal(err)
		}
	}
	if people, _ := h.gal.Size(); people != loadGallerySize {
		b.Fatalf("gallery holds %d people, want %d", people, loadGallerySize)
	}
	b.Logf("seeded %d people in %v", loadGallerySize, time.Since(seedStart).Round(time.Millisecond))
	// The answer must be right, not just fast.
	if out := h.identify(h.recKey, photo); len(out.Faces) == 0 || out.Faces[0].Match == nil || out.Faces[0].Match.ID != subject.ID {
		b.Fatalf("the subject was not identified among %d people: %+v", loadGallerySize, out)
	}

	body, ct := multipartBody(b, file("photo", photo))
	payload, err := io.ReadAll(body)
	if err != nil {
		b.Fatal(err)
	}
	clients := 2 * runtime.GOMAXPROCS(0)
	jobs := make(chan struct{})
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		wg        sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/identify", bytes.NewReader(payload))
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Authorization", "Bearer "+h.recKey)
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(start)
				mu.Lock()
				if ok {
					latencies = append(latencies, d)
				} else {
					failures++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		jobs <- struct{}{}
		n++
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if failures > 0 {
		b.Fatalf("%d of %d requests failed", failures, n)
	}
	slices.Sort(latencies)
	pct := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(latencies)))) - 1
		return float64(latencies[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// syntheticFace is a random face descriptor with the scale of real ones
// (norm about 1), so that synthetic people are at distance ~1.4 from each
// other and from any real face: none of them matches.
func syntheticFace(rng *rand.Rand, m face.DescriptorModel) gallery.Face {
	d := make([]float32, m.Dim())
	var norm float64
	for i := range d {
		v := rng.NormFloat64()
		d[i] = float32(v)
		norm += v * v
	}
	norm = math.Sqrt(norm)
	for i := range d {
		d[i] /= float32(norm)
	}
	return gallery.Face{Descriptors: map[string][]float32{m.ID(): d}, Score: 0.9}
}
