package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneShotHandChecked builds three people with two photos each; the fake
// embedder maps a file to a 1-d "descriptor" written in its name.
func TestOneShotHandChecked(t *testing.T) {
	root := t.TempDir()
	files := map[string][]string{
		"ann": {"a_0.0", "b_0.3"}, // enrolled 0.0; probe 0.3 → ann at 0.3
		"bob": {"a_1.0", "b_0.6"}, // enrolled 1.0; probe 0.6 → ann at 0.6 (wrong), bob at 0.4... nearest is bob (0.4)
		"cat": {"a_5.0", "b_nf"},  // enrolled 5.0; probe has no face
	}
	for p, fs := range files {
		os.MkdirAll(filepath.Join(root, p), 0o755)
		for _, f := range fs {
			os.WriteFile(filepath.Join(root, p, f+".png"), nil, 0o644)
		}
	}
	embed := func(_ context.Context, path string) ([]float32, bool, error) {
		v := strings.TrimSuffix(strings.SplitN(filepath.Base(path), "_", 2)[1], ".png")
		if v == "nf" {
			return nil, false, nil
		}
		var x float32
		for _, c := range v {
			if c == '.' {
				continue
			}
			x = x*10 + float32(c-'0')
		}
		return []float32{x / 10}, true, nil
	}
	res, err := OneShot(context.Background(), root, embed, OneShotConfig{Strangers: -1, Threshold: 0.5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Known probes: ann 0.3 (right, d 0.3), bob 0.6 (nearest bob at 0.4: right), cat no face (wrong).
	if res.Known != 3 || res.Enrolled != 3 || res.NoFace != 1 {
		t.Fatalf("known %d enrolled %d noface %d", res.Known, res.Enrolled, res.NoFace)
	}
	if want := 2.0 / 3; res.Rank1 < want-1e-9 || res.Rank1 > want+1e-9 {
		t.Errorf("rank-1 = %v, want 2/3", res.Rank1)
	}
	// At τ = 0.5 both right answers are below the threshold (0.3, 0.4).
	if want := 2.0 / 3; res.DIRAtTau < want-1e-9 || res.DIRAtTau > want+1e-9 {
		t.Errorf("DIR at τ = %v, want 2/3", res.DIRAtTau)
	}

	// A separate enrolment description: twice the value, and no face in
	// ann's first photo, so ann is enrolled from her second (0.6) and
	// probed with her first (0.0, described by embed). Gallery: ann 0.6,
	// bob 2.0, cat 10. Probes: ann 0.0 → ann at 0.6 (right), bob 0.6 → ann
	// at 0.0 (wrong), cat no face (wrong).
	enroll := func(ctx context.Context, path string) ([]float32, bool, error) {
		if filepath.Base(path) == "a_0.0.png" {
			return nil, false, nil
		}
		d, ok, err := embed(ctx, path)
		if ok {
			d[0] *= 2
		}
		return d, ok, err
	}
	res, err = OneShot(context.Background(), root, embed, OneShotConfig{Strangers: -1, Threshold: 0.5, Enroll: enroll}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Known != 3 || res.Enrolled != 3 || res.NoFace != 1 {
		t.Fatalf("with Enroll: known %d enrolled %d noface %d", res.Known, res.Enrolled, res.NoFace)
	}
	if want := 1.0 / 3; math.Abs(res.Rank1-want) > 1e-9 {
		t.Errorf("with Enroll: rank-1 = %v, want 1/3", res.Rank1)
	}
	if res.DIRAtTau != 0 {
		t.Errorf("with Enroll: DIR at τ = %v, want 0 (the one right answer is at 0.6)", res.DIRAtTau)
	}
}
