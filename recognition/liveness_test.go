package recognition_test

import (
	"context"
	"encoding/json"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
)

// scores gives each photo the liveness score registered for it.
type scores map[image.Image]float64

func (s scores) Liveness(ctx context.Context, img image.Image, f face.Face) (float64, error) {
	return s[img], nil
}

// A photo of an enrolled person is let in only when it scores as live; a
// spoof is refused with the reason and its score, not taken for a stranger.
func TestIdentifyRequiresLiveness(t *testing.T) {
	ctx := context.Background()
	rec := vectors{}
	enrolled := rec.photo(1, 0, 0, 0)
	live, spoof := rec.photo(1, 0.01, 0, 0), rec.photo(1, 0.01, 0, 0)
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := gallery.Open(ctx, store, model, dim)
	if err != nil {
		t.Fatal(err)
	}
	s, err := recognition.New(recognition.Config{Recognizer: rec, Gallery: g, Decision: face.Rule{Threshold: decision.Threshold},
		Liveness: scores{live: 0.9, spoof: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: enrolled}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		img     image.Image
		match   bool
		refused string
		score   float64
	}{{live, true, "", 0.9}, {spoof, false, recognition.RefusedNotLive, 0.2}} {
		res, err := s.Identify(ctx, tc.img, 1)
		if err != nil {
			t.Fatal(err)
		}
		r := res[0]
		if (r.Match != nil) != tc.match || r.Verdict == nil || r.Verdict.Refused != tc.refused || r.Verdict.Accepted != tc.match {
			t.Fatalf("score %v: match %v, verdict %+v", tc.score, r.Match, r.Verdict)
		}
		if r.Liveness == nil || *r.Liveness != tc.score {
			t.Fatalf("liveness %v, want %v", r.Liveness, tc.score)
		}
		d, err := s.Verify(ctx, res[0].Candidates[0].ID, tc.img)
		if err != nil {
			t.Fatal(err)
		}
		if d.Same != tc.match || d.Refused != tc.refused || d.Liveness == nil || *d.Liveness != tc.score {
			t.Fatalf("verify, score %v: %+v", tc.score, d)
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"liveness":`) || (tc.refused != "" && !strings.Contains(string(b), `"refused":"not_live"`)) {
			t.Fatalf("answer %s lacks the liveness score or reason", b)
		}
	}
}
