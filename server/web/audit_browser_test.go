package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/server/web/browsertest"
)

// TestAuditPanel: with a server that keeps an audit log, the page shows
// its latest records (a known and a refused decision, a deletion), and a
// key that may not read them gets a sentence; without a log the panel
// stays hidden.
func TestAuditPanel(t *testing.T) {
	api := &fakeAPI{events: []any{
		map[string]any{"time": "2026-12-02T18:00:03Z", "kind": "change", "source": "server", "key": "master",
			"endpoint": "DELETE /v1/people/p0001", "action": "delete", "person": "p0001"},
		map[string]any{"time": "2026-12-02T18:00:02Z", "kind": "decision", "source": "server", "key": "0a1b2c3d4e5f",
			"endpoint": "POST /v1/identify", "result": "refused", "reason": "runner_up_too_close", "distance": 0.3, "threshold": 0.61},
		map[string]any{"time": "2026-12-02T18:00:01Z", "kind": "decision", "source": "server", "key": "0a1b2c3d4e5f",
			"endpoint": "POST /v1/identify", "result": "known", "person": "p0001", "distance": 0.42, "threshold": 0.61},
	}}
	api.add("Ada")
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 900})
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	got, err := browsertest.WaitText(ctx, "#events-list", "delete p0001 — DELETE /v1/people/p0001 — key master", 10*time.Second)
	if err != nil {
		browsertest.Screenshot(t, ctx, "audit-panel-failure")
		t.Fatal(err)
	}
	for _, want := range []string{"refused: runner up too close (0.30 / 0.61) — POST /v1/identify — key 0a1b2c3d4e5f",
		"known p0001 (0.42 / 0.61)"} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit panel %q lacks %q", got, want)
		}
	}
	classes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events-list li")].map((li) => li.className)`))
	if err != nil || strings.Join(classes, ",") != "change,close,known" {
		t.Errorf("the records' classes %v (%v), want change, close, known", classes, err)
	}
	browsertest.ScreenshotOf(t, ctx, "audit-panel", "#events")

	// A key that may not read the log.
	api.mu.Lock()
	api.eventsForbidden = true
	api.mu.Unlock()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitText(ctx, "#events-status", "This API key cannot read the audit log.", 10*time.Second); err != nil {
		t.Error(err)
	}

	// No log: no panel.
	api.mu.Lock()
	api.events = nil
	api.mu.Unlock()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitText(ctx, "#history-status", "No door decisions yet.", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("events").hidden`))
	if err != nil || !hidden {
		t.Errorf("the audit panel hidden=%v (%v) on a server without a log", hidden, err)
	}
}
