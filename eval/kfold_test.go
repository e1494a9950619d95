package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBestThresholdHand(t *testing.T) {
	// Distinct values 0.1 0.2 0.3 0.5 0.7 give the candidates and the
	// correct counts (3 S, 3 D; S0.1 D0.2 S0.3 D0.3 S0.5 D0.7):
	//	−0.9  accepts nothing            → 0 + 3 = 3
	//	0.15  accepts S0.1               → 1 + 3 = 4  ← first best
	//	0.25  + D0.2                     → 1 + 2 = 3
	//	0.4   + S0.3 D0.3                → 2 + 1 = 3
	//	0.6   + S0.5                     → 3 + 1 = 4  (ties, larger τ)
	//	1.7   + D0.7                     → 3 + 0 = 3
	tau, acc, err := BestThreshold(handDistances, handSame)
	if err != nil {
		t.Fatal(err)
	}
	if !near(tau, 0.15) || !near(acc, 4.0/6) {
		t.Errorf("BestThreshold = %v, %v; want 0.15, 2/3", tau, acc)
	}

	// The no-face pairs are wrong at every τ: same τ, accuracy 4/8.
	d := append(append([]float64{}, handDistances...), math.NaN(), math.NaN())
	s := append(append([]bool{}, handSame...), true, false)
	tau, acc, err = BestThreshold(d, s)
	if err != nil {
		t.Fatal(err)
	}
	if !near(tau, 0.15) || !near(acc, 0.5) {
		t.Errorf("with no-face pairs: BestThreshold = %v, %v; want 0.15, 0.5", tau, acc)
	}
}

func TestBestThresholdEdges(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        []float64
		s        []bool
		tau, acc float64
	}{
		// Only matched pairs: accept all, τ above the largest (3 + 1).
		{"all same", []float64{1, 3, 2}, []bool{true, true, true}, 4, 1},
		// Only mismatched pairs: accept none, τ below the smallest (1 − 1).
		{"all different", []float64{1, 3, 2}, []bool{false, false, false}, 0, 1},
		// A single value shared by both classes: every τ gets one of two
		// right, the smallest candidate (5 − 1) wins.
		{"one tied value", []float64{5, 5}, []bool{true, false}, 4, 0.5},
		// Infinite distances are fixed decisions; the finite pairs decide.
		{"infinities", []float64{math.Inf(-1), 1, 2, math.Inf(1)}, []bool{true, true, false, false}, 1.5, 1},
		// Nothing finite: every τ is equivalent, 0 is returned.
		{"no finite", []float64{math.NaN(), math.Inf(1)}, []bool{true, false}, 0, 0.5},
	} {
		tau, acc, err := BestThreshold(tc.d, tc.s)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !near(tau, tc.tau) || !near(acc, tc.acc) {
			t.Errorf("%s: BestThreshold = %v, %v; want %v, %v", tc.name, tau, acc, tc.tau, tc.acc)
		}
	}
	if _, _, err := BestThreshold(nil, nil); err == nil {
		t.Error("BestThreshold of no pairs: no error")
	}
	if _, _, err := BestThreshold([]float64{1}, []bool{true, false}); err == nil {
		t.Error("BestThreshold with mismatched lengths: no error")
	}
}

// TestBestThresholdBrute checks BestThreshold against an exhaustive search
// over every observed value, every midpoint and points beyond the ends.
func TestBestThresholdBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 50; trial++ {
		d, s := randomPairs(rng, 5+rng.IntN(100), 0.1)
		tau, acc, err := BestThreshold(d, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := Accuracy(d, s, tau); got != acc {
			t.Fatalf("trial %d: reported accuracy %v but Accuracy(τ) = %v", trial, acc, got)
		}
		var cands []float64
		for _, a := range d {
			for _, b := range d {
				if !math.IsNaN(a) && !math.IsNaN(b) {
					cands = append(cands, a, (a+b)/2, a-1, a+1)
				}
			}
		}
		for _, c := range cands {
			got, _ := Accuracy(d, s, c)
			if got > acc+1e-15 {
				t.Fatalf("trial %d: τ=%v gives %v > best %v at τ=%v", trial, c, got, acc, tau)
			}
			// Ties go to the smallest τ: an equally good smaller τ must
			// make the same decisions, with no distance in [c, τ).
			if got == acc && c < tau {
				for _, v := range d {
					if v >= c && v < tau {
						t.Fatalf("trial %d: τ=%v ties best %v but is smaller than chosen τ=%v", trial, c, acc, tau)
					}
				}
			}
		}
	}
}

func TestKFoldHand(t *testing.T) {
	// Three folds of two pairs:
	//	fold 0: S1 D9   fold 1: S2 D8   fold 2: S5 D3
	// Fold 0 held out, train S2 D3 S5 D8: candidates 1→2, 2.5→3, 4→2,
	//	6.5→3, 9→2 correct; τ=2.5. Test S1 ✓ D9 ✓ → 1.
	// Fold 1 held out, train S1 D3 S5 D9: 0→2, 2→3, 4→2, 7→3, 10→2;
	//	τ=2. Test S2: 2 < 2 is false ✗, D8 ✓ → ½.
	// Fold 2 held out, train S1 S2 D8 D9: 0→2, 1.5→3, 5→4, 8.5→3, 10→2;
	//	τ=5. Test S5: 5 < 5 false ✗, D3: accepted ✗ → 0.
	// Mean ½, population std √((¼ + 0 + ¼)/3) = √(1/6), mean τ 9.5/3.
	d := []float64{1, 9, 2, 8, 5, 3}
	s := []bool{true, false, true, false, true, false}
	fold := []int{0, 0, 1, 1, 2, 2}
	res, err := KFold(d, s, fold)
	if err != nil {
		t.Fatal(err)
	}
	want := []FoldScore{{0, 2, 2.5, 1}, {1, 2, 2, 0.5}, {2, 2, 5, 0}}
	if len(res.Folds) != len(want) {
		t.Fatalf("folds = %+v", res.Folds)
	}
	for i := range want {
		if res.Folds[i] != want[i] {
			t.Errorf("fold %d = %+v, want %+v", i, res.Folds[i], want[i])
		}
	}
	if !near(res.MeanAccuracy, 0.5) || !near(res.StdAccuracy, math.Sqrt(1.0/6)) || !near(res.MeanThreshold, 9.5/3) {
		t.Errorf("mean %v std %v mean τ %v; want 0.5, %v, %v", res.MeanAccuracy, res.StdAccuracy, res.MeanThreshold, math.Sqrt(1.0/6), 9.5/3)
	}

	// A mismatched no-face pair added to fold 0 is an error there and
	// changes no threshold: fold 0 scores 2/3.
	d = append(d, math.NaN())
	s = append(s, false)
	fold = append(fold, 0)
	res, err = KFold(d, s, fold)
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Folds[0]; f.Pairs != 3 || !near(f.Accuracy, 2.0/3) || f.Threshold != 2.5 {
		t.Errorf("fold 0 with a no-face pair = %+v", f)
	}
	if !near(res.MeanAccuracy, (2.0/3+0.5)/3) {
		t.Errorf("mean = %v, want %v", res.MeanAccuracy, (2.0/3+0.5)/3)
	}
}

func TestKFoldErrors(t *testing.T) {
	d := []float64{1, 2}
	s := []bool{true, false}
	if _, err := KFold(d, s, []int{0, 0}); err == nil {
		t.Error("one fold: no error")
	}
	if _, err := KFold(d, s, []int{0}); err == nil {
		t.Error("short fold slice: no error")
	}
	if _, err := KFold(d, s[:1], []int{0, 1}); err == nil {
		t.Error("short label slice: no error")
	}
	if _, err := KFoldWith(s, []int{0, 1}, nil); err == nil {
		t.Error("nil fitter: no error")
	}
	boom := errors.New("boom")
	_, err := KFoldWith(s, []int{0, 1}, func([]int) (Rule, error) { return Rule{}, boom })
	if !errors.Is(err, boom) {
		t.Errorf("fitter error not wrapped: %v", err)
	}
	if _, err := KFoldWith(s, []int{0, 1}, func([]int) (Rule, error) { return Rule{}, nil }); err == nil {
		t.Error("rule without Decide: no error")
	}
}

// TestKFoldWithTrainSets checks that each fit sees exactly the other folds.
func TestKFoldWithTrainSets(t *testing.T) {
	fold := []int{7, 3, 7, 5, 3, 5}
	same := []bool{true, false, true, false, true, false}
	var seen [][]int
	res, err := KFoldWith(same, fold, func(train []int) (Rule, error) {
		seen = append(seen, append([]int(nil), train...))
		// Answer "same" for everything: right on matched pairs only.
		return Rule{Decide: func(int) (bool, bool) { return true, true }, Threshold: float64(len(seen))}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 2, 3, 5}, {0, 1, 2, 4}, {1, 3, 4, 5}} // folds 3, 5, 7 held out
	for k := range want {
		if len(seen[k]) != len(want[k]) {
			t.Fatalf("fit %d saw %v, want %v", k, seen[k], want[k])
		}
		for i := range want[k] {
			if seen[k][i] != want[k][i] {
				t.Fatalf("fit %d saw %v, want %v", k, seen[k], want[k])
			}
		}
	}
	// Fold 3 = {1 D, 4 S} → ½; fold 5 = {3 D, 5 D} → 0; fold 7 = {0 S, 2 S} → 1.
	wantAcc := []float64{0.5, 0, 1}
	for k, f := range res.Folds {
		if f.Accuracy != wantAcc[k] || f.Fold != []int{3, 5, 7}[k] {
			t.Errorf("fold %+v, want accuracy %v", f, wantAcc[k])
		}
	}
	if res.MeanThreshold != 2 {
		t.Errorf("mean threshold = %v, want 2", res.MeanThreshold)
	}
}

// TestKFoldLFWShape runs the protocol on synthetic distances laid out as
// LFW View 2 and checks it against an independent computation.
func TestKFoldLFWShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	d, s := randomPairs(rng, 6000, 0.01)
	fold := make([]int, len(d))
	for i := range fold {
		fold[i] = i / 600
	}
	res, err := KFold(d, s, fold)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Folds) != 10 {
		t.Fatalf("%d folds", len(res.Folds))
	}
	for f, score := range res.Folds {
		var trD, teD []float64
		var trS, teS []bool
		for i := range d {
			if fold[i] == f {
				teD, teS = append(teD, d[i]), append(teS, s[i])
			} else {
				trD, trS = append(trD, d[i]), append(trS, s[i])
			}
		}
		tau, _, err := BestThreshold(trD, trS)
		if err != nil {
			t.Fatal(err)
		}
		acc, err := Accuracy(teD, teS, tau)
		if err != nil {
			t.Fatal(err)
		}
		if score.Threshold != tau || score.Accuracy != acc || score.Pairs != 600 {
			t.Errorf("fold %d = %+v, want τ %v accuracy %v", f, score, tau, acc)
		}
	}
	if res.MeanAccuracy < 0.7 || res.MeanAccuracy > 0.9 {
		t.Errorf("mean accuracy %v is implausible for these distributions", res.MeanAccuracy)
	}
}
