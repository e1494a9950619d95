package model

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/tensor"
)

var (
	tinyOnce sync.Once
	tinyDet  *TinyFaceDetector
	tinyErr  error
)

func testTinyDetector(t testing.TB) *TinyFaceDetector {
	t.Helper()
	w := testWeights(t, TinyFaceDetectorName)
	tinyOnce.Do(func() { tinyDet, tinyErr = NewTinyFaceDetector(w) })
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyDet
}

// TestTinyGoldenLayers runs the oracle's synthetic 250×250 image at input
// size 416 and compares every layer with golden.json.
func TestTinyGoldenLayers(t *testing.T) {
	g := readGoldenNets(t)
	d := testTinyDetector(t)
	x, _, _, err := imageDims(synthetic(250, 250))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tensor.Tensor{}
	got["resized_416"] = toSquareInput(nil, x, 416, false)
	got["normalized"] = normalizeMean(nil, got["resized_416"], tinyMean)
	head := observe(t, got["normalized"], d.Graph, func(name string, v *tensor.Tensor) { got[name] = v.Clone() })
	if len(g.Tiny.Layers) != 15 {
		t.Fatalf("golden has %d tiny detector layers, want 15", len(g.Tiny.Layers))
	}
	for _, l := range g.Tiny.Layers {
		v, ok := got[l.Name]
		if !ok {
			t.Errorf("layer %s: not produced", l.Name)
			continue
		}
		checkLayer(t, l, v)
	}
	if !tensor.SameShape(head.Shape, []int{1, 13, 13, 25}) {
		t.Fatalf("head shape %v", head.Shape)
	}
}

// TestTinyOracleParity compares detections and 68-point landmarks with the
// oracle's on the 250×250 demo crops at input size 416 and on wide and tall
// cuts of them at 320 (which exercises the end padding and its correction).
func TestTinyOracleParity(t *testing.T) {
	d := testTinyDetector(t)
	lm := testLandmarkNet(t, LandmarkName)
	for _, c := range []struct {
		file string
		size int
	}{
		{"oracle_tiny_250.jsonl", 416},
		{"oracle_tiny320_wide.jsonl", 320},
		{"oracle_tiny320_tall.jsonl", 320},
	} {
		var worstBox, worstLm, worstScore float64
		faces := 0
		for _, im := range readOracle(t, c.file) {
			img := oracleInput(t, im.File)
			if img.Shape[0] != im.Height || img.Shape[1] != im.Width {
				t.Fatalf("%s: image is %v, oracle saw %d×%d", im.File, img.Shape, im.Width, im.Height)
			}
			dets, err := d.Detect(nil, img, TinyOptions{InputSize: c.size})
			if err != nil {
				t.Fatal(err)
			}
			b, l, s := checkDetections(t, im, img, dets, lm)
			worstBox, worstLm, worstScore = math.Max(worstBox, b), math.Max(worstLm, l), math.Max(worstScore, s)
			faces += len(im.Faces)
		}
		if faces == 0 {
			t.Errorf("%s: the oracle found no face at all; the comparison is empty", c.file)
		}
		t.Logf("%s: %d faces; worst |Δbox| %.2g px, |Δlandmark| %.2g px, |Δscore| %.2g", c.file, faces, worstBox, worstLm, worstScore)
	}
}

// TestTinyOracleJPEG compares with the oracle on the full-size demo photos,
// decoded by Go (so within looser bounds, see checkJPEGs).
func TestTinyOracleJPEG(t *testing.T) {
	d := testTinyDetector(t)
	checkJPEGs(t, "oracle_tiny_jpeg.jsonl", func(img *tensor.Tensor) ([]Detection, error) {
		return d.Detect(nil, img, TinyOptions{})
	}, testLandmarkNet(t, LandmarkName))
}

// TestTinyDetectBadInput checks that wrong images and options are errors.
func TestTinyDetectBadInput(t *testing.T) {
	d := testTinyDetector(t)
	img := tensor.New(40, 50, 3)
	for _, c := range []struct {
		name string
		img  *tensor.Tensor
		opt  TinyOptions
	}{
		{"nil image", nil, TinyOptions{}},
		{"gray image", tensor.New(40, 50, 1), TinyOptions{}},
		{"2-D image", tensor.New(40, 50), TinyOptions{}},
		{"empty image", tensor.New(0, 50, 3), TinyOptions{}},
		{"batch of two", tensor.New(2, 40, 50, 3), TinyOptions{}},
		{"short data", &tensor.Tensor{Shape: []int{40, 50, 3}, Data: make([]float32, 10)}, TinyOptions{}},
		{"size not a multiple of 32", img, TinyOptions{InputSize: 100}},
		{"negative size", img, TinyOptions{InputSize: -32}},
		{"huge size", img, TinyOptions{InputSize: 1 << 20}},
		{"threshold above 1", img, TinyOptions{ScoreThreshold: 1.5}},
		{"negative threshold", img, TinyOptions{ScoreThreshold: -0.1}},
		{"NaN threshold", img, TinyOptions{ScoreThreshold: math.NaN()}},
	} {
		if _, err := d.Detect(nil, c.img, c.opt); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	// A blank image is valid and has no face.
	if dets, err := d.Detect(nil, img, TinyOptions{InputSize: 128}); err != nil || len(dets) != 0 {
		t.Errorf("blank image: %v, %v", dets, err)
	}
}

// TestTinyAndLandmarksConcurrent runs the detector and the landmark net from
// several goroutines (each with its own arena, as documented) and checks
// they agree with a serial run; under -race it also checks for data races.
func TestTinyAndLandmarksConcurrent(t *testing.T) {
	d := testTinyDetector(t)
	lm := testLandmarkNet(t, LandmarkTinyName)
	img := loadPNG(t, sharedtest.Path(t, "oracle", "testdata", "crops", "sample6_face3_250.png"))
	run := func(arena *tensor.Arena) ([]Detection, [NumLandmarks]Point, error) {
		dets, err := d.Detect(arena, img, TinyOptions{InputSize: 160})
		if err != nil || len(dets) == 0 {
			return dets, [NumLandmarks]Point{}, err
		}
		pts, err := lm.Landmarks(arena, img, dets[0].Box)
		return dets, pts, err
	}
	wantDets, wantPts, err := run(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantDets) == 0 {
		t.Fatal("no face found; the comparison would be empty")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var arena tensor.Arena
			for i := 0; i < 3; i++ {
				arena.Reset()
				dets, pts, err := run(&arena)
				if err != nil {
					errs <- err
					return
				}
				if !slices.Equal(dets, wantDets) || pts != wantPts {
					errs <- fmt.Errorf("concurrent run differs: %v vs %v", dets, wantDets)
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
}

// TestDecodeTiny checks the head decoding on a hand-made head: one cell with
// a confident anchor, on a non-square image whose end padding must be
// undone.
func TestDecodeTiny(t *testing.T) {
	const g = 2
	head := make([]float32, g*g*5*5)
	for i := 4; i < len(head); i += 5 {
		head[i] = -10 // every score ≈ 0
	}
	// Cell row 1, col 0, anchor 2: centre offsets sigmoid(0) = 0.5, sizes
	// exp(0) × anchor, score sigmoid(3) ≈ 0.95.
	v := head[((1*g+0)*5+2)*5:]
	v[0], v[1], v[2], v[3], v[4] = 0, 0, 0, 0, 3
	// A 100×50 (w×h) image in a 64 input: reshaped 64×32, so y is stretched ×2.
	dets := decodeTiny(head, g, 64, 50, 100, 0.5)
	if len(dets) != 1 {
		t.Fatalf("got %d detections, want 1", len(dets))
	}
	bw := tinyAnchors[2][0] / g
	bh := tinyAnchors[2][1] / g * 2
	want := Rect{X: (0.5/g - bw/2) * 100, Y: (1.5/g*2 - bh/2) * 50, W: bw * 100, H: bh * 50}
	got := dets[0].Box
	if math.Abs(got.X-want.X) > 1e-9 || math.Abs(got.Y-want.Y) > 1e-9 || math.Abs(got.W-want.W) > 1e-9 || math.Abs(got.H-want.H) > 1e-9 {
		t.Errorf("box %+v, want %+v", got, want)
	}
	if s := dets[0].Score; math.Abs(s-1/(1+math.Exp(-3))) > 1e-12 {
		t.Errorf("score %v", s)
	}
}

// BenchmarkTinyDetector416 times the tiny detector at its default input
// size on a 250×250 photo (resize, network, decoding), on one goroutine.
func BenchmarkTinyDetector416(b *testing.B) {
	d := testTinyDetector(b)
	img := loadPNG(b, sharedtest.Path(b, "oracle", "testdata", "crops", "sample1_face0_250.png"))
	var arena tensor.Arena
	b.ReportAllocs()
	for b.Loop() {
		arena.Reset()
		if _, err := d.Detect(&arena, img, TinyOptions{InputSize: 416}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTinyDetector416Photo is BenchmarkTinyDetector416 on a 1920×1280
// demo photo, where padding to a square and shrinking cost more.
func BenchmarkTinyDetector416Photo(b *testing.B) {
	d := testTinyDetector(b)
	img := loadJPEG(b, sharedtest.Path(b, "oracle", "testdata", "sample1.jpg"))
	var arena tensor.Arena
	b.ReportAllocs()
	for b.Loop() {
		arena.Reset()
		if _, err := d.Detect(&arena, img, TinyOptions{InputSize: 416}); err != nil {
			b.Fatal(err)
		}
	}
}
