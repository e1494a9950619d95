package model

import (
	"math"
	"sync"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/tensor"
)

var (
	ssdOnce sync.Once
	ssdDet  *SSDMobilenetV1
	ssdErr  error
)

func testSSD(t testing.TB) *SSDMobilenetV1 {
	t.Helper()
	w := testWeights(t, SSDName)
	ssdOnce.Do(func() { ssdDet, ssdErr = NewSSDMobilenetV1(w) })
	if ssdErr != nil {
		t.Fatal(ssdErr)
	}
	return ssdDet
}

// TestSSDOracleParity compares detections and landmarks (68 and 68-tiny)
// with the oracle's on the 250×250 demo crops and on wide and tall cuts of
// them (end padding to the square and its correction).
func TestSSDOracleParity(t *testing.T) {
	if testing.Short() {
		t.Skip("ssd on 66 images takes a while; skipped in short mode")
	}
	d := testSSD(t)
	// Two files hold the same images (with the two landmark nets): detect
	// once per image.
	cache := map[string][]Detection{}
	for _, c := range []struct{ file, landmarks string }{
		{"oracle_ssd_250.jsonl", LandmarkName},
		{"oracle_ssd_tinylm_250.jsonl", LandmarkTinyName},
		{"oracle_ssd_wide.jsonl", LandmarkName},
		{"oracle_ssd_tall.jsonl", LandmarkName},
	} {
		lm := testLandmarkNet(t, c.landmarks)
		var worstBox, worstLm, worstScore float64
		faces := 0
		for _, im := range readOracle(t, c.file) {
			img := oracleInput(t, im.File)
			if img.Shape[0] != im.Height || img.Shape[1] != im.Width {
				t.Fatalf("%s: image is %v, oracle saw %d×%d", im.File, img.Shape, im.Width, im.Height)
			}
			dets, ok := cache[im.File]
			if !ok {
				var err error
				if dets, err = d.Detect(nil, img, SSDOptions{}); err != nil {
					t.Fatal(err)
				}
				cache[im.File] = dets
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

// TestSSDOracleJPEG compares with the oracle on the full-size demo photos,
// decoded by Go (so within looser bounds, see checkJPEGs).
func TestSSDOracleJPEG(t *testing.T) {
	d := testSSD(t)
	checkJPEGs(t, "oracle_ssd_jpeg.jsonl", func(img *tensor.Tensor) ([]Detection, error) {
		return d.Detect(nil, img, SSDOptions{})
	}, testLandmarkNet(t, LandmarkName))
}

// TestGoldenPipeline checks golden.json's end-to-end case (computed on the
// oracle's cpu backend, the other tests use its wasm backend): both
// detectors and both landmark nets on one 250×250 crop.
func TestGoldenPipeline(t *testing.T) {
	g := readGoldenNets(t)
	p := g.Pipeline
	if p.File == "" || len(p.SSD) == 0 || len(p.Tiny416) == 0 || len(p.SSDTinyLandmarks) == 0 {
		t.Fatalf("golden.json has no pipeline case: %+v", p)
	}
	img := loadPNG(t, sharedtest.Path(t, "oracle", p.File))
	ssd, err := testSSD(t).Detect(nil, img, SSDOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := testTinyDetector(t).Detect(nil, img, TinyOptions{InputSize: 416})
	if err != nil {
		t.Fatal(err)
	}
	lm, lmTiny := testLandmarkNet(t, LandmarkName), testLandmarkNet(t, LandmarkTinyName)
	for _, c := range []struct {
		name  string
		faces []oracleFace
		dets  []Detection
		lm    *LandmarkNet
	}{
		{"ssd", p.SSD, ssd, lm},
		{"tiny416", p.Tiny416, tiny, lm},
		{"ssdTinyLandmarks", p.SSDTinyLandmarks, ssd, lmTiny},
	} {
		im := oracleImage{File: p.File + " " + c.name, Faces: c.faces}
		b, l, s := checkDetections(t, im, img, c.dets, c.lm)
		t.Logf("%s: |Δbox| %.2g px, |Δlandmark| %.2g px, |Δscore| %.2g", c.name, b, l, s)
	}
}

// TestSSDOptions checks that a lower confidence finds at least the faces of
// the default one, MaxResults caps the count, and bad options are errors.
func TestSSDOptions(t *testing.T) {
	d := testSSD(t)
	img := loadPNG(t, sharedtest.Path(t, "oracle", "testdata", "crops", "sample6_face1_250.png"))
	def, err := d.Detect(nil, img, SSDOptions{})
	if err != nil {
		t.Fatal(err)
	}
	low, err := d.Detect(nil, img, SSDOptions{MinConfidence: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if len(def) == 0 || len(low) < len(def) {
		t.Fatalf("%d faces at 0.05, %d at the default 0.5", len(low), len(def))
	}
	for i := 1; i < len(low); i++ {
		if low[i].Score > low[i-1].Score {
			t.Fatalf("not sorted by score: %v", low)
		}
	}
	one, err := d.Detect(nil, img, SSDOptions{MinConfidence: 0.05, MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0] != low[0] {
		t.Errorf("MaxResults 1 gave %v, want %v", one, low[:1])
	}
	for _, b := range low {
		if b.Box.X < 0 || b.Box.Y < 0 || b.Box.Right() > 250+1e-9 || b.Box.Bottom() > 250+1e-9 {
			t.Errorf("box %+v not clipped to the image", b.Box)
		}
	}
	for _, opt := range []SSDOptions{{MinConfidence: 1}, {MinConfidence: -1}, {MinConfidence: math.NaN()}, {MaxResults: -1}} {
		if _, err := d.Detect(nil, img, opt); err == nil {
			t.Errorf("%+v: no error", opt)
		}
	}
	if _, err := d.Detect(nil, tensor.New(10, 10, 4), SSDOptions{}); err == nil {
		t.Error("4-channel image: no error")
	}
}

// BenchmarkSSD times the ssd detector on a 250×250 photo (resize to 512,
// network, decoding), on one goroutine.
func BenchmarkSSD(b *testing.B) {
	d := testSSD(b)
	img := loadPNG(b, sharedtest.Path(b, "oracle", "testdata", "crops", "sample1_face0_250.png"))
	var arena tensor.Arena
	b.ReportAllocs()
	for b.Loop() {
		arena.Reset()
		if _, err := d.Detect(&arena, img, SSDOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
