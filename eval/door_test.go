package eval

import (
	"math"
	"testing"

	"github.com/facerec/facerec/face"
)

// doorCase: two enrolled people, a and b (descriptors on a line, so every
// distance can be read off), probes of a, b and two strangers.
func doorCase(t *testing.T) *DoorScores {
	t.Helper()
	split := DoorSplit{
		Enrol:     []DoorPhoto{{"a", "a1"}, {"b", "b1"}},
		Genuine:   []DoorPhoto{{"a", "a2"}, {"a", "a3"}, {"b", "b2"}, {"b", "b3"}},
		Strangers: []DoorPhoto{{"x", "x1"}, {"y", "y1"}},
	}
	v := func(x float32) []float32 { return []float32{x} }
	enrol := [][]float32{v(0), v(10)}
	probes := [][]float32{
		v(1),   // a2: 1 from a, right
		v(6),   // a3: 4 from b, 6 from a: wrong person at τ > 4
		v(9.5), // b2: 0.5 from b
		nil,    // b3: no face
		v(3),   // x: 3 from a
		v(8),   // y: 2 from b, 8 from a
	}
	s, err := NewDoorScores(split, enrol, probes, face.Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDoorRatesHandChecked(t *testing.T) {
	s := doorCase(t)
	for _, tc := range []struct {
		rule              DoorRule
		right, wrong, far float64
	}{
		{DoorRule{Threshold: 0.5}, 0, 0, 0},              // 0.5 is not below 0.5
		{DoorRule{Threshold: 2}, 0.5, 0, 0},              // a2, b2 of 4 genuine
		{DoorRule{Threshold: 3.5}, 0.5, 0, 1},            // x at 3, y at 2
		{DoorRule{Threshold: 5}, 0.5, 0.25, 1},           // a3 taken for b
		{DoorRule{Threshold: 5, Margin: 2.5}, 0.5, 0, 1}, // a3: runner-up 2 further: refused
		{DoorRule{Threshold: 5, Margin: 5}, 0.5, 0, 0.5}, // x: runner-up 4 further, y: 6 further
	} {
		r := s.Rates(tc.rule)
		if r.Right != tc.right || r.Wrong != tc.wrong || r.FAR != tc.far {
			t.Errorf("%+v: right %v wrong %v far %v, want %v %v %v", tc.rule, r.Right, r.Wrong, r.FAR, tc.right, tc.wrong, tc.far)
		}
	}
	// No stranger may be let in at 1% of two: the threshold stops at y, 2.
	if r := s.AtFAR(0.01, 0); r.Threshold != 2 || r.FAR != 0 || r.Right != 0.5 {
		t.Errorf("AtFAR(1%%) = %+v", r)
	}
	res := s.Summarise("test", 0, nil)
	if res.Genuine != 4 || res.Strangers != 2 || res.NoFace != 1 || res.Rank1 != 0.5 {
		t.Errorf("summary %+v", res)
	}
	if imp := s.Impostor(); len(imp) != 3*1+2*2 { // 3 found genuine × 1 other, 2 strangers × 2
		t.Errorf("%d impostor scores", len(imp))
	}
}

// Dropping a person from the gallery turns their photos into strangers'.
func TestDoorSubset(t *testing.T) {
	s := doorCase(t).Subset([]int{0})
	r := s.Rates(DoorRule{Threshold: 3.5})
	// Genuine: a2 (1, right), a3 (6, out). Strangers: b2 (9.5), b3 (no
	// face), x (3, in), y (8): 1 of 4.
	if r.Right != 0.5 || r.Wrong != 0 || r.FAR != 0.25 {
		t.Errorf("%+v", r)
	}
}

func TestFuseDoorScores(t *testing.T) {
	a, b := doorCase(t), doorCase(t)
	f := face.Fusion{Models: []string{"m1", "m2"}, Mean: []float64{5, 1}, Std: []float64{2, 4}, Weights: []float64{0.5, 0.5}}
	s, err := FuseDoorScores(f, a, b)
	if err != nil {
		t.Fatal(err)
	}
	// a2 against a: 0.5·(1−5)/2 + 0.5·(1−1)/4 = −1.
	if got := s.S[0]; math.Abs(float64(got)+1) > 1e-6 {
		t.Errorf("fused score %v, want −1", got)
	}
	if s.Probes[3].Found || !math.IsNaN(float64(s.S[3*2])) {
		t.Errorf("a probe without a face got a fused score")
	}
	if _, err := FuseDoorScores(f, a); err == nil {
		t.Error("fused one score set with two weights")
	}
}
