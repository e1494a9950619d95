package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

const eps = 1e-12

func near(a, b float64) bool { return math.Abs(a-b) <= eps }

// handDistances is the small case worked out by hand below:
//
//	d:    0.1  0.2  0.3  0.3  0.5  0.7
//	same: S    D    S    D    S    D
var (
	handDistances = []float64{0.1, 0.2, 0.3, 0.3, 0.5, 0.7}
	handSame      = []bool{true, false, true, false, true, false}
)

func TestROCHand(t *testing.T) {
	// Accepting d ≤ t, with 3 matched and 3 mismatched pairs:
	//	origin        TAR 0    FAR 0
	//	t=0.1 (S)     TAR 1/3  FAR 0
	//	t=0.2 (D)     TAR 1/3  FAR 1/3
	//	t=0.3 (S, D)  TAR 2/3  FAR 2/3   (the tie moves together)
	//	t=0.5 (S)     TAR 1    FAR 2/3
	//	t=0.7 (D)     TAR 1    FAR 1
	want := []ROCPoint{
		{math.Inf(-1), 0, 0},
		{0.1, 1.0 / 3, 0},
		{0.2, 1.0 / 3, 1.0 / 3},
		{0.3, 2.0 / 3, 2.0 / 3},
		{0.5, 1, 2.0 / 3},
		{0.7, 1, 1},
	}
	got, err := ROC(handDistances, handSame)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("ROC = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Threshold != want[i].Threshold || !near(got[i].TAR, want[i].TAR) || !near(got[i].FAR, want[i].FAR) {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// Trapezoids: 0 + 1/3·1/3 + 1/3·(1/3+2/3)/2 + 0 + 1/3·1 = 1/9 + 1/6 + 1/3
	// = 11/18. Mann-Whitney: over the 9 (S, D) combinations, D is farther
	// for S=0.1 three times, for S=0.3 once plus one tie (½), for S=0.5
	// once: 5.5/9 = 11/18.
	if auc := AUC(got); !near(auc, 11.0/18) {
		t.Errorf("AUC = %v, want 11/18", auc)
	}
	// FAR+TAR−1 is −1/3 at (1/3, 1/3) and +1/3 at (2/3, 2/3), so the
	// polyline crosses TAR = 1 − FAR halfway: FAR = 1/2.
	if eer := EER(got); !near(eer, 0.5) {
		t.Errorf("EER = %v, want 0.5", eer)
	}
	for _, tc := range []struct{ far, tar float64 }{
		{-1, 0},      // no point qualifies
		{0, 1.0 / 3}, // t = 0.1
		{0.5, 1.0 / 3},
		{2.0 / 3, 1},
		{1, 1},
	} {
		if got := TARAtFAR(got, tc.far); !near(got, tc.tar) {
			t.Errorf("TARAtFAR(%v) = %v, want %v", tc.far, got, tc.tar)
		}
	}
}

func TestROCNoFace(t *testing.T) {
	// The hand case plus a matched and a mismatched pair without a face.
	// They rank as +Inf (matched) and −Inf (mismatched); with 4 and 4:
	//	origin (0, 0); −Inf (FAR 1/4, TAR 0); 0.1 (1/4, 1/4); 0.2 (1/2, 1/4);
	//	0.3 (3/4, 1/2); 0.5 (3/4, 3/4); 0.7 (1, 3/4); +Inf (1, 1).
	// AUC = 1/4·1/4 + 1/4·(1/4+1/2)/2 + 1/4·3/4 = 2/32 + 3/32 + 6/32 = 11/32.
	d := append(append([]float64{}, handDistances...), math.NaN(), math.NaN())
	s := append(append([]bool{}, handSame...), true, false)
	pts, err := ROC(d, s)
	if err != nil {
		t.Fatal(err)
	}
	wantFAR := []float64{0, 0.25, 0.25, 0.5, 0.75, 0.75, 1, 1}
	wantTAR := []float64{0, 0, 0.25, 0.25, 0.5, 0.75, 0.75, 1}
	if len(pts) != len(wantFAR) {
		t.Fatalf("ROC = %v", pts)
	}
	for i := range pts {
		if !near(pts[i].FAR, wantFAR[i]) || !near(pts[i].TAR, wantTAR[i]) {
			t.Errorf("point %d = %+v, want FAR %v TAR %v", i, pts[i], wantFAR[i], wantTAR[i])
		}
	}
	if auc := AUC(pts); !near(auc, 11.0/32) {
		t.Errorf("AUC = %v, want 11/32", auc)
	}
	// Accuracy at 0.6 was 4/6 without the no-face pairs; both are errors.
	if acc, err := Accuracy(d, s, 0.6); err != nil || !near(acc, 4.0/8) {
		t.Errorf("Accuracy = %v, %v; want 0.5", acc, err)
	}
}

// mannWhitney is the brute-force AUC: P(d_diff > d_same) + ½·P(tie), with
// no-face pairs ranked as in ROC.
func mannWhitney(d []float64, same []bool) float64 {
	var num, den float64
	for i := range d {
		if !same[i] {
			continue
		}
		for j := range d {
			if same[j] {
				continue
			}
			a, b := effective(d[i], true), effective(d[j], false)
			switch {
			case b > a:
				num++
			case b == a:
				num += 0.5
			}
			den++
		}
	}
	return num / den
}

// randomPairs draws n pairs whose distances are coarsely quantised so
// that ties are common, with a fraction of no-face pairs.
func randomPairs(rng *rand.Rand, n int, noFace float64) ([]float64, []bool) {
	d := make([]float64, n)
	s := make([]bool, n)
	for i := range d {
		s[i] = rng.IntN(2) == 0
		mu := 1.0
		if s[i] {
			mu = 0.6
		}
		d[i] = math.Round((mu+0.25*rng.NormFloat64())*20) / 20
		if rng.Float64() < noFace {
			d[i] = math.NaN()
		}
	}
	return d, s
}

func TestAUCIsMannWhitney(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		d, s := randomPairs(rng, 50+rng.IntN(300), 0.05*float64(trial%3))
		pts, err := ROC(d, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := AUC(pts), mannWhitney(d, s); math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: AUC = %v, Mann-Whitney = %v", trial, got, want)
		}
		last := pts[len(pts)-1]
		if last.TAR != 1 || last.FAR != 1 || pts[0].TAR != 0 || pts[0].FAR != 0 {
			t.Errorf("trial %d: curve runs from %+v to %+v", trial, pts[0], last)
		}
		for k := 1; k < len(pts); k++ {
			if pts[k].TAR < pts[k-1].TAR || pts[k].FAR < pts[k-1].FAR || pts[k].Threshold <= pts[k-1].Threshold && k > 1 {
				t.Fatalf("trial %d: curve not monotone at %d: %+v then %+v", trial, k, pts[k-1], pts[k])
			}
		}
		eer := EER(pts)
		if !(eer >= 0 && eer <= 1) {
			t.Errorf("trial %d: EER = %v", trial, eer)
		}
	}
}

func TestEERExactPoint(t *testing.T) {
	// S at 1, D at 2, S at 3, D at 4: points (0,0) (0,½) (½,½) (½,1) (1,1).
	// (½, ½) lies on TAR = 1 − FAR itself, so no interpolation: EER = ½.
	pts, err := ROC([]float64{1, 2, 3, 4}, []bool{true, false, true, false})
	if err != nil {
		t.Fatal(err)
	}
	if eer := EER(pts); eer != 0.5 {
		t.Errorf("EER = %v, want 0.5", eer)
	}
	// Perfect separation: the curve goes (0,0) (0,1) (1,1) and crosses the
	// line at (0, 1): EER 0.
	pts, err = ROC([]float64{1, 2}, []bool{true, false})
	if err != nil {
		t.Fatal(err)
	}
	if eer, auc := EER(pts), AUC(pts); eer != 0 || auc != 1 {
		t.Errorf("separable: EER = %v, AUC = %v; want 0, 1", eer, auc)
	}
	if !math.IsNaN(EER(nil)) || !math.IsNaN(AUC(pts[:1])) {
		t.Error("EER/AUC of a degenerate curve should be NaN")
	}
}

func TestROCErrors(t *testing.T) {
	for _, tc := range []struct {
		d []float64
		s []bool
	}{
		{nil, nil},
		{[]float64{1}, []bool{true, false}},
		{[]float64{1, 2}, []bool{true, true}},
		{[]float64{1, 2}, []bool{false, false}},
	} {
		if _, err := ROC(tc.d, tc.s); err == nil {
			t.Errorf("ROC(%v, %v): no error", tc.d, tc.s)
		}
	}
	if _, err := Accuracy([]float64{1}, []bool{true}, math.NaN()); err == nil {
		t.Error("Accuracy with NaN threshold: no error")
	}
	if _, err := Accuracy([]float64{1}, nil, 0); err == nil {
		t.Error("Accuracy with mismatched lengths: no error")
	}
}

func TestAccuracyStrict(t *testing.T) {
	// With τ = 0.3 the rule d < τ rejects both pairs at 0.3:
	// S0.1 ✓, D0.2 ✗, S0.3 ✗, D0.3 ✓, S0.5 ✗, D0.7 ✓ → 3/6.
	if acc, err := Accuracy(handDistances, handSame, 0.3); err != nil || acc != 0.5 {
		t.Errorf("Accuracy(0.3) = %v, %v; want 0.5", acc, err)
	}
	// τ = 0.6 accepts S0.1 D0.2 S0.3 D0.3 S0.5: ✓ ✗ ✓ ✗ ✓ ✓ → 4/6.
	if acc, err := Accuracy(handDistances, handSame, 0.6); err != nil || !near(acc, 4.0/6) {
		t.Errorf("Accuracy(0.6) = %v, %v; want 2/3", acc, err)
	}
}

// BenchmarkROC times the ROC curve of 6000 pairs, the size of LFW View 2.
func BenchmarkROC(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	d := make([]float64, 6000)
	s := make([]bool, 6000)
	for i := range d {
		s[i] = i%2 == 0
		d[i] = rng.Float64()
		if s[i] {
			d[i] *= 0.8
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ROC(d, s); err != nil {
			b.Fatal(err)
		}
	}
}
