package recognition_test

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
)

// vectors recognizes each photo as one centred face with the descriptor
// registered for it.
type vectors map[image.Image][]float32

func (v vectors) Faces(ctx context.Context, img image.Image) ([]face.Face, error) {
	return []face.Face{{Box: face.Rect{X: 35, Y: 35, W: 30, H: 30}, Score: 0.9, Descriptor: face.Descriptor{Model: model, Vector: v[img]}}}, nil
}

func (v vectors) Subject(ctx context.Context, img image.Image) (face.Face, error) {
	fs, _ := v.Faces(ctx, img)
	return fs[0], nil
}

func (v vectors) photo(d ...float32) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	v[img] = d
	return img
}

func ruleService(t *testing.T, rec vectors, rule face.Rule) *recognition.Service {
	t.Helper()
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := gallery.Open(context.Background(), store, model, dim)
	if err != nil {
		t.Fatal(err)
	}
	s, err := recognition.New(recognition.Config{Recognizer: rec, Gallery: g, Decision: rule})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Two enrolled people nearly as close to a photo as each other: the
// margin rule refuses to pick one and says why, where the threshold alone
// would let the nearer in.
func TestIdentifyRunnerUpMargin(t *testing.T) {
	ctx := context.Background()
	rec := vectors{}
	a, b := rec.photo(1, 0, 0, 0), rec.photo(0.9, 0.1, 0, 0)
	probe := rec.photo(1, 0.05, 0, 0) // 0.050 from a, 0.112 from b
	for _, tc := range []struct {
		margin  float64
		match   bool
		refused string
	}{{0, true, ""}, {0.05, true, ""}, {0.1, false, face.RefusedRunnerUp}} {
		s := ruleService(t, rec, face.Rule{Threshold: decision.Threshold, Margin: tc.margin})
		for name, img := range map[string]image.Image{"a": a, "b": b} {
			if _, err := s.Enroll(ctx, name, nil, recognition.Photo{Image: img}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.Identify(ctx, probe, 1)
		if err != nil {
			t.Fatal(err)
		}
		r := res[0]
		if (r.Match != nil) != tc.match || r.Verdict == nil || r.Verdict.Refused != tc.refused {
			t.Fatalf("margin %v: match %v, verdict %+v", tc.margin, r.Match, r.Verdict)
		}
		if r.Verdict.Margin == nil || *r.Verdict.Margin < 0.061 || *r.Verdict.Margin > 0.063 {
			t.Fatalf("margin %v: reported margin %v, want 0.062", tc.margin, r.Verdict.Margin)
		}
		if len(r.Candidates) != 1 || r.Candidates[0].Name != "a" {
			t.Fatalf("margin %v: candidates %+v, want a alone (k = 1)", tc.margin, r.Candidates)
		}
	}
}

// The calibrated threshold tightens as the gallery grows: a photo 0.03
// from its person is let in against a gallery of one and refused against
// a gallery of fifty, at the same target rate of strangers let in.
func TestIdentifyThresholdFollowsGallerySize(t *testing.T) {
	ctx := context.Background()
	imp := make([]float32, 10000)
	for i := range imp {
		imp[i] = float32(i+1) / 10000 // impostor CDF F(s) = s on (0, 1]
	}
	cal, err := face.FitCalibration(model, "test", imp)
	if err != nil {
		t.Fatal(err)
	}
	rec := vectors{}
	s := ruleService(t, rec, face.Rule{Threshold: decision.Threshold, Calibration: cal, FAR: 0.05})
	if _, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: rec.photo(1, 0, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	probe := rec.photo(1, 0.03, 0, 0)
	identify := func() recognition.FaceResult {
		res, err := s.Identify(ctx, probe, 3)
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	// One person: τ = F⁻¹(0.05) = 0.05 (to 1%: the calibration keeps eight
	// points a decade and interpolates in log P).
	r := identify()
	if r.Match == nil || r.Verdict.Threshold < 0.0495 || r.Verdict.Threshold > 0.0505 {
		t.Fatalf("gallery of 1: match %v, verdict %+v", r.Match, r.Verdict)
	}
	if c := *r.Verdict.Confidence; c < 0.965 || c > 0.975 { // 1 − F(0.03)
		t.Fatalf("confidence %v, want 0.97", c)
	}
	for i := range 49 {
		v := []float32{0, 0, 0, 0}
		v[1+i%3] = float32(1 + i) // far from everyone
		if _, err := s.Enroll(ctx, "p", nil, recognition.Photo{Image: rec.photo(v...)}); err != nil {
			t.Fatal(err)
		}
	}
	// Fifty: τ = 1 − 0.95^(1/50) = 0.00103.
	r = identify()
	if r.Match != nil || r.Verdict.Threshold > 0.0011 || r.Verdict.Refused != "" {
		t.Fatalf("gallery of 50: match %v, verdict %+v", r.Match, r.Verdict)
	}
	if len(r.Candidates) == 0 || r.Candidates[0].Name != "a" {
		t.Fatalf("the nearest person is still listed: %+v", r.Candidates)
	}
}

// A cosine model's unit descriptors are searched by the gallery's
// Euclidean distance and reported in the model's own metric.
func TestIdentifyCosineModel(t *testing.T) {
	ctx := context.Background()
	rec := vectors{}
	rule := face.Rule{Threshold: face.Threshold{Model: model, Metric: face.Cosine, Max: 0.3}}
	s := ruleService(t, rec, rule)
	if _, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: rec.photo(1, 0, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	c, sn := float32(math.Cos(0.5)), float32(math.Sin(0.5))
	res, err := s.Identify(ctx, rec.photo(c, sn, 0, 0), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 - math.Cos(0.5) // 0.122
	if got := res[0].Candidates[0].Distance; math.Abs(got-want) > 1e-6 || res[0].Match == nil {
		t.Fatalf("distance %v (match %v), want the cosine distance %v, a match", got, res[0].Match, want)
	}
	list, _, err := s.Gallery().People(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Verify(ctx, list[0].ID, rec.photo(0, 1, 0, 0))
	if err != nil || math.Abs(d.Distance-1) > 1e-6 || d.Same {
		t.Fatalf("verify at right angles: %+v, %v; want distance 1, not the same", d, err)
	}
}
