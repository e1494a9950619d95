package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/server/web/browsertest"
)

// TestVisualizeReportInBrowser writes a small report of the descriptor
// and opens it in headless Chromium: the page loads, and every image in it
// (photos, filters, and per layer the feature maps, top patches and
// maximised units) is there and decoded.
func TestVisualizeReportInBrowser(t *testing.T) {
	realModels(t)
	_, err := browsertest.ExecPath()
	sharedtest.Need(t, "chromium", err)
	lfw := sharedtest.Path(t, "data", "lfw", "deepfunneled")
	imgs := t.TempDir()
	for _, name := range []string{"Aaron_Peirsol", "Abdullah_Gul", "AJ_Cook", "Colin_Powell"} {
		b, err := os.ReadFile(filepath.Join(lfw, name, name+"_0001.jpg"))
		if err != nil {
			t.Skipf("LFW: %v", err)
		}
		if err := os.WriteFile(filepath.Join(imgs, name+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	if _, err := runCommand(t, visReportCmd(), "", "--model", "descriptor", "--images", imgs, "--out", out,
		"--units", "3", "--maximize", "1", "--steps", "5"); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.Start(t, browsertest.Options{})
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+filepath.Join(out, "index.html"))); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitText(ctx, "h1", "descriptor", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// 4 photos, the filters, and for each of the 4 layers its feature
	// maps, its patches and one maximised unit.
	const want = 4 + 1 + 4*3
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => {
		const imgs = [...document.images];
		return [imgs.length, imgs.filter(i => i.complete && i.naturalWidth > 0).length,
			document.querySelectorAll("#layers tr").length, document.querySelectorAll("section.layer").length];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 4 || counts[0] != want || counts[1] != want || counts[3] != 4 || counts[2] < 50 {
		t.Errorf("images %v (want %d, all decoded), table rows and layer sections %v", counts[:min(2, len(counts))], want, counts[min(2, len(counts)):])
	}
	shot := browsertest.Screenshot(t, ctx, "visualize-report")
	t.Logf("screenshot %s; counts %v", shot, counts)
}
