package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestContrastiveLossGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	e := randEmbeddings(rng, len(gradLabels), 4, true)
	for _, pairs := range [][]Pair{nil, {{0, 1}, {0, 2}, {3, 7}, {8, 4}}} {
		cfg := ContrastiveConfig{Margin: 1.2, Pairs: pairs}
		f := func(e *tensor.Tensor) float64 {
			l, _, _, err := ContrastiveLoss(e, gradLabels, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		_, g, st, err := ContrastiveLoss(e, gradLabels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Same == 0 || st.Different == 0 || st.Active == st.Pairs {
			t.Fatalf("stats %+v: want same, different and inactive pairs", st)
		}
		checkGrad(t, "contrastive", e, g.Data, f)
	}
}

func TestContrastiveByHand(t *testing.T) {
	// handBatch distances: d01 = 1, d23 = √10.44; different pairs
	// d02 = 1.2, d03 = 3, d12 = √2.44 ≈ 1.562, d13 = 2.
	e, labels := handBatch()
	loss, g, st, err := ContrastiveLoss(e, labels, ContrastiveConfig{Margin: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	// Same: 1 + 10.44; different: only d02 < 1.5, giving 0.3².
	want := (1 + 10.44 + 0.09) / 6
	if math.Abs(loss-want) > 1e-5 {
		t.Errorf("loss %v, want %v", loss, want)
	}
	if st.Pairs != 6 || st.Same != 2 || st.Different != 4 || st.Active != 3 {
		t.Errorf("stats %+v", st)
	}
	if math.Abs(st.MeanSame-(1+math.Sqrt(10.44))/2) > 1e-5 || math.Abs(st.MeanDifferent-(1.2+3+math.Sqrt(2.44)+2)/4) > 1e-5 {
		t.Errorf("mean distances %v %v", st.MeanSame, st.MeanDifferent)
	}
	// A different-label pair at one point: loss m², gradient 0, no NaN.
	loss, g, _, err = ContrastiveLoss(tensor.New(2, 3), []int{0, 1}, ContrastiveConfig{})
	if err != nil || loss != DefaultContrastiveMargin*DefaultContrastiveMargin {
		t.Errorf("coincident different pair: loss %v err %v", loss, err)
	}
	for _, v := range g.Data {
		if v != 0 {
			t.Errorf("coincident different pair: gradient %v, want 0", g.Data)
			break
		}
	}
	for name, cfg := range map[string]ContrastiveConfig{
		"margin": {Margin: -1},
		"pair":   {Pairs: []Pair{{0, 0}}},
		"range":  {Pairs: []Pair{{0, 4}}},
	} {
		if _, _, _, err := ContrastiveLoss(e, labels, cfg); err == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
}

func TestBalancedPairs(t *testing.T) {
	labels := []int{0, 0, 0, 1, 1, 2, 2, 2}
	pairs, err := BalancedPairs(labels, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// 3 + 1 + 3 same pairs, then 7 of the 21 different ones.
	if len(pairs) != 14 {
		t.Fatalf("%d pairs, want 14", len(pairs))
	}
	seen := map[Pair]bool{}
	for i, p := range pairs {
		if p.I >= p.J || seen[p] {
			t.Errorf("pair %v repeated or not ordered", p)
		}
		seen[p] = true
		if same := labels[p.I] == labels[p.J]; same != (i < 7) {
			t.Errorf("pair %d %v: same = %v", i, p, same)
		}
	}
	again, _ := BalancedPairs(labels, rand.New(rand.NewPCG(1, 1)))
	for i := range pairs {
		if pairs[i] != again[i] {
			t.Fatal("the same seed gave different pairs")
		}
	}
	if _, err := BalancedPairs(labels, nil); err == nil {
		t.Error("nil rng accepted")
	}
	if got := AllPairs(4); len(got) != 6 || got[5] != (Pair{2, 3}) {
		t.Errorf("AllPairs(4) = %v", got)
	}
}

func TestBinaryHeadGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	e := randEmbeddings(rng, len(gradLabels), 5, true)
	h, err := NewBinaryHead(5)
	if err != nil {
		t.Fatal(err)
	}
	for k := range h.W {
		h.W[k] += float32(0.3 * rng.NormFloat64())
	}
	pairs, err := BalancedPairs(gradLabels, rng)
	if err != nil {
		t.Fatal(err)
	}
	loss := func(e *tensor.Tensor) float64 {
		l, _, _, err := h.Loss(e, gradLabels, pairs)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	_, g, _, err := h.Loss(e, gradLabels, pairs)
	if err != nil {
		t.Fatal(err)
	}
	checkGrad(t, "head dL/dE", e, g.E.Data, loss)
	// The head's parameters, through a [1, D+1] view of (W, B).
	params := tensor.From(append(append([]float32(nil), h.W...), h.B), 1, 6)
	checkGrad(t, "head dL/dW,dL/dB", params, append(append([]float32(nil), g.W...), g.B), func(p *tensor.Tensor) float64 {
		saveW, saveB := h.W, h.B
		h.W, h.B = p.Data[:5], p.Data[5]
		defer func() { h.W, h.B = saveW, saveB }()
		return loss(e)
	})
}

// TestBinaryHeadTrains runs plain gradient descent on free embeddings and
// the head together and checks that the pairs become separable: the head's
// gradients must point the right way for end-to-end training to work.
func TestBinaryHeadTrains(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	labels := []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}
	e := randEmbeddings(rng, len(labels), 8, true)
	h, err := NewBinaryHead(8)
	if err != nil {
		t.Fatal(err)
	}
	pairs := AllPairs(len(labels))
	first, _, _, err := h.Loss(e, labels, pairs)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 0.5
	var last float64
	var st PairStats
	for step := 0; step < 300; step++ {
		var g HeadGrad
		last, g, st, err = h.Loss(e, labels, pairs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range e.Data {
			e.Data[i] -= lr * g.E.Data[i]
		}
		for k := range h.W {
			h.W[k] -= lr * g.W[k]
		}
		h.B -= lr * g.B
	}
	if last > first/4 || st.Active != 0 {
		t.Errorf("loss %v → %v with %d of %d pairs misclassified; want a quarter and none", first, last, st.Active, st.Pairs)
	}
	if p, err := h.Score(e.Data[0:8], e.Data[8:16]); err != nil || p < 0.5 {
		t.Errorf("score of a same pair %v, %v", p, err)
	}
	if _, err := h.Score(e.Data[:3], e.Data[:8]); err == nil {
		t.Error("Score accepted a short embedding")
	}
	if _, _, _, err := h.Loss(tensor.New(2, 3), []int{0, 1}, nil); err == nil {
		t.Error("Loss accepted embeddings of the wrong dimension")
	}
	if _, err := NewBinaryHead(0); err == nil {
		t.Error("NewBinaryHead(0) succeeded")
	}
}
