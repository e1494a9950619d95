package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestChannelsFirst(t *testing.T) {
	x := tensor.New(2, 3, 4, 5)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	g := NewInferenceGraph(nil)
	y := g.ChannelsFirst(g.Input(x, false))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(y.Value.Shape, []int{2, 5, 3, 4}) {
		t.Fatalf("shape %v", y.Value.Shape)
	}
	for b := 0; b < 2; b++ {
		for h := 0; h < 3; h++ {
			for w := 0; w < 4; w++ {
				for c := 0; c < 5; c++ {
					if got, want := y.Value.Data[((b*5+c)*3+h)*4+w], x.Data[((b*3+h)*4+w)*5+c]; got != want {
						t.Fatalf("[%d %d %d %d]: %g, want %g", b, c, h, w, got, want)
					}
				}
			}
		}
	}
	bad := NewInferenceGraph(nil)
	bad.ChannelsFirst(bad.Input(tensor.New(2, 3), false))
	if bad.Err() == nil {
		t.Error("a 2-D input: no error")
	}
}

func TestChannelsFirstGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	checkGradients(t, gradCase{
		name:   "channels first",
		inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 2, 4)},
		// The L2 normalisation makes the loss depend on where each value
		// lands, not only on their sum.
		build: func(g *Graph, xs []*Var) *Var { return g.L2Normalize(g.Flatten(g.ChannelsFirst(xs[0]))) },
	})
}
