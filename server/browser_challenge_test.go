package server

import (
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server/web"
	"github.com/facerec/facerec/server/web/browsertest"
)

// TestBrowserChallengeStillPhoto holds a still photo to the page's camera
// (Chromium's fake camera playing one LFW photo, frame after frame) and
// asks for the active liveness challenge: the real server, with the real
// models, must fail both the turn and the blink.
func TestBrowserChallengeStillPhoto(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	_, err := browsertest.ExecPath()
	sharedtest.Need(t, "chromium", err)
	frame, _ := doorScene(t, sharedtest.Path(t, "data", "lfw", "deepfunneled", "Colin_Powell", "Colin_Powell_0002.jpg"))
	pipe := realPipeline(t)
	tmp := t.TempDir()
	g := realGallery(t, tmp, pipe)
	const key = "challenge-test-key"
	keys, err := NewKeys(key, "")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := recognition.New(recognition.Config{Recognizer: pipe, Gallery: g, Decision: face.RuleOf(pipe.Model())})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Service: svc, Keys: keys, Web: web.Handler(),
		Logger: slog.New(slog.NewTextHandler(serverWarnings{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cam := filepath.Join(tmp, "still.y4m")
	if err := browsertest.WriteY4MFile(cam, frame, 1); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.Start(t, browsertest.Options{Camera: cam})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			browsertest.Screenshot(t, ctx, "challenge-failure")
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("opening the page", chromedp.Do(ctx, chromedp.Navigate(ts.URL),
		chromedp.SendKeys(chromedp.ID("api-key"), key),
		chromedp.Click(chromedp.CSS("#key-form button")),
		chromedp.Click(chromedp.ID("door-toggle"))))
	_, err = browsertest.WaitText(ctx, "#door-status", "Watching the door.", 20*time.Second)
	must("starting the door check", err)
	for _, c := range []struct{ button, want string }{
		{"challenge-turn", "Liveness check failed: the head turned"},
		{"challenge-blink", "Liveness check failed: no blink"},
	} {
		must("asking for the challenge", chromedp.Do(ctx, chromedp.Click(chromedp.ID(c.button))))
		_, err = browsertest.WaitText(ctx, "#challenge-status", c.want, 60*time.Second)
		must(c.button, err)
	}
	browsertest.Screenshot(t, ctx, "challenge-still-photo")
}
