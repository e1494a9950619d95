package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestBackwardFromAll: seeding two layers of one pass gives the sum of the
// input gradients of two passes seeded at one layer each, and the layers
// are reached through Named's Tap.
func TestBackwardFromAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w1, _ := NewConv2D(randTensor(rng, 3, 3, 2, 4), 1, Same)
	w2, _ := NewConv2D(randTensor(rng, 3, 3, 4, 3), 2, Same)
	w1.Act, w1.Frozen, w2.Frozen = ReLU, true, true
	x := randTensor(rng, 1, 6, 6, 2)
	r1, r2 := randTensor(rng, 1, 6, 6, 4), randTensor(rng, 1, 3, 3, 3)
	// pass seeds the named layers in which (nil: not seeded) and returns dL/dx.
	pass := func(s1, s2 *tensor.Tensor) *tensor.Tensor {
		g := NewGraph(nil)
		taps := map[string]*Var{}
		g.Tap = func(name string, v *Var) { taps[name] = v }
		xv := g.Input(x, true)
		g.Named("b", g.Conv2D(g.Named("a", g.Conv2D(xv, w1)), w2))
		var vs []*Var
		var seeds []*tensor.Tensor
		if s1 != nil {
			vs, seeds = append(vs, taps["a"]), append(seeds, s1)
		}
		if s2 != nil {
			vs, seeds = append(vs, taps["b"]), append(seeds, s2)
		}
		if err := g.BackwardFromAll(vs, seeds); err != nil {
			t.Fatal(err)
		}
		return xv.Grad
	}
	both, one, two := pass(r1, r2), pass(r1, nil), pass(nil, r2)
	for i := range both.Data {
		want := one.Data[i] + two.Data[i]
		if d := both.Data[i] - want; d > 1e-5 || d < -1e-5 {
			t.Fatalf("dL/dx[%d] = %v, want %v", i, both.Data[i], want)
		}
	}
	g := NewGraph(nil)
	y := g.Conv2D(g.Input(x, true), w1)
	if err := g.BackwardFromAll([]*Var{y}, nil); err == nil {
		t.Error("seeds and variables of different counts accepted")
	}
	if err := g.BackwardFromAll([]*Var{y}, []*tensor.Tensor{tensor.New(1, 2)}); err == nil {
		t.Error("a seed of the wrong shape accepted")
	}
}
