package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facerec/facerec/server"
)

// blockedPhoto makes the fake recognizer wait for its gate.
func blockedPhoto(t testing.TB) []byte { return pixelPhoto(t, 1, 1, layoutBlock) }

// postAsync posts a photo to /v1/identify in the background; the reply
// comes on the channel.
func (h *harness) postAsync(photo []byte) <-chan reply {
	c := make(chan reply, 1)
	body, ct := multipartBody(h.t, file("photo", photo))
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/identify", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+h.recKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c <- reply{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		c <- reply{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	return c
}

func TestBusy(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) {
		c.Concurrency, c.MaxQueue, c.QueueWait = 1, 1, 10*time.Second
	}})
	h.rec.entered = make(chan struct{}, 4)
	first := h.postAsync(blockedPhoto(t))
	<-h.rec.entered // the only slot is taken
	second := h.postAsync(onePerson(t, 1))
	waitFor(t, "a request in the queue", func() bool {
		return strings.Contains(h.metricsText(), "facerec_recognitions_waiting 1")
	})
	// The queue is full: turned away at once, with Retry-After.
	body, ct := multipartBody(t, file("photo", onePerson(t, 1)))
	r := h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body)
	r.wantError(t, http.StatusServiceUnavailable, server.CodeBusy)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 busy without Retry-After")
	}
	// Non-recognition endpoints are not limited.
	h.do(http.MethodGet, "/healthz", "", "", nil).decode(t, http.StatusOK, &map[string]string{})
	close(h.rec.gate)
	for i, c := range []<-chan reply{first, second} {
		if r := <-c; r.status != http.StatusOK {
			t.Errorf("queued request %d: status %d %s, want 200", i, r.status, r.body)
		}
	}
	if !strings.Contains(h.metricsText(), "facerec_busy_rejections_total 1") {
		t.Error("the busy rejection is not counted in /metrics")
	}
	h.stillServing()
}

func TestBusyAfterWaiting(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) {
		c.Concurrency, c.MaxQueue, c.QueueWait = 1, 8, 50*time.Millisecond
	}})
	h.rec.entered = make(chan struct{}, 4)
	first := h.postAsync(blockedPhoto(t))
	<-h.rec.entered
	start := time.Now()
	body, ct := multipartBody(t, file("photo", onePerson(t, 1)))
	r := h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body)
	r.wantError(t, http.StatusServiceUnavailable, server.CodeBusy)
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("turned away after %v, before the queue wait of 50ms", waited)
	}
	close(h.rec.gate)
	if r := <-first; r.status != http.StatusOK {
		t.Errorf("blocked request: status %d %s", r.status, r.body)
	}
	h.stillServing()
}

func TestTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) {
		c.Concurrency, c.RequestTimeout = 1, 100*time.Millisecond
	}})
	body, ct := multipartBody(t, file("photo", blockedPhoto(t)))
	h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body).wantError(t, http.StatusServiceUnavailable, server.CodeTimeout)
	// The abandoned recognition still holds the only slot until it ends:
	// the next request waits (and times out) too, rather than overrunning
	// the limit.
	body, ct = multipartBody(t, file("photo", onePerson(t, 1)))
	h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body).wantError(t, http.StatusServiceUnavailable, server.CodeTimeout)
	close(h.rec.gate)
	waitFor(t, "the abandoned recognition to end", func() bool {
		return strings.Contains(h.metricsText(), "facerec_recognitions_in_flight 0")
	})
	h.stillServing()
}

// TestTimeoutStopsRecognition: a recognition that stops when its context
// ends (as face.Pipeline does between networks) frees its slot when the
// request times out, so the next request is served at once.
func TestTimeoutStopsRecognition(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) {
		c.Concurrency, c.RequestTimeout = 1, 100*time.Millisecond
	}})
	body, ct := multipartBody(t, file("photo", pixelPhoto(t, 1, 1, layoutCancel)))
	start := time.Now()
	h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body).wantError(t, http.StatusServiceUnavailable, server.CodeTimeout)
	if d := time.Since(start); d > time.Second {
		t.Errorf("the timed-out request took %v", d)
	}
	waitFor(t, "the cancelled recognition to end", func() bool {
		return strings.Contains(h.metricsText(), "facerec_recognitions_in_flight 0")
	})
	h.stillServing()
}

// TestConcurrentRequests mixes every endpoint from many goroutines; run
// under -race it checks the server's (and the gallery's) locking.
func TestConcurrentRequests(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	const workers, rounds = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				identity := uint8(w*rounds + i)
				if err := concurrentRound(h, identity); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var list struct{ Total int }
	h.get("/v1/people").decode(t, http.StatusOK, &list)
	if list.Total != workers*rounds/2 {
		t.Errorf("%d people left, want %d (every other one deleted)", list.Total, workers*rounds/2)
	}
}

// concurrentRound enrols a person, finds them, and deletes every other
// one. It reports errors instead of failing, as it runs off the test's
// goroutine.
func concurrentRound(h *harness, identity uint8) error {
	do := func(method, path, key string, parts ...part) (int, string, error) {
		var r reply
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("%v", p)
				}
			}()
			if parts == nil {
				r = h.doQuiet(method, path, key, "", nil)
				return
			}
			body, ct := multipartBody(h.t, parts...)
			r = h.doQuiet(method, path, key, ct, body)
		}()
		return r.status, string(r.body), err
	}
	status, body, err := do(http.MethodPost, "/v1/people", masterKey, field("name", fmt.Sprint("p", identity)), file("photo", onePerson(h.t, identity)))
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("enrol: %d %s %v", status, body, err)
	}
	id := between(body, `"id":"`, `"`)
	status, body, err = do(http.MethodPost, "/v1/identify", h.recKey, file("photo", onePerson(h.t, identity)))
	if err != nil || status != http.StatusOK || !strings.Contains(body, `"match":{"id":"`+id+`"`) {
		return fmt.Errorf("identify %s: %d %s %v", id, status, body, err)
	}
	if status, body, err = do(http.MethodGet, "/v1/people?limit=5", masterKey); err != nil || status != http.StatusOK {
		return fmt.Errorf("list: %d %s %v", status, body, err)
	}
	if identity%2 == 1 {
		if status, body, err = do(http.MethodDelete, "/v1/people/"+id, masterKey); err != nil || status != http.StatusNoContent {
			return fmt.Errorf("delete: %d %s %v", status, body, err)
		}
	}
	return nil
}

// doQuiet is do without failing the test, for use off its goroutine.
func (h *harness) doQuiet(method, path, key, contentType string, body io.Reader) reply {
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		panic(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// between returns the text of s between the first from and the next to.
func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

func TestLoopbackOnlyWithoutKeys(t *testing.T) {
	h := newHarness(t, harnessOptions{noKeys: true})
	if h.srv.AuthRequired() {
		t.Fatal("AuthRequired with no key configured")
	}
	// Every request is allowed without a key.
	p := h.enroll("Alice", onePerson(t, 1))
	h.get("/v1/people/"+p.ID).decode(t, http.StatusOK, &person{})
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:8080"} {
		err := h.srv.ListenAndServe(context.Background(), addr)
		if err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("ListenAndServe(%q) without keys: %v, want a refusal", addr, err)
		}
		if err := server.CheckAddr(addr, nil); err == nil {
			t.Errorf("CheckAddr(%q, no keys) = nil", addr)
		}
	}
	keys, err := server.NewKeys("k", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.CheckAddr("0.0.0.0:8080", keys); err != nil {
		t.Errorf("CheckAddr with a key: %v", err)
	}
	// A listener on another interface, handed to Serve, is refused too.
	if ln, err := net.Listen("tcp", "0.0.0.0:0"); err == nil {
		if err := h.srv.Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Serve on %s without keys: %v, want a refusal", ln.Addr(), err)
		}
	}
}

// TestGracefulShutdown cancels Serve's context while a recognition is in
// progress: the request still gets its answer, then Serve returns nil and
// the port is closed.
func TestGracefulShutdown(t *testing.T) {
	h := newHarness(t, harnessOptions{noKeys: true})
	h.rec.entered = make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ctx, ln) }()
	h.url = "http://" + ln.Addr().String()
	inFlight := h.postAsync(blockedPhoto(t))
	<-h.rec.entered
	cancel()
	// Shutdown has begun once the listener refuses connections.
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in progress", err)
	default:
	}
	close(h.rec.gate)
	if r := <-inFlight; r.status != http.StatusOK {
		t.Errorf("in-flight request: status %d %s, want 200", r.status, r.body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if resp, err := http.Get(h.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET after shutdown: status %d, want a connection error", resp.StatusCode)
	}
}

// TestKeylessServerRefusesOtherSites: without keys the server trusts
// loopback, so a page of another site (a cross-site form POST needs no
// preflight) and a DNS-rebinding request (Host: the attacker's name) are
// refused; the server's own page and plain local clients are not.
func TestKeylessServerRefusesOtherSites(t *testing.T) {
	h := newHarness(t, harnessOptions{noKeys: true})
	send := func(host, origin string) int {
		body, ct := multipartBody(t, field("name", "Mallory"), file("photo", onePerson(t, 9)))
		// new=1: each accepted request enrols another Mallory.
		req, err := http.NewRequest(http.MethodPost, h.url+"/v1/people?new=1", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name, host, origin string
		want               int
	}{
		{"another site's page", "", "http://evil.example", http.StatusForbidden},
		{"a null origin", "", "null", http.StatusForbidden},
		{"DNS rebinding", "evil.example:8080", "http://evil.example:8080", http.StatusForbidden},
		{"rebinding without an origin", "evil.example", "", http.StatusForbidden},
		{"another local server's page", "localhost:8080", "http://localhost:3000", http.StatusForbidden},
		{"the server's own page", "", h.url, http.StatusCreated},
		{"localhost", "localhost:8080", "http://localhost:8080", http.StatusCreated},
		{"curl", "", "", http.StatusCreated},
	} {
		if got := send(c.host, c.origin); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}
