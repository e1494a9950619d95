package train

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// handBatch is four 2-D embeddings whose squared distances are easy to
// work out by hand:
//
//	e0 = (0, 0)   label 0      d01 = 1     d02 = 1.44   d03 = 9
//	e1 = (1, 0)   label 0      d12 = 2.44  d13 = 4
//	e2 = (0, 1.2) label 1      d23 = 10.44
//	e3 = (3, 0)   label 1
func handBatch() (*tensor.Tensor, []int) {
	return tensor.From([]float32{0, 0, 1, 0, 0, 1.2, 3, 0}, 4, 2), []int{0, 0, 1, 1}
}

func TestTripletMiningByHand(t *testing.T) {
	// With α = 0.5 the per-triplet losses d(a,p) − d(a,n) + α are
	//	(0,1,2) 0.06  (0,1,3) −7.5  (1,0,2) −0.94  (1,0,3) −2.5
	//	(2,3,0) 9.5   (2,3,1) 8.5   (3,2,0) 1.94   (3,2,1) 6.94
	for _, tc := range []struct {
		name     string
		cfg      TripletConfig
		want     []Triplet
		active   int
		loss     float64
		pos, neg float64
	}{
		{
			name: "batch-all mean over active",
			cfg:  TripletConfig{Margin: 0.5, Mining: BatchAll},
			want: []Triplet{{0, 1, 2}, {0, 1, 3}, {1, 0, 2}, {1, 0, 3}, {2, 3, 0}, {2, 3, 1}, {3, 2, 0}, {3, 2, 1}},
			// (0.06 + 9.5 + 8.5 + 1.94 + 6.94) / 5
			active: 5, loss: 26.94 / 5,
			pos: (4*1 + 4*10.44) / 8, neg: (1.44 + 9 + 2.44 + 4 + 1.44 + 2.44 + 9 + 4) / 8,
		},
		{
			name:   "batch-all mean over all",
			cfg:    TripletConfig{Margin: 0.5, Mining: BatchAll, Reduction: MeanAll},
			want:   []Triplet{{0, 1, 2}, {0, 1, 3}, {1, 0, 2}, {1, 0, 3}, {2, 3, 0}, {2, 3, 1}, {3, 2, 0}, {3, 2, 1}},
			active: 5, loss: 26.94 / 8,
			pos: (4*1 + 4*10.44) / 8, neg: (1.44 + 9 + 2.44 + 4 + 1.44 + 2.44 + 9 + 4) / 8,
		},
		{
			// Hardest positive is the only one; hardest negatives are
			// 2 for anchors 0 and 1, 0 for anchor 2 and 1 for anchor 3.
			name:   "batch-hard",
			cfg:    TripletConfig{Margin: 0.5, Mining: BatchHard},
			want:   []Triplet{{0, 1, 2}, {1, 0, 2}, {2, 3, 0}, {3, 2, 1}},
			active: 3, loss: (0.06 + 9.5 + 6.94) / 4,
			pos: (1 + 1 + 10.44 + 10.44) / 4, neg: (1.44 + 2.44 + 1.44 + 4) / 4,
		},
		{
			// Only (0,1) has a negative in (d_ap, d_ap + α) = (1, 1.5): e2.
			name:   "semi-hard skip",
			cfg:    TripletConfig{Margin: 0.5, Mining: SemiHard},
			want:   []Triplet{{0, 1, 2}},
			active: 1, loss: 0.06, pos: 1, neg: 1.44,
		},
		{
			// The other pairs fall back to their hardest negative.
			name:   "semi-hard fallback",
			cfg:    TripletConfig{Margin: 0.5, Mining: SemiHard, SemiHardFallback: true},
			want:   []Triplet{{0, 1, 2}, {1, 0, 2}, {2, 3, 0}, {3, 2, 1}},
			active: 3, loss: (0.06 + 9.5 + 6.94) / 4,
			pos: (1 + 1 + 10.44 + 10.44) / 4, neg: (1.44 + 2.44 + 1.44 + 4) / 4,
		},
		{
			// α = 4: (1,0) has both negatives in (1, 5) and takes the
			// harder, e2 (2.44 < 4); (0,1) has only e2 (9 ≥ 5).
			name:   "semi-hard picks the hardest in the band",
			cfg:    TripletConfig{Margin: 4, Mining: SemiHard},
			want:   []Triplet{{0, 1, 2}, {1, 0, 2}},
			active: 2, loss: ((1 - 1.44 + 4) + (1 - 2.44 + 4)) / 2,
			pos: 1, neg: (1.44 + 2.44) / 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, labels := handBatch()
			tc.cfg.KeepTriplets = true
			loss, _, st, err := TripletLoss(e, labels, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Mined, tc.want) {
				t.Errorf("mined %v, want %v", st.Mined, tc.want)
			}
			if st.Triplets != len(tc.want) || st.Active != tc.active {
				t.Errorf("triplets %d active %d, want %d and %d", st.Triplets, st.Active, len(tc.want), tc.active)
			}
			if want := float64(tc.active) / float64(len(tc.want)); math.Abs(st.ActiveFraction-want) > 1e-12 {
				t.Errorf("active fraction %v, want %v", st.ActiveFraction, want)
			}
			const tol = 1e-5 // the embeddings are float32
			if math.Abs(loss-tc.loss) > tol {
				t.Errorf("loss %v, want %v", loss, tc.loss)
			}
			if math.Abs(st.MeanPos-tc.pos) > tol || math.Abs(st.MeanNeg-tc.neg) > tol {
				t.Errorf("mean d(a,p) %v d(a,n) %v, want %v and %v", st.MeanPos, st.MeanNeg, tc.pos, tc.neg)
			}
		})
	}
}

func TestTripletSoftMarginByHand(t *testing.T) {
	// Batch-hard picks (0,1,2) (1,0,2) (2,3,0) (3,2,1) with d(a,p) − d(a,n)
	// = −0.44, −1.44, 9, 6.44; the soft margin averages ln(1 + e^x) over
	// all four, whether or not the hinge would be active.
	e, labels := handBatch()
	loss, _, st, err := TripletLoss(e, labels, TripletConfig{Margin: 0.5, Mining: BatchHard, Soft: true})
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for _, x := range []float64{-0.44, -1.44, 9, 6.44} {
		want += math.Log(1 + math.Exp(x))
	}
	want /= 4
	if math.Abs(loss-want) > 1e-5 {
		t.Errorf("loss %v, want %v", loss, want)
	}
	// Active still means "violates the margin α = 0.5": three of four.
	if st.Active != 3 || st.Triplets != 4 {
		t.Errorf("active %d of %d, want 3 of 4", st.Active, st.Triplets)
	}
	// A batch that satisfies every margin keeps a non-zero gradient.
	far := tensor.From([]float32{0, 0, 0.1, 0, 5, 0, 5.1, 0}, 4, 2)
	l, g, st, err := TripletLoss(far, labels, TripletConfig{Mining: BatchAll, Soft: true})
	if err != nil {
		t.Fatal(err)
	}
	if big := tensor.MaxAbsDiff(g.Data, make([]float32, len(g.Data))); st.Active != 0 || l <= 0 || big == 0 {
		t.Errorf("satisfied batch: active %d, loss %v, max |grad| %v; want 0 active, positive loss and gradient", st.Active, l, big)
	}
}

func TestTripletRandomMining(t *testing.T) {
	e, labels := handBatch()
	mine := func(seed uint64) []Triplet {
		_, _, st, err := TripletLoss(e, labels, TripletConfig{Mining: RandomTriplets, Rand: rand.New(rand.NewPCG(seed, 1)), KeepTriplets: true})
		if err != nil {
			t.Fatal(err)
		}
		return st.Mined
	}
	seen := map[Triplet]bool{}
	for seed := uint64(0); seed < 50; seed++ {
		got := mine(seed)
		if !reflect.DeepEqual(got, mine(seed)) {
			t.Fatalf("seed %d mined %v then %v", seed, got, mine(seed))
		}
		if len(got) != 4 {
			t.Fatalf("seed %d mined %d triplets, want one per anchor", seed, len(got))
		}
		for i, tr := range got {
			if tr.A != i || tr.P == tr.A || labels[tr.P] != labels[tr.A] || labels[tr.N] == labels[tr.A] {
				t.Fatalf("seed %d mined invalid triplet %v", seed, tr)
			}
			seen[tr] = true
		}
	}
	// Each anchor has one positive and two negatives.
	if len(seen) != 8 {
		t.Errorf("50 seeds mined %d distinct triplets, want all 8", len(seen))
	}
}

func TestTripletLossEdgeCases(t *testing.T) {
	e, labels := handBatch()
	// A single identity, or all singletons, have no triplet.
	for _, l := range [][]int{{0, 0, 0, 0}, {0, 1, 2, 3}} {
		for m := BatchAll; m <= RandomTriplets; m++ {
			loss, g, st, err := TripletLoss(e, l, TripletConfig{Mining: m, Rand: rand.New(rand.NewPCG(1, 1))})
			if err != nil || loss != 0 || st.Triplets != 0 || len(g.Data) != 8 {
				t.Errorf("%v on labels %v: loss %v stats %+v err %v, want an empty zero loss", m, l, loss, st, err)
			}
		}
	}
	// Coincident embeddings: the squared distance is smooth at 0, so the
	// gradient stays finite.
	same := tensor.New(4, 2)
	loss, g, _, err := TripletLoss(same, labels, TripletConfig{Mining: BatchAll})
	if err != nil || math.Abs(loss-DefaultMargin) > 1e-12 {
		t.Errorf("coincident embeddings: loss %v err %v, want the margin", loss, err)
	}
	for _, v := range g.Data {
		if v != 0 {
			t.Errorf("coincident embeddings: gradient %v, want 0", g.Data)
			break
		}
	}
	for name, call := range map[string]func() error{
		"labels": func() error { _, _, _, err := TripletLoss(e, labels[:3], TripletConfig{}); return err },
		"margin": func() error { _, _, _, err := TripletLoss(e, labels, TripletConfig{Margin: -1}); return err },
		"mining": func() error { _, _, _, err := TripletLoss(e, labels, TripletConfig{Mining: 9}); return err },
		"rand": func() error {
			_, _, _, err := TripletLoss(e, labels, TripletConfig{Mining: RandomTriplets})
			return err
		},
		"nil":   func() error { _, _, _, err := TripletLoss(nil, labels, TripletConfig{}); return err },
		"shape": func() error { _, _, _, err := TripletLoss(tensor.New(8), labels, TripletConfig{}); return err },
		"infinity": func() error {
			_, _, _, err := TripletLoss(tensor.From([]float32{float32(math.Inf(1))}, 1, 1), []int{0}, TripletConfig{})
			return err
		},
	} {
		if call() == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
}

func TestParseMining(t *testing.T) {
	for m := BatchAll; m <= RandomTriplets; m++ {
		if got, err := ParseMining(m.String()); err != nil || got != m {
			t.Errorf("ParseMining(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMining("hardest"); err == nil {
		t.Error("ParseMining accepted an unknown name")
	}
}
