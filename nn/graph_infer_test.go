package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestNewOpGradients checks the ops the ported networks need by finite
// differences: the fused add + ReLU, the paddings and the depthwise
// convolution (with each epilogue).
func TestNewOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []gradCase{
		{name: "add relu", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4), randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.AddReLU(xs[0], xs[1]) }},
		{name: "add relu to itself", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.AddReLU(xs[0], xs[0]) }},
		{name: "add relu in place (recording: a kept)", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4), randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.AddReLUInPlace(g.Add(xs[0], xs[0]), xs[1]) }},
		{name: "add in place (recording: a kept)", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4), randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.AddInPlace(g.Add(xs[0], xs[0]), xs[1]) }},
		{name: "pad spatial", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 4, 2)},
			build: func(g *Graph, xs []*Var) *Var {
				return g.PadSpatial(xs[0], Padding{Top: 1, Bottom: 2, Left: 0, Right: 1})
			}},
		{name: "pad channels", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 4, 2)},
			build: func(g *Graph, xs []*Var) *Var { return g.PadChannels(xs[0], 3) }},
	}
	for _, tc := range cases {
		checkGradients(t, tc)
	}
	for _, k := range []struct {
		kh, stride int
		mode       PadMode
		act        Activation
		affine     bool
	}{
		{3, 1, Same, Linear, false},
		{3, 2, Same, ReLU6, true},
		{3, 1, Same, Leaky, true},
		{3, 2, Valid, ReLU, false},
		{5, 2, Same, Linear, true}, // the generic kernel
	} {
		c := 12 // more than the eight channels of one assembly block
		w := randTensor(rng, k.kh, k.kh, c, 1)
		d, err := NewDepthwiseConv2D(w, k.stride, k.mode)
		if err != nil {
			t.Fatal(err)
		}
		d.Act = k.act
		if k.affine {
			d.Bias, d.Scale, d.Shift = randTensor(rng, c).Data, randTensor(rng, c).Data, randTensor(rng, c).Data
		}
		checkGradients(t, gradCase{
			name:   fmt.Sprintf("depthwise %d×%d s%d mode %d act %d", k.kh, k.kh, k.stride, k.mode, k.act),
			inputs: []*tensor.Tensor{randTensor(rng, 2, 7, 6, c)},
			params: d.Params("dw."),
			build:  func(g *Graph, xs []*Var) *Var { return g.DepthwiseConv2D(xs[0], d) },
		})
	}
}

// TestFrozenLayers: a frozen conv, depthwise or dense layer passes the
// gradient to its input but makes no Params and computes no weight
// gradient.
func TestFrozenLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	c := newTestConv(t, rng, 3, 3, 3, 4, 1, Same, true, Linear)
	c.Frozen = true
	d, err := NewDense(randTensor(rng, 5*4*4, 3), randTensor(rng, 3).Data)
	if err != nil {
		t.Fatal(err)
	}
	d.Frozen = true
	dw, err := NewDepthwiseConv2D(randTensor(rng, 3, 3, 4, 1), 1, Same)
	if err != nil {
		t.Fatal(err)
	}
	dw.Bias, dw.Frozen = randTensor(rng, 4).Data, true
	checkGradients(t, gradCase{
		name:   "frozen conv + depthwise + dense",
		inputs: []*tensor.Tensor{randTensor(rng, 2, 5, 4, 3)},
		build: func(g *Graph, xs []*Var) *Var {
			return g.Dense(g.Flatten(g.DepthwiseConv2D(g.Conv2D(xs[0], c), dw)), d)
		},
	})
	if c.params != nil || d.params != nil || dw.params != nil {
		t.Fatal("a frozen layer made Params")
	}
}

// TestInferenceGraph: an inference graph computes each op's plain kernel
// result bit for bit, records nothing and makes no Params.
func TestInferenceGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	c := newTestConv(t, rng, 3, 3, 8, 12, 2, Same, true, ReLU)
	dw, err := NewDepthwiseConv2D(randTensor(rng, 3, 3, 12, 1), 1, Same)
	if err != nil {
		t.Fatal(err)
	}
	dw.Act = ReLU6
	bn, err := NewBatchNorm(12)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 12; j++ {
		bn.RunningMean.Value.Data[j] = float32(rng.NormFloat64())
		bn.RunningVar.Value.Data[j] = float32(1 + rng.Float64())
		bn.Gamma.Value.Data[j] = float32(rng.NormFloat64())
	}
	d, err := NewDense(randTensor(rng, 12, 5), randTensor(rng, 5).Data)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 1, 11, 9, 8)

	var arena tensor.Arena
	a := c.Forward(&arena, x)
	b := dw.Forward(&arena, a)
	bnOut, err := bn.Forward(&arena, b)
	if err != nil {
		t.Fatal(err)
	}
	sum := AddReLU(&arena, bnOut, a)
	padded := PadChannels(&arena, PadSpatial(&arena, sum, Padding{Bottom: 1, Right: 2}), 3)
	want := d.Forward(&arena, GlobalAvgPool(&arena, MaxPool(&arena, sum, Window{KH: 2, KW: 2, Stride: 2, Mode: Same})))

	g := NewInferenceGraph(&arena)
	seen := map[string]bool{}
	g.Observe = func(name string, _ *tensor.Tensor) { seen[name] = true }
	h := g.Conv2D(g.Input(x, true), c)
	hs := g.Named("sum", g.AddReLU(g.BatchNorm(g.DepthwiseConv2D(h, dw), bn, false), h))
	gotPadded := g.PadChannels(g.PadSpatial(hs, Padding{Bottom: 1, Right: 2}), 3)
	got := g.Dense(g.GlobalAvgPool(g.MaxPool(hs, Window{KH: 2, KW: 2, Stride: 2, Mode: Same})), d)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for _, cmp := range []struct {
		name      string
		got, want *tensor.Tensor
	}{{"sum", hs.Value, sum}, {"padded", gotPadded.Value, padded}, {"dense", got.Value, want}} {
		if !tensor.SameShape(cmp.got.Shape, cmp.want.Shape) {
			t.Fatalf("%s: shape %v, want %v", cmp.name, cmp.got.Shape, cmp.want.Shape)
		}
		for i, v := range cmp.got.Data {
			if math.Float32bits(v) != math.Float32bits(cmp.want.Data[i]) {
				t.Fatalf("%s[%d] = %v, plain kernels give %v", cmp.name, i, v, cmp.want.Data[i])
			}
		}
	}
	if !g.Inference() || NewGraph(nil).Inference() {
		t.Fatal("Inference does not tell the modes apart")
	}
	if len(g.tape) != 0 || got.needsGrad {
		t.Fatal("the inference graph recorded ops")
	}
	if c.params != nil || d.params != nil || dw.params != nil {
		t.Fatal("the inference graph made Params")
	}
	if !seen["sum"] {
		t.Fatal("Observe did not see the named value")
	}
	if err := g.Backward(g.Sum(got)); err != nil {
		t.Fatal(err)
	}
}

// TestL2NormalizeZeroRow: a zero row stays zero with a finite gradient,
// dy/L2Epsilon, and a normal row is unit length.
func TestL2NormalizeZeroRow(t *testing.T) {
	g := NewGraph(nil)
	x := g.Input(tensor.From([]float32{0, 0, 3, 4}, 2, 2), true)
	y := g.L2Normalize(x)
	if y.Value.Data[0] != 0 || y.Value.Data[1] != 0 || y.Value.Data[2] != 0.6 || y.Value.Data[3] != 0.8 {
		t.Fatalf("normalised %v", y.Value.Data)
	}
	if err := g.BackwardFrom(y, tensor.From([]float32{1e-12, -2e-12, 0, 0}, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if d := x.Grad.Data; math.Abs(float64(d[0])-1) > 1e-6 || math.Abs(float64(d[1])+2) > 1e-6 {
		t.Fatalf("zero-row gradient %v, want dy/%g", d[:2], L2Epsilon)
	}
}

// TestAddReLUInPlace: an inference graph writes the sum over a's value, a
// recording graph leaves it alone; both give nn.AddReLU's values.
func TestAddReLUInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	a, b := randTensor(rng, 1, 3, 3, 9), randTensor(rng, 1, 3, 3, 9)
	want := AddReLU(nil, a, b)
	g := NewGraph(nil)
	av := g.Input(a.Clone(), true)
	got := g.AddReLUInPlace(av, g.Input(b, true))
	if d := tensor.MaxAbsDiff(got.Value.Data, want.Data); d != 0 || &got.Value.Data[0] == &av.Value.Data[0] || tensor.MaxAbsDiff(av.Value.Data, a.Data) != 0 {
		t.Fatal("a recording graph's in-place add differs or wrote over a")
	}
	ig := NewInferenceGraph(nil)
	av = ig.Input(a.Clone(), false)
	got = ig.AddReLUInPlace(av, ig.Input(b, false))
	if d := tensor.MaxAbsDiff(got.Value.Data, want.Data); d != 0 || &got.Value.Data[0] != &av.Value.Data[0] {
		t.Fatal("an inference graph's in-place add differs or made a new buffer")
	}
	if ig.AddReLUInPlace(av, ig.Input(tensor.New(2), false)); ig.Err() == nil {
		t.Fatal("no error for mismatched shapes")
	}
	ig = NewInferenceGraph(nil)
	av = ig.Input(a.Clone(), false)
	got = ig.AddInPlace(av, ig.Input(b, false))
	if d := tensor.MaxAbsDiff(got.Value.Data, Add(nil, a, b).Data); d != 0 || &got.Value.Data[0] != &av.Value.Data[0] {
		t.Fatal("an inference graph's in-place add differs or made a new buffer")
	}
}
