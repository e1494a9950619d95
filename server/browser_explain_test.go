package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server/web"
	"github.com/facerec/facerec/server/web/browsertest"
)

// TestBrowserCompareWhy: the compare screen's "Why?" against the real
// server and pipeline, on the sample drawings of docs/samples (no real
// person's photo): after a comparison, Why? lays the explanation over the
// first photo's preview, where the face is (most of what the heatmap
// changes lies in the face box the pipeline finds), and pressed again shows
// the photo alone; the other map can be chosen. With FACEREC_SCREENSHOTS
// set it writes web-compare-why.png and web-compare-why-gradcam.png there (docs/screenshots has it).
func TestBrowserCompareWhy(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	_, err := browsertest.ExecPath()
	sharedtest.Need(t, "chromium", err)
	pipe := realPipeline(t)
	a, _ := filepath.Abs(filepath.Join("..", "docs", "samples", "known", "Ada.jpg"))
	b, _ := filepath.Abs(filepath.Join("..", "docs", "samples", "door", "Ada_2.jpg"))
	imgA, _, err := photo.DecodeFile(a, photo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	subject, err := pipe.Subject(context.Background(), imgA)
	if err != nil {
		t.Fatal(err)
	}
	g := realGallery(t, t.TempDir(), pipe)
	svc, err := recognition.New(recognition.Config{Recognizer: pipe, Gallery: g, Decision: face.RuleOf(pipe.Model())})
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewExplainer(pipe)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Service: svc, Explainer: x, Web: web.Handler(),
		Logger: slog.New(slog.NewTextHandler(serverWarnings{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	ctx := browsertest.Start(t, browsertest.Options{})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			browsertest.Screenshot(t, ctx, "compare-why-failure")
			t.Fatalf("%s: %v", what, err)
		}
	}
	const slow = 30 * time.Second
	waitText := func(sel, want string) {
		t.Helper()
		_, err := browsertest.WaitText(ctx, sel, want, slow)
		must("waiting for "+want, err)
	}
	// pixels reads the first preview's pixels.
	pixels := func() []int {
		t.Helper()
		px, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => {
			const c = document.getElementById("compare-preview1");
			return [c.width, c.height, ...c.getContext("2d").getImageData(0, 0, c.width, c.height).data];
		})()`))
		must("reading the preview", err)
		return px
	}
	must("opening the page", chromedp.Do(ctx, chromedp.Navigate(ts.URL)))
	must("comparing", chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("compare-photo1"), []string{a}),
		chromedp.SetUploadFiles(chromedp.ID("compare-photo2"), []string{b}),
		chromedp.Click(chromedp.ID("compare-submit"))))
	waitText("#compare-result", "Same person (distance ")
	plain := pixels()
	must("asking why", chromedp.Do(ctx, chromedp.Click(chromedp.ID("compare-why"))))
	waitText("#compare-why-text", "of it on the face; distance ")
	pressed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("compare-why").getAttribute("aria-pressed")`))
	must("reading the button", err)
	if pressed != "true" {
		t.Errorf("Why? shows the map but is not pressed (%q)", pressed)
	}
	shot := browsertest.ScreenshotOf(t, ctx, "web-compare-why", "#compare")
	heat := pixels()
	if len(heat) != len(plain) || len(plain) < 3 {
		t.Fatalf("the preview changed size: %d against %d values", len(heat), len(plain))
	}
	// What the map changed, and how much of it lies in the face box
	// (photo pixels scaled to the preview's).
	w, h := plain[0], plain[1]
	k := float64(w) / float64(imgA.Bounds().Dx())
	box := subject.Box
	in, all := 0.0, 0.0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := 2 + 4*(y*w+x)
			d := 0.0
			for c := 0; c < 3; c++ {
				d += abs(float64(heat[o+c] - plain[o+c]))
			}
			all += d
			px, py := (float64(x)+0.5)/k, (float64(y)+0.5)/k
			if px >= box.X && px < box.X+box.W && py >= box.Y && py < box.Y+box.H {
				in += d
			}
		}
	}
	t.Logf("preview %d×%d: the heatmap changed %.0f (colour steps), %.0f%% of it in the face box; screenshot %s", w, h, all, 100*in/all, shot)
	if all < float64(w*h) {
		t.Errorf("the heatmap hardly changed the preview (%.0f colour steps over %d pixels)", all, w*h)
	}
	if in < 0.5*all {
		t.Errorf("only %.0f%% of the heatmap lies in the face box", 100*in/all)
	}
	// The other map, then the photo alone again.
	must("choosing Grad-CAM", chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("compare-why-map"), "gradcam")))
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("compare-why-map").dispatchEvent(new Event("change"))`))
	must("choosing Grad-CAM", err)
	waitText("#compare-why-text", "regions of the first photo that made the two faces alike")
	browsertest.ScreenshotOf(t, ctx, "web-compare-why-gradcam", "#compare")
	must("hiding the map", chromedp.Do(ctx, chromedp.Click(chromedp.ID("compare-why"))))
	deadline := time.Now().Add(slow)
	for {
		again := pixels()
		same := len(again) == len(plain)
		for i := 2; same && i < len(again); i++ {
			same = abs(float64(again[i]-plain[i])) <= 2
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pressed again, Why? did not restore the plain photo")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A new photo hides the explanation.
	must("choosing another photo", chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("compare-photo1"), []string{b})))
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("compare-why-bar").hidden`))
	must("reading the bar", err)
	if !hidden {
		t.Error("the explanation of the old photos stays offered after a new photo")
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
