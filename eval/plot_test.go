package eval

import (
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// checkPNG decodes path as a PNG and checks its size: 6×4.5 in at 96 DPI.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 576 || b.Dy() != 432 {
		t.Errorf("%s: size %dx%d, want 576x432", path, b.Dx(), b.Dy())
	}
}

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(21, 22))
	d, s := randomPairs(rng, 600, 0.02)
	pts, err := ROC(d, s)
	if err != nil {
		t.Fatal(err)
	}
	d2 := make([]float64, len(d))
	for i := range d {
		d2[i] = d[i] + 0.2*rng.NormFloat64()
	}
	pts2, err := ROC(d2, s)
	if err != nil {
		t.Fatal(err)
	}
	curves := map[string][]ROCPoint{"model": pts, "noisy": pts2}

	for _, logFAR := range []bool{false, true} {
		path := filepath.Join(dir, "roc.png")
		if logFAR {
			path = filepath.Join(dir, "roc_log.png")
		}
		if err := PlotROC(path, curves, logFAR); err != nil {
			t.Fatalf("PlotROC(log=%v): %v", logFAR, err)
		}
		checkPNG(t, path)
	}

	tau, _, err := BestThreshold(d, s)
	if err != nil {
		t.Fatal(err)
	}
	// The extension does not choose the format: output is always PNG.
	hist := filepath.Join(dir, "hist.out")
	if err := PlotHistogram(hist, d, s, tau); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, hist)
	// A single repeated distance still gets bins of non-zero width.
	for _, v := range []float64{1, 1e20} {
		if err := PlotHistogram(hist, []float64{v, v, math.NaN()}, []bool{true, false, true}, v); err != nil {
			t.Errorf("PlotHistogram of one value %v: %v", v, err)
		}
		checkPNG(t, hist)
	}

	res, err := OpenSet(
		[]Identity{{"A", []float32{0, 0}}, {"B", []float32{10, 0}}},
		[]Probe{{"A", []float32{1, 0}}, {"B", []float32{9, 1}}, {"X", []float32{5, 0}}, {"Y", []float32{1, 1}}},
		nil)
	if err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "openset.png")
	if err := PlotOpenSet(open, res.Points); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, open)
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	good := []ROCPoint{{math.Inf(-1), 0, 0}, {1, 1, 1}}
	if err := PlotROC(path, nil, false); err == nil {
		t.Error("PlotROC with no curves: no error")
	}
	if err := PlotROC(path, map[string][]ROCPoint{"a": {{0, 2, 0}}}, false); err == nil {
		t.Error("PlotROC with TAR 2: no error")
	}
	if err := PlotROC(path, map[string][]ROCPoint{"a": {{0, 0, 0}}}, true); err == nil {
		t.Error("PlotROC on a log axis with only FAR 0: no error")
	}
	if err := PlotROC(filepath.Join(dir, "missing", "x.png"), map[string][]ROCPoint{"a": good}, false); err == nil {
		t.Error("PlotROC into a missing directory: no error")
	}
	if err := PlotHistogram(path, []float64{1, 2}, []bool{true, false}, math.NaN()); err == nil {
		t.Error("PlotHistogram with NaN τ: no error")
	}
	if err := PlotHistogram(path, []float64{math.NaN()}, []bool{true}, 1); err == nil {
		t.Error("PlotHistogram with no finite distance: no error")
	}
	if err := PlotHistogram(path, []float64{1}, nil, 1); err == nil {
		t.Error("PlotHistogram with mismatched lengths: no error")
	}
	if err := PlotOpenSet(path, nil); err == nil {
		t.Error("PlotOpenSet with no points: no error")
	}
}
