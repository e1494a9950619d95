package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestGateOps(t *testing.T) {
	x := tensor.From([]float32{-2, 0, 3, 40}, 1, 4)
	g := NewInferenceGraph(nil)
	in := g.Input(x, false)
	sig, th := g.Sigmoid(in), g.Tanh(in)
	sq := g.Mul(in, in)
	img := tensor.From([]float32{1, 2, 3, 4, 5, 6}, 1, 1, 2, 3) // two pixels, three channels
	sc := g.ScaleChannels(g.Input(img, false), g.Input(tensor.From([]float32{10, 0, -1}, 1, 3), false))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Data {
		if want := float32(1 / (1 + math.Exp(-float64(v)))); sig.Value.Data[i] != want {
			t.Errorf("sigmoid(%g) = %g, want %g", v, sig.Value.Data[i], want)
		}
		if want := float32(math.Tanh(float64(v))); th.Value.Data[i] != want {
			t.Errorf("tanh(%g) = %g, want %g", v, th.Value.Data[i], want)
		}
		if sq.Value.Data[i] != v*v {
			t.Errorf("%g·%g = %g", v, v, sq.Value.Data[i])
		}
	}
	for i, want := range []float32{10, 0, -3, 40, 0, -6} {
		if sc.Value.Data[i] != want {
			t.Errorf("scale channels [%d] = %g, want %g", i, sc.Value.Data[i], want)
		}
	}

	r6 := g.ReLU6(g.AddScalar(g.MulScalar(in, 2), 1))
	for i, want := range []float32{0, 1, 6, 6} {
		if r6.Value.Data[i] != want {
			t.Errorf("relu6(2·%g+1) = %g, want %g", x.Data[i], r6.Value.Data[i], want)
		}
	}

	for name, f := range map[string]func(g *Graph){
		"mul of two shapes": func(g *Graph) {
			g.Mul(g.Input(tensor.New(2, 3), false), g.Input(tensor.New(3, 2), false))
		},
		"scale of a flat value": func(g *Graph) {
			g.ScaleChannels(g.Input(tensor.New(2, 3), false), g.Input(tensor.New(2, 3), false))
		},
		"scale with another channel count": func(g *Graph) {
			g.ScaleChannels(g.Input(tensor.New(1, 2, 2, 3), false), g.Input(tensor.New(1, 4), false))
		},
		"scale with another batch": func(g *Graph) {
			g.ScaleChannels(g.Input(tensor.New(2, 2, 2, 3), false), g.Input(tensor.New(1, 3), false))
		},
		"sigmoid of nil": func(g *Graph) { g.Sigmoid(nil) },
	} {
		g := NewInferenceGraph(nil)
		f(g)
		if g.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGateGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range []gradCase{
		{name: "sigmoid", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.Sigmoid(xs[0]) }},
		{name: "tanh", inputs: []*tensor.Tensor{randTensor(rng, 2, 7)},
			build: func(g *Graph, xs []*Var) *Var { return g.Tanh(xs[0]) }},
		{name: "mul", inputs: []*tensor.Tensor{randTensor(rng, 2, 5), randTensor(rng, 2, 5)},
			build: func(g *Graph, xs []*Var) *Var { return g.Mul(xs[0], xs[1]) }},
		{name: "square", inputs: []*tensor.Tensor{randTensor(rng, 2, 5)},
			build: func(g *Graph, xs []*Var) *Var { return g.Mul(xs[0], xs[0]) }},
		{name: "scale channels", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 2, 4), randTensor(rng, 2, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.ScaleChannels(xs[0], xs[1]) }},
		{name: "relu6", inputs: []*tensor.Tensor{randTensor(rng, 2, 9)},
			build: func(g *Graph, xs []*Var) *Var { return g.ReLU6(g.MulScalar(xs[0], 5)) }},
		{name: "hard swish", inputs: []*tensor.Tensor{randTensor(rng, 2, 9)},
			build: func(g *Graph, xs []*Var) *Var {
				return g.Mul(g.MulScalar(xs[0], 1.0/6), g.ReLU6(g.AddScalar(g.MulScalar(xs[0], 4), 3)))
			}},
		{name: "squeeze-excitation", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 2, 4)},
			build: func(g *Graph, xs []*Var) *Var {
				return g.ScaleChannels(xs[0], g.Sigmoid(g.GlobalAvgPool(xs[0])))
			}},
	} {
		checkGradients(t, tc)
	}
}

func TestGatherChannels(t *testing.T) {
	x := tensor.From([]float32{1, 2, 3, 4, 5, 6}, 1, 1, 2, 3)
	g := NewInferenceGraph(nil)
	y := g.GatherChannels(g.Input(x, false), []int{2, 0, 2})
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{3, 1, 3, 6, 4, 6} {
		if y.Value.Data[i] != want {
			t.Fatalf("gather = %v", y.Value.Data)
		}
	}
	for _, idx := range [][]int{nil, {3}, {-1}} {
		bad := NewInferenceGraph(nil)
		bad.GatherChannels(bad.Input(x, false), idx)
		if bad.Err() == nil {
			t.Errorf("gather %v of 3 channels: no error", idx)
		}
	}
	rng := rand.New(rand.NewPCG(41, 42))
	checkGradients(t, gradCase{
		name:   "gather channels",
		inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 2, 4)},
		// Channel 1 twice, channel 2 never: its gradient must stay zero.
		build: func(g *Graph, xs []*Var) *Var { return g.GatherChannels(xs[0], []int{3, 1, 0, 1}) },
	})
}
