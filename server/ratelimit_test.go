package server_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/facerec/facerec/server"
)

// TestKeyRateLimit: with a rate limit, each key may make its burst of
// requests, then gets 429 too_many_requests with Retry-After and the
// API's JSON error, while another key is unaffected; a second later the key
// has regained a request.
func TestKeyRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.RateLimit, c.RateBurst = 1, 3 }})
	for i := 0; i < 3; i++ {
		if r := h.do(http.MethodGet, "/v1/people", h.fullKey, "", nil); r.status != http.StatusOK {
			t.Fatalf("request %d of the burst: %d %s", i+1, r.status, r.body)
		}
	}
	r := h.do(http.MethodGet, "/v1/people", h.fullKey, "", nil)
	r.wantError(t, http.StatusTooManyRequests, server.CodeTooManyRequests)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 1 {
		t.Errorf("Retry-After %q, want 1 (one request a second)", r.header.Get("Retry-After"))
	}
	// The recognize key has its own bucket.
	if r := h.do(http.MethodGet, "/metrics", h.recKey, "", nil); r.status != http.StatusOK {
		t.Errorf("another key while the first is limited: %d %s", r.status, r.body)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := h.do(http.MethodGet, "/v1/people", h.fullKey, "", nil); r.status != http.StatusOK {
		t.Errorf("the key a second later: %d %s, want 200", r.status, r.body)
	}
}

// TestNoRateLimitByDefault: without Config.RateLimit a key is not limited.
func TestNoRateLimitByDefault(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for i := 0; i < 50; i++ {
		if r := h.do(http.MethodGet, "/v1/people", h.fullKey, "", nil); r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"off": 0, "": 0, "0": 0, "5": 5, "5/s": 5, "300/m": 5, "1800/h": 0.5, "0.5/s": 0.5} {
		if got, err := server.ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"5/d", "x/s", "-1/s", "Inf", "NaN", "5/"} {
		if got, err := server.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", in, got)
		}
	}
}
