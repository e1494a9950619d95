package recognition_test

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
)

// poor calls the photos it holds poor, with their reasons; the rest fine.
type poor map[image.Image][]string

func (p poor) Quality(ctx context.Context, img image.Image, f face.Face) (analysis.Quality, error) {
	rs := p[img]
	if rs == nil {
		rs = []string{}
	}
	return analysis.Quality{OK: len(rs) == 0, Reasons: rs, EyeDistance: 40}, nil
}

func qualityService(t *testing.T, rec vectors, q poor, enrol, door recognition.QualityMode, live recognition.LivenessChecker) *recognition.Service {
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
	s, err := recognition.New(recognition.Config{Recognizer: rec, Gallery: g, Decision: face.Rule{Threshold: decision.Threshold},
		Quality: q, EnrolQuality: enrol, DoorQuality: door, Liveness: live})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A poor enrolment photo is refused with its reasons (refuse, the zero
// mode), or enrolled with them reported (warn); nothing is stored on a
// refusal.
func TestEnrolQuality(t *testing.T) {
	ctx := context.Background()
	rec := vectors{}
	blurred, good := rec.photo(1, 0, 0, 0), rec.photo(0, 1, 0, 0)
	q := poor{blurred: {analysis.ReasonBlurred}}
	for _, mode := range []recognition.QualityMode{"", recognition.QualityRefuse} {
		s := qualityService(t, rec, q, mode, "", nil)
		_, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: blurred})
		var qe *recognition.QualityError
		if !errors.Is(err, recognition.ErrPoorQuality) || !errors.As(err, &qe) || qe.Quality.Reasons[0] != analysis.ReasonBlurred ||
			!strings.Contains(err.Error(), "blurred") {
			t.Fatalf("mode %q: enrolling a blurred photo: %v", mode, err)
		}
		if n, _ := s.Gallery().Size(); n != 0 {
			t.Fatalf("mode %q: %d people stored after a refusal", mode, n)
		}
		p, err := s.Enroll(ctx, "b", nil, recognition.Photo{Image: good})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFace(ctx, p.ID, recognition.Photo{Image: blurred}); !errors.Is(err, recognition.ErrPoorQuality) {
			t.Fatalf("mode %q: adding a blurred face: %v", mode, err)
		}
	}
	s := qualityService(t, rec, q, recognition.QualityWarn, "", nil)
	var got []string
	p, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: blurred, OnQuality: func(q analysis.Quality) { got = q.Reasons }})
	if err != nil || p.Faces != 1 {
		t.Fatalf("warn: %+v, %v", p, err)
	}
	if len(got) != 1 || got[0] != analysis.ReasonBlurred {
		t.Fatalf("warn: OnQuality got %v", got)
	}
	s = qualityService(t, rec, q, recognition.QualityOff, "", nil)
	if _, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: blurred, OnQuality: func(analysis.Quality) { t.Error("off measured") }}); err != nil {
		t.Fatalf("off: %v", err)
	}
}

// At the door a poor photo of an enrolled person is "try again"
// (refused poor_quality, no match), not a stranger and not a match; in
// warn mode it is decided, the quality in the answer. A spoof that is
// also poor is refused as not live.
func TestDoorQuality(t *testing.T) {
	ctx := context.Background()
	rec := vectors{}
	enrolled := rec.photo(1, 0, 0, 0)
	blurred, spoof := rec.photo(1, 0.01, 0, 0), rec.photo(1, 0.01, 0, 0)
	q := poor{blurred: {analysis.ReasonBlurred}, spoof: {analysis.ReasonPose}}
	live := scores{blurred: 0.9, spoof: 0.1, enrolled: 0.9}
	for _, tc := range []struct {
		mode    recognition.QualityMode
		img     image.Image
		match   bool
		refused string
	}{
		{recognition.QualityRefuse, blurred, false, recognition.RefusedPoorQuality},
		{recognition.QualityWarn, blurred, true, ""},
		{recognition.QualityRefuse, spoof, false, recognition.RefusedNotLive},
	} {
		s := qualityService(t, rec, q, recognition.QualityOff, tc.mode, live)
		p, err := s.Enroll(ctx, "a", nil, recognition.Photo{Image: enrolled})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Identify(ctx, tc.img, 1)
		if err != nil {
			t.Fatal(err)
		}
		r := res[0]
		if (r.Match != nil) != tc.match || r.Verdict == nil || r.Verdict.Refused != tc.refused || r.Quality == nil || r.Quality.OK {
			t.Fatalf("%s: match %v, verdict %+v, quality %+v", tc.mode, r.Match, r.Verdict, r.Quality)
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"quality":{`) || (tc.refused == recognition.RefusedPoorQuality && !strings.Contains(string(b), `"refused":"poor_quality"`)) {
			t.Fatalf("%s: answer %s", tc.mode, b)
		}
		d, err := s.Verify(ctx, p.ID, tc.img)
		if err != nil {
			t.Fatal(err)
		}
		if d.Same != tc.match || d.Refused != tc.refused || len(d.QualityReasons) != 1 {
			t.Fatalf("%s: verify %+v", tc.mode, d)
		}
		d, err = s.CompareProbe(ctx, enrolled, tc.img)
		if err != nil {
			t.Fatal(err)
		}
		if d.Same != tc.match || d.Refused != tc.refused {
			t.Fatalf("%s: compare %+v", tc.mode, d)
		}
		// The reference is not the door's: a poor, unscored reference
		// does not refuse the comparison.
		if d, err = s.CompareProbe(ctx, tc.img, enrolled); err != nil || !d.Same || d.Refused != "" {
			t.Fatalf("%s: a poor reference: %+v, %v", tc.mode, d, err)
		}
	}
}

func TestParseQualityMode(t *testing.T) {
	for _, s := range []string{"off", "warn", "refuse"} {
		if m, err := recognition.ParseQualityMode(s); err != nil || string(m) != s {
			t.Errorf("%q: %v, %v", s, m, err)
		}
	}
	if _, err := recognition.ParseQualityMode("strict"); err == nil {
		t.Error("strict accepted")
	}
}
