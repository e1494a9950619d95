package model

import (
	"bufio"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/tensor"
)

func TestIoU(t *testing.T) {
	cases := []struct {
		a, b Rect
		want float64
	}{
		{Rect{0, 0, 10, 10}, Rect{0, 0, 10, 10}, 1},
		{Rect{0, 0, 10, 10}, Rect{5, 0, 10, 10}, 50.0 / 150},   // half overlap
		{Rect{0, 0, 10, 10}, Rect{2, 2, 5, 5}, 25.0 / 100},     // contained
		{Rect{0, 0, 10, 10}, Rect{10, 0, 10, 10}, 0},           // touching edges
		{Rect{0, 0, 10, 10}, Rect{20, 20, 5, 5}, 0},            // apart
		{Rect{-5, -5, 10, 10}, Rect{0, 0, 10, 10}, 25.0 / 175}, // negative origin
		{Rect{0, 0, 0, 10}, Rect{0, 0, 10, 10}, 0},             // empty
		{Rect{0, 0, -4, 10}, Rect{-4, 0, 10, 10}, 0},           // negative size
		{Rect{4, 10, -4, -10}, Rect{0, 0, 10, 10}, 0},          // both sizes negative
	}
	for _, c := range cases {
		if got := IoU(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := IoU(c.b, c.a); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %v, want %v (not symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestNMS(t *testing.T) {
	dets := []Detection{
		{Rect{0, 0, 10, 10}, 0.8},
		{Rect{1, 0, 10, 10}, 0.9},   // IoU with the first 90/110 = 0.82: wins
		{Rect{50, 50, 10, 10}, 0.7}, // apart: kept
		{Rect{5, 0, 10, 10}, 0.6},   // IoU with #1 60/140 = 0.43
		{Rect{52, 50, 10, 10}, 0.7}, // IoU with #2 80/120 = 0.67, equal score: input order
	}
	got := NMS(dets, 0.5, 0)
	want := []Detection{dets[1], dets[2], dets[3]}
	if len(got) != len(want) {
		t.Fatalf("NMS kept %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("NMS kept %v, want %v", got, want)
		}
	}
	// A lower threshold also drops the 0.43 overlap.
	if got := NMS(dets, 0.4, 0); len(got) != 2 || got[0] != dets[1] || got[1] != dets[2] {
		t.Errorf("NMS(0.4) = %v", got)
	}
	// maxResults caps the number kept.
	if got := NMS(dets, 0.5, 1); len(got) != 1 || got[0] != dets[1] {
		t.Errorf("NMS(max 1) = %v", got)
	}
	// IoU exactly at the threshold is kept (only IoU > threshold suppresses).
	pair := []Detection{{Rect{0, 0, 10, 10}, 0.9}, {Rect{5, 0, 10, 10}, 0.8}} // IoU 1/3
	if got := NMS(pair, 50.0/150, 0); len(got) != 2 {
		t.Errorf("IoU equal to the threshold suppressed: %v", got)
	}
	if got := NMS(nil, 0.5, 0); len(got) != 0 {
		t.Errorf("NMS(nil) = %v", got)
	}
	if dets[0].Score != 0.8 || dets[1].Score != 0.9 {
		t.Error("NMS modified its input")
	}
}

func TestClipBox(t *testing.T) {
	cases := []struct {
		r            Rect
		x, y, cw, ch int
	}{
		{Rect{10.7, 20.2, 30.9, 40.5}, 10, 20, 30, 40},
		{Rect{-3.5, -1, 20, 20}, 0, 0, 16, 19}, // clipped at the top-left
		{Rect{90.5, 95, 20, 20}, 90, 95, 9, 5}, // clipped at the bottom-right of 100×100
	}
	for _, c := range cases {
		x, y, cw, ch := clipBox(c.r, 100, 100)
		if x != c.x || y != c.y || cw != c.cw || ch != c.ch {
			t.Errorf("clipBox(%v) = %d %d %d %d, want %d %d %d %d", c.r, x, y, cw, ch, c.x, c.y, c.cw, c.ch)
		}
	}
}

// oracleFace is one face of `node oracle.js detect` output.
type oracleFace struct {
	Score     float64      `json:"score"`
	Box       oracleBox    `json:"box"`
	Landmarks [][2]float64 `json:"landmarks"`
}

type oracleBox struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

type oracleImage struct {
	File   string       `json:"file"`
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Faces  []oracleFace `json:"faces"`
}

// readOracle reads one of the testdata/oracle_*.jsonl files (see
// testdata/README.md).
func readOracle(t *testing.T, name string) []oracleImage {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []oracleImage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var im oracleImage
		if err := json.Unmarshal(sc.Bytes(), &im); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, im)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return out
}

// oracleInput loads the image an oracle line was computed on: one of the
// 250×250 crops of shared/oracle/testdata/crops, or a wide (rows 25..224) or
// tall (columns 30..209) cut of one, made the same way as testdata/README.md
// says the oracle's input was.
func oracleInput(t *testing.T, file string) *tensor.Tensor {
	t.Helper()
	base := filepath.Base(file)
	cut := ""
	for _, c := range []string{"_wide", "_tall"} {
		if strings.HasSuffix(base, c+".png") {
			cut = c
			base = strings.TrimSuffix(base, c+".png") + ".png"
		}
	}
	img := readPNG(t, sharedtest.Path(t, "oracle", "testdata", "crops", base))
	switch cut {
	case "_wide":
		return cropTensor(img, 0, 25, 250, 200)
	case "_tall":
		return cropTensor(img, 30, 0, 180, 250)
	}
	return img
}

// loadPNG is readPNG for benchmarks too.
func loadPNG(tb testing.TB, path string) *tensor.Tensor {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return rgbTensor(img)
}

// cropTensor copies the w×h region at (x, y) of an image [H, W, 3].
func cropTensor(img *tensor.Tensor, x, y, w, h int) *tensor.Tensor {
	iw := img.Shape[1]
	out := tensor.New(h, w, 3)
	for r := 0; r < h; r++ {
		copy(out.Data[r*w*3:(r+1)*w*3], img.Data[((y+r)*iw+x)*3:])
	}
	return out
}

// parityTol are the agreement bounds with the oracle on identical pixels.
const (
	boxTolPx      = 1.0
	landmarkTolPx = 0.5
	scoreTol      = 1e-3
)

// checkDetections compares detections (and their landmarks, when lm is not
// nil) with the oracle's faces for one image, and returns the worst box,
// landmark and score differences.
func checkDetections(t *testing.T, im oracleImage, img *tensor.Tensor, got []Detection, lm *LandmarkNet) (dBox, dLm, dScore float64) {
	t.Helper()
	if len(got) != len(im.Faces) {
		t.Errorf("%s: %d faces, oracle %d (%v vs %+v)", im.File, len(got), len(im.Faces), got, im.Faces)
		return
	}
	for i, f := range im.Faces {
		g := got[i]
		dScore = math.Max(dScore, math.Abs(g.Score-f.Score))
		for _, d := range []float64{g.Box.X - f.Box.X, g.Box.Y - f.Box.Y, g.Box.W - f.Box.Width, g.Box.H - f.Box.Height} {
			dBox = math.Max(dBox, math.Abs(d))
		}
		if lm == nil {
			continue
		}
		pts, err := lm.Landmarks(nil, img, g.Box)
		if err != nil {
			t.Fatalf("%s face %d: %v", im.File, i, err)
		}
		if len(f.Landmarks) != NumLandmarks {
			t.Fatalf("%s face %d: oracle has %d landmarks", im.File, i, len(f.Landmarks))
		}
		for k, p := range pts {
			dLm = math.Max(dLm, math.Hypot(p.X-f.Landmarks[k][0], p.Y-f.Landmarks[k][1]))
		}
	}
	if dScore > scoreTol || dBox > boxTolPx || dLm > landmarkTolPx {
		t.Errorf("%s: max |Δscore| %.2g (≤ %g), |Δbox| %.2g px (≤ %g), |Δlandmark| %.2g px (≤ %g)",
			im.File, dScore, scoreTol, dBox, boxTolPx, dLm, landmarkTolPx)
	}
	return dBox, dLm, dScore
}

// Agreement bounds with the oracle on the full-size demo JPEGs, which Go's
// image/jpeg decodes differently from the oracle's jpeg-js (by up to ±3
// levels on many pixels), so the networks see slightly different images.
// Boxes are in pixels of 1920-pixel-wide photos. Landmarks are compared on
// the oracle's box: the landmark net is so sensitive to its crop that the
// ~1 px box jitter from decoding moves the points of a weak detection by
// 12 px on average (sample6.jpg, tiny detector, score 0.54), which says
// nothing about the port. Fed the oracle's exact pixels (`oracle.js topng`),
// the same photos agree to 1e-3 px and 1e-5 in score.
const (
	jpegBoxTolPx      = 3.0
	jpegLandmarkTolPx = 1.0 // mean distance over the 68 points
	jpegScoreTol      = 0.02
)

// checkJPEGs runs detect on the oracle's demo JPEGs decoded by Go and
// compares the faces with the oracle's (oracle_*_jpeg.jsonl), matching each
// oracle face to the detection that overlaps it most, since close scores may
// swap places.
func checkJPEGs(t *testing.T, name string, detect func(*tensor.Tensor) ([]Detection, error), lm *LandmarkNet) {
	t.Helper()
	var worstBox, worstLm, worstScore float64
	faces := 0
	for _, im := range readOracle(t, name) {
		img := loadJPEG(t, sharedtest.Path(t, "oracle", im.File))
		if img.Shape[0] != im.Height || img.Shape[1] != im.Width {
			t.Fatalf("%s: image is %v, oracle saw %d×%d", im.File, img.Shape, im.Width, im.Height)
		}
		dets, err := detect(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(dets) != len(im.Faces) {
			t.Errorf("%s: %d faces, oracle %d", im.File, len(dets), len(im.Faces))
			continue
		}
		for _, f := range im.Faces {
			ob := Rect{f.Box.X, f.Box.Y, f.Box.Width, f.Box.Height}
			best := 0
			for i, d := range dets {
				if IoU(d.Box, ob) > IoU(dets[best].Box, ob) {
					best = i
				}
			}
			g := dets[best]
			dScore := math.Abs(g.Score - f.Score)
			dBox := 0.0
			for _, d := range []float64{g.Box.X - ob.X, g.Box.Y - ob.Y, g.Box.W - ob.W, g.Box.H - ob.H} {
				dBox = math.Max(dBox, math.Abs(d))
			}
			pts, err := lm.Landmarks(nil, img, ob)
			if err != nil {
				t.Fatal(err)
			}
			dLm := 0.0
			for k, p := range pts {
				dLm += math.Hypot(p.X-f.Landmarks[k][0], p.Y-f.Landmarks[k][1]) / NumLandmarks
			}
			if dScore > jpegScoreTol || dBox > jpegBoxTolPx || dLm > jpegLandmarkTolPx {
				t.Errorf("%s face at %+v: |Δscore| %.2g (≤ %g), |Δbox| %.2g px (≤ %g), mean |Δlandmark| %.2g px (≤ %g)",
					im.File, ob, dScore, jpegScoreTol, dBox, jpegBoxTolPx, dLm, jpegLandmarkTolPx)
			}
			worstBox, worstLm, worstScore = math.Max(worstBox, dBox), math.Max(worstLm, dLm), math.Max(worstScore, dScore)
			faces++
		}
	}
	if faces == 0 {
		t.Errorf("%s: no face compared", name)
	}
	t.Logf("%s: %d faces; worst |Δbox| %.2g px, mean |Δlandmark| %.2g px, |Δscore| %.2g", name, faces, worstBox, worstLm, worstScore)
}

func loadJPEG(tb testing.TB, path string) *tensor.Tensor {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return rgbTensor(img)
}

// goldenLayer is one activation record of golden.json: statistics of a
// tensor (NHWC, batch dropped).
type goldenLayer struct {
	Name    string    `json:"name"`
	Shape   []int     `json:"shape"`
	First8  []float64 `json:"first8"`
	Last8   []float64 `json:"last8"`
	Center8 []float64 `json:"center8"`
	Sum     float64   `json:"sum"`
	SumAbs  float64   `json:"sumAbs"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
}

// goldenNets is the part of golden.json the detector and landmark tests read.
type goldenNets struct {
	Tiny struct {
		Layers []goldenLayer `json:"layers"`
	} `json:"tinyFaceDetector"`
	Landmark68     goldenLandmarks `json:"landmark68"`
	Landmark68Tiny goldenLandmarks `json:"landmark68Tiny"`
	Pipeline       struct {
		File             string       `json:"file"`
		SSD              []oracleFace `json:"ssd"`
		Tiny416          []oracleFace `json:"tiny416"`
		SSDTinyLandmarks []oracleFace `json:"ssdTinyLandmarks"`
	} `json:"pipeline"`
}

type goldenLandmarks struct {
	Layers      []goldenLayer `json:"layers"`
	Raw136      []float64     `json:"raw136"`
	LandmarksPx [][2]float64  `json:"landmarksPx"`
}

func readGoldenNets(t *testing.T) goldenNets {
	t.Helper()
	raw, err := os.ReadFile(sharedtest.Path(t, "oracle", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenNets
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// checkLayer compares a tensor with a golden record: shape, the first, last
// and centre values and the min/max within 1e-4 of the layer's magnitude, and
// the sum within a bound that grows with the number of values (float32
// rounding differences add up like a random walk).
func checkLayer(t *testing.T, l goldenLayer, v *tensor.Tensor) {
	t.Helper()
	shape := v.Shape
	if len(shape) == 4 && shape[0] == 1 {
		shape = shape[1:]
	}
	if !tensor.SameShape(shape, l.Shape) {
		t.Errorf("layer %s: shape %v, want %v", l.Name, shape, l.Shape)
		return
	}
	mag := math.Max(1, math.Max(math.Abs(l.Min), math.Abs(l.Max)))
	tol := 1e-4 * mag
	worst := 0.0
	cmp := func(what string, got []float32, want []float64) {
		if len(want) == 0 {
			return
		}
		d := tensor.MaxAbsDiff(got, toF32(want))
		worst = math.Max(worst, d)
		if d > tol {
			t.Errorf("layer %s %s: max |Δ| = %.3g > %.3g (got %v, want %v)", l.Name, what, d, tol, got, want)
		}
	}
	n := len(v.Data)
	cmp("first8", v.Data[:min(8, n)], l.First8)
	cmp("last8", v.Data[max(0, n-8):], l.Last8)
	if len(shape) == 3 && len(l.Center8) > 0 {
		h, w, c := shape[0], shape[1], shape[2]
		off := ((h/2)*w + w/2) * c
		cmp("center8", v.Data[off:off+min(8, c)], l.Center8)
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, x := range v.Data {
		lo, hi, sum = math.Min(lo, float64(x)), math.Max(hi, float64(x)), sum+float64(x)
	}
	if math.Abs(lo-l.Min) > tol || math.Abs(hi-l.Max) > tol {
		t.Errorf("layer %s: min/max %v/%v, want %v/%v", l.Name, lo, hi, l.Min, l.Max)
	}
	sumTol := 1e-5 * mag * math.Sqrt(float64(n))
	if math.Abs(sum-l.Sum) > sumTol {
		t.Errorf("layer %s: sum %v, want %v (tolerance %.3g)", l.Name, sum, l.Sum, sumTol)
	}
	t.Logf("%-30s max |Δ| sampled %.2g, Δsum %.2g (tol %.2g)", l.Name, worst, sum-l.Sum, sumTol)
}
