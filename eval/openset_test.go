package eval

import (
	"math"
	"testing"

	"github.com/facerec/facerec/face"
)

func TestOpenSetHand(t *testing.T) {
	// Gallery A at (0,0), B at (10,0); Euclidean distances:
	//	p1 A (1,0):  nearest A, d 1   — known, right
	//	p2 A (6,0):  nearest B, d 4   — known, wrong identity
	//	p3 B (10,3): nearest B, d 3   — known, right
	//	p4 X (0,2):  nearest A, d 2   — stranger
	//	p5 Y (5,5):  A and B both √50 — stranger (tie goes to A)
	//	p6 A no face                  — known, never identified (+Inf)
	// Known 4, strangers 2, rank-1 = 2/4 (p1, p3).
	// Curve (accept nearest d ≤ t): origin (DIR 0, FAR 0); 1 (¼, 0);
	// 2 (¼, ½); 3 (½, ½); 4 (½, ½); √50 (½, 1); +Inf (½, 1).
	// DIR at FAR ≤ 1% and ≤ 10%: ¼ (t = 1).
	gallery := []Identity{{"A", []float32{0, 0}}, {"B", []float32{10, 0}}}
	probes := []Probe{
		{"A", []float32{1, 0}},
		{"A", []float32{6, 0}},
		{"B", []float32{10, 3}},
		{"X", []float32{0, 2}},
		{"Y", []float32{5, 5}},
		{"A", nil},
	}
	res, err := OpenSet(gallery, probes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Known != 4 || res.Strangers != 2 || res.NoFace != 1 || res.Rank1 != 0.5 {
		t.Errorf("known %d strangers %d no face %d rank-1 %v; want 4, 2, 1, 0.5", res.Known, res.Strangers, res.NoFace, res.Rank1)
	}
	want := []OpenSetPoint{
		{math.Inf(-1), 0, 0},
		{1, 0.25, 0},
		{2, 0.25, 0.5},
		{3, 0.5, 0.5},
		{4, 0.5, 0.5},
		{math.Sqrt(50), 0.5, 1},
		{math.Inf(1), 0.5, 1},
	}
	if len(res.Points) != len(want) {
		t.Fatalf("points = %v, want %v", res.Points, want)
	}
	for i := range want {
		if !near(res.Points[i].Threshold, want[i].Threshold) && res.Points[i].Threshold != want[i].Threshold ||
			res.Points[i].DIR != want[i].DIR || res.Points[i].FAR != want[i].FAR {
			t.Errorf("point %d = %+v, want %+v", i, res.Points[i], want[i])
		}
	}
	if res.DIRAtFAR1 != 0.25 || res.DIRAtFAR10 != 0.25 {
		t.Errorf("DIR@FAR 1%% = %v, 10%% = %v; want 0.25, 0.25", res.DIRAtFAR1, res.DIRAtFAR10)
	}

	// A stranger without a face is a false accept at every threshold:
	// FAR is already ⅓ before any probe is accepted, so no point reaches
	// FAR ≤ 10% with a positive DIR.
	res, err = OpenSet(gallery, append(probes, Probe{"Z", nil}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Strangers != 3 || res.NoFace != 2 || res.DIRAtFAR10 != 0 || res.Points[1].FAR != 1.0/3 {
		t.Errorf("with a faceless stranger: %+v", res)
	}
}

func TestOpenSetDistanceFunc(t *testing.T) {
	// With a distance that only looks at the second coordinate, p at (9,1)
	// is nearer A (0,1) than B (9,5), the opposite of Euclidean.
	gallery := []Identity{{"A", []float32{0, 1}}, {"B", []float32{9, 5}}}
	probes := []Probe{{"A", []float32{9, 1}}}
	second := func(a, b []float32) float64 { return math.Abs(float64(a[1] - b[1])) }
	res, err := OpenSet(gallery, probes, second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rank1 != 1 {
		t.Errorf("rank-1 with custom distance = %v, want 1", res.Rank1)
	}
	res, err = OpenSet(gallery, probes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rank1 != 0 {
		t.Errorf("rank-1 with Euclidean = %v, want 0", res.Rank1)
	}
	// No strangers: FAR is 0 everywhere by convention.
	if res.Strangers != 0 || res.Points[len(res.Points)-1].FAR != 0 {
		t.Errorf("no strangers: %+v", res)
	}
}

func TestOpenSetErrors(t *testing.T) {
	g := []Identity{{"A", []float32{0, 0}}}
	p := []Probe{{"A", []float32{0, 0}}}
	for _, tc := range []struct {
		name string
		g    []Identity
		p    []Probe
	}{
		{"empty gallery", nil, p},
		{"no probes", g, nil},
		{"empty gallery embedding", []Identity{{"A", nil}}, p},
		{"ragged gallery", []Identity{{"A", []float32{0, 0}}, {"B", []float32{1}}}, p},
		{"duplicate identity", []Identity{{"A", []float32{0, 0}}, {"A", []float32{1, 1}}}, p},
		{"probe length", g, []Probe{{"A", []float32{1, 2, 3}}}},
	} {
		if _, err := OpenSet(tc.g, tc.p, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestEuclidean(t *testing.T) {
	if d := face.Euclidean.Distance([]float32{0, 3}, []float32{4, 0}); d != 5 {
		t.Errorf("Euclidean = %v, want 5", d)
	}
}
