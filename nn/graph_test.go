package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// gradCase is one finite-difference check: build maps the graph's input
// Vars (one per inputs tensor, all needing gradients) to an output; the
// loss is L = Σ r·output for a fixed random r, so every output value
// matters.
type gradCase struct {
	name    string
	inputs  []*tensor.Tensor
	params  []*Param
	build   func(g *Graph, xs []*Var) *Var
	eps     float64 // perturbation (default 1e-3)
	workers int     // graph workers (default 2)
}

// lossOf runs the forward pass and returns Σ r·y in float64.
func (tc *gradCase) lossOf(t *testing.T, r *tensor.Tensor) float64 {
	g := NewGraph(nil)
	xs := make([]*Var, len(tc.inputs))
	for i, x := range tc.inputs {
		xs[i] = g.Input(x, false)
	}
	y := tc.build(g, xs)
	if err := g.Err(); err != nil {
		t.Fatalf("%s: forward: %v", tc.name, err)
	}
	s := 0.0
	for i, v := range y.Value.Data {
		s += float64(v) * float64(r.Data[i])
	}
	return s
}

// checkGradients compares the analytic gradient of every input and
// parameter value with central differences (up to maxChecks random
// coordinates of each tensor).
func checkGradients(t *testing.T, tc gradCase) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
	eps := tc.eps
	if eps == 0 {
		eps = 1e-3
	}
	ZeroGrads(tc.params)
	g := NewGraph(nil)
	g.Workers = tc.workers
	if g.Workers == 0 {
		g.Workers = 2
	}
	xs := make([]*Var, len(tc.inputs))
	for i, x := range tc.inputs {
		xs[i] = g.Input(x, true)
	}
	y := tc.build(g, xs)
	if err := g.Err(); err != nil {
		t.Fatalf("%s: forward: %v", tc.name, err)
	}
	r := randTensor(rng, y.Value.Shape...)
	if err := g.BackwardFrom(y, r); err != nil {
		t.Fatalf("%s: backward: %v", tc.name, err)
	}

	type target struct {
		name     string
		value    *tensor.Tensor
		analytic *tensor.Tensor
		param    *Param
	}
	var targets []target
	for i, x := range tc.inputs {
		if xs[i].Grad == nil {
			t.Fatalf("%s: no gradient reached input %d", tc.name, i)
		}
		targets = append(targets, target{fmt.Sprintf("input %d", i), x, xs[i].Grad.Clone(), nil})
	}
	for _, p := range tc.params {
		if p.Grad != nil {
			targets = append(targets, target{p.Name, p.Value, p.Grad.Clone(), p})
		}
	}
	const maxChecks = 40
	checked, skipped := 0, 0
	for _, tg := range targets {
		idx := rng.Perm(tg.value.Len())
		if len(idx) > maxChecks {
			idx = idx[:maxChecks]
		}
		for _, i := range idx {
			orig := tg.value.Data[i]
			at := func(v float32) float64 {
				tg.value.Data[i] = v
				if tg.param != nil {
					tg.param.Updated()
				}
				return tc.lossOf(t, r)
			}
			lp, lm, l0 := at(orig+float32(eps)), at(orig-float32(eps)), at(orig)
			// Where the one-sided slopes disagree the perturbation crossed a
			// kink (a ReLU at 0, a change of maximum) and the central
			// difference means nothing; such coordinates are skipped, but
			// only a few may be.
			fwd, bwd := (lp-l0)/eps, (l0-lm)/eps
			if math.Abs(fwd-bwd) > 0.01+0.005*math.Abs(fwd+bwd) {
				skipped++
				continue
			}
			checked++
			num := (lp - lm) / (2 * eps)
			got := float64(tg.analytic.Data[i])
			if d := math.Abs(got - num); d > 1e-2+2e-2*math.Max(math.Abs(got), math.Abs(num)) {
				t.Errorf("%s: d/d %s[%d] = %.5g, central difference %.5g", tc.name, tg.name, i, got, num)
			}
		}
	}
	if skipped*4 > checked+skipped {
		t.Errorf("%s: %d of %d coordinates at kinks", tc.name, skipped, checked+skipped)
	}
}

func newTestConv(t *testing.T, rng *rand.Rand, kh, kw, cin, cout, stride int, mode PadMode, bias bool, act Activation) *Conv2D {
	t.Helper()
	w := randTensor(rng, kh, kw, cin, cout)
	for i := range w.Data {
		w.Data[i] *= 0.5
	}
	c, err := NewConv2D(w, stride, mode)
	if err != nil {
		t.Fatal(err)
	}
	if bias {
		c.Bias = randTensor(rng, cout).Data
	}
	c.Act = act
	return c
}

func TestConv2DGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		kh, kw, cin, cout, stride int
		mode                      PadMode
		n, h, w                   int
		bias                      bool
		act                       Activation
		scale                     bool
	}{
		{3, 3, 3, 16, 1, Same, 2, 7, 5, true, ReLU, false}, // the direct RGB kernel
		{3, 3, 3, 32, 2, Valid, 1, 9, 8, false, Linear, false},
		{3, 3, 4, 5, 2, Valid, 2, 9, 7, true, Leaky, true},
		{3, 3, 4, 5, 2, Same, 3, 6, 7, true, Linear, false},
		{1, 1, 6, 3, 1, Valid, 2, 4, 5, true, Linear, false}, // pointwise: no im2col
		{1, 1, 6, 3, 2, Same, 2, 5, 5, false, Linear, false},
		{5, 5, 2, 3, 2, Same, 2, 7, 6, false, Linear, false},
		{5, 5, 2, 3, 2, Same, 2, 7, 6, false, ReLU6, false},
		{2, 3, 3, 4, 1, Valid, 2, 5, 6, true, Linear, false},
	}
	for _, k := range cases {
		for _, workers := range []int{1, 2} {
			c := newTestConv(t, rng, k.kh, k.kw, k.cin, k.cout, k.stride, k.mode, k.bias, k.act)
			if k.scale {
				c.Scale = randTensor(rng, k.cout).Data
				c.Shift = randTensor(rng, k.cout).Data
			}
			x := randTensor(rng, k.n, k.h, k.w, k.cin)
			checkGradients(t, gradCase{
				name:    fmt.Sprintf("conv %d×%d %d→%d s%d mode %d act %d workers %d", k.kh, k.kw, k.cin, k.cout, k.stride, k.mode, k.act, workers),
				inputs:  []*tensor.Tensor{x},
				params:  c.Params("conv."),
				build:   func(g *Graph, xs []*Var) *Var { return g.Conv2D(xs[0], c) },
				workers: workers,
			})
		}
	}
}

// TestConv2DGraphForward checks that the graph's batch-split forward gives
// the layer's Forward result exactly.
func TestConv2DGraphForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := newTestConv(t, rng, 3, 3, 8, 12, 2, Same, true, ReLU)
	x := randTensor(rng, 5, 11, 9, 8)
	want := c.Forward(nil, x)
	g := NewGraph(nil)
	g.Workers = 2
	got := g.Conv2D(g.Input(x, false), c)
	if d := tensor.MaxAbsDiff(got.Value.Data, want.Data); d != 0 {
		t.Fatalf("graph conv differs from Forward by %g", d)
	}
}

func TestDenseGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, act := range []Activation{Linear, ReLU, Leaky} {
		d, err := NewDense(randTensor(rng, 7, 5), randTensor(rng, 5).Data)
		if err != nil {
			t.Fatal(err)
		}
		d.Act = act
		checkGradients(t, gradCase{
			name:   fmt.Sprintf("dense act %d", act),
			inputs: []*tensor.Tensor{randTensor(rng, 3, 7)},
			params: d.Params("fc."),
			build:  func(g *Graph, xs []*Var) *Var { return g.Dense(xs[0], d) },
		})
	}
}

func TestPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	wins := []Window{
		{KH: 2, KW: 2, Stride: 2, Mode: Valid},
		{KH: 2, KW: 2, Stride: 2, Mode: Same},
		{KH: 3, KW: 3, Stride: 2, Mode: Same},
		{KH: 3, KW: 3, Stride: 1, Mode: Same},
		{KH: 3, KW: 2, Stride: 1, Mode: Valid},
	}
	for _, win := range wins {
		x := randTensor(rng, 2, 7, 5, 3)
		checkGradients(t, gradCase{
			name:   fmt.Sprintf("max pool %+v", win),
			inputs: []*tensor.Tensor{x},
			build:  func(g *Graph, xs []*Var) *Var { return g.MaxPool(xs[0], win) },
			eps:    1e-3,
		})
		checkGradients(t, gradCase{
			name:   fmt.Sprintf("avg pool %+v", win),
			inputs: []*tensor.Tensor{x},
			build:  func(g *Graph, xs []*Var) *Var { return g.AvgPool(xs[0], win) },
		})
	}
	checkGradients(t, gradCase{
		name:   "global avg pool",
		inputs: []*tensor.Tensor{randTensor(rng, 3, 5, 3, 4)},
		build:  func(g *Graph, xs []*Var) *Var { return g.GlobalAvgPool(xs[0]) },
	})
}

func TestElementwiseGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	alpha := NewParam("alpha", randTensor(rng, 4))
	cases := []gradCase{
		{name: "add", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4), randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.Add(xs[0], xs[1]) }},
		{name: "add to itself", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.Add(xs[0], xs[0]) }},
		{name: "relu", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.ReLU(xs[0]) }},
		{name: "leaky relu", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.LeakyReLU(xs[0], 0.2) }},
		{name: "prelu", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 3, 4)}, params: []*Param{alpha},
			build: func(g *Graph, xs []*Var) *Var { return g.PReLU(xs[0], alpha) }},
		{name: "l2 normalize", inputs: []*tensor.Tensor{randTensor(rng, 3, 6)},
			build: func(g *Graph, xs []*Var) *Var { return g.L2Normalize(xs[0]) }},
		{name: "concat", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 2, 4), randTensor(rng, 2, 3, 2, 1)},
			build: func(g *Graph, xs []*Var) *Var { return g.Concat(xs[0], xs[1]) }},
		{name: "flatten", inputs: []*tensor.Tensor{randTensor(rng, 2, 3, 2, 4)},
			build: func(g *Graph, xs []*Var) *Var { return g.L2Normalize(g.Flatten(xs[0])) }},
		{name: "sum", inputs: []*tensor.Tensor{randTensor(rng, 2, 5)},
			build: func(g *Graph, xs []*Var) *Var { return g.Sum(g.L2Normalize(xs[0])) }},
	}
	for _, tc := range cases {
		checkGradients(t, tc)
	}
}

func TestBatchNormGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, shape := range [][]int{{2, 5, 3, 4}, {6, 4}} {
		for _, training := range []bool{true, false} {
			bn, err := NewBatchNorm(4)
			if err != nil {
				t.Fatal(err)
			}
			copy(bn.Gamma.Value.Data, randTensor(rng, 4).Data)
			copy(bn.Beta.Value.Data, randTensor(rng, 4).Data)
			copy(bn.RunningMean.Value.Data, randTensor(rng, 4).Data)
			x := randTensor(rng, shape...)
			for i := range x.Data {
				x.Data[i] = 2*x.Data[i] + 1 // a mean and variance to remove
			}
			checkGradients(t, gradCase{
				name:   fmt.Sprintf("batch norm %v training %v", shape, training),
				inputs: []*tensor.Tensor{x},
				params: bn.Params("bn."),
				build:  func(g *Graph, xs []*Var) *Var { return g.BatchNorm(xs[0], bn, training) },
			})
		}
	}
}

// tinyNet is a small residual embedding network used by the end-to-end
// gradient test and the benchmark.
type tinyNet struct {
	stem   *Conv2D
	bn     *BatchNorm
	alpha  *Param
	block1 *Conv2D
	bn1    *BatchNorm
	block2 *Conv2D
	fc     *Dense
}

func newTinyNet(t testing.TB, rng *rand.Rand, cin, width, embed int) *tinyNet {
	mk := func(kh, kw, ci, co, stride int) *Conv2D {
		w := randTensor(rng, kh, kw, ci, co)
		s := float32(math.Sqrt(2 / float64(kh*kw*ci)))
		for i := range w.Data {
			w.Data[i] *= s
		}
		c, err := NewConv2D(w, stride, Same)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bn, _ := NewBatchNorm(width)
	bn1, _ := NewBatchNorm(width)
	alpha := tensor.New(width)
	for i := range alpha.Data {
		alpha.Data[i] = 0.25
	}
	fc, err := NewDense(randTensor(rng, width, embed), make([]float32, embed))
	if err != nil {
		t.Fatal(err)
	}
	for i := range fc.W.Data {
		fc.W.Data[i] *= float32(1 / math.Sqrt(float64(width)))
	}
	net := &tinyNet{
		stem: mk(3, 3, cin, width, 2), bn: bn, alpha: NewParam("alpha", alpha),
		block1: mk(3, 3, width, width, 1), bn1: bn1,
		block2: mk(3, 3, width, width, 1), fc: fc,
	}
	net.block2.Bias = make([]float32, width)
	return net
}

func (n *tinyNet) params() []*Param {
	var ps []*Param
	ps = append(ps, n.stem.Params("stem.")...)
	ps = append(ps, n.bn.Params("bn.")...)
	ps = append(ps, n.alpha)
	ps = append(ps, n.block1.Params("block1.")...)
	ps = append(ps, n.bn1.Params("bn1.")...)
	ps = append(ps, n.block2.Params("block2.")...)
	ps = append(ps, n.fc.Params("fc.")...)
	return ps
}

// forward computes L2-normalised embeddings: stem conv (stride 2) → batch
// norm → PReLU → max pool → residual block (conv → BN → ReLU → conv, added
// to its input) → global average pool → dense → L2 normalisation.
func (n *tinyNet) forward(g *Graph, x *Var) *Var {
	h := g.PReLU(g.BatchNorm(g.Conv2D(x, n.stem), n.bn, true), n.alpha)
	h = g.MaxPool(h, Window{KH: 2, KW: 2, Stride: 2, Mode: Same})
	r := g.ReLU(g.BatchNorm(g.Conv2D(h, n.block1), n.bn1, true))
	h = g.ReLU(g.Add(h, g.Conv2D(r, n.block2)))
	return g.L2Normalize(g.Dense(g.Flatten(g.GlobalAvgPool(h)), n.fc))
}

func TestNetworkGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	net := newTinyNet(t, rng, 3, 8, 5)
	checkGradients(t, gradCase{
		name:   "tiny residual net",
		inputs: []*tensor.Tensor{randTensor(rng, 3, 9, 9, 3)},
		params: net.params(),
		build:  func(g *Graph, xs []*Var) *Var { return net.forward(g, xs[0]) },
	})
}

// TestBackwardScalar checks Backward from a scalar loss against
// BackwardFrom with a seed of ones on the summed values.
func TestBackwardScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	d, _ := NewDense(randTensor(rng, 4, 3), nil)
	x := randTensor(rng, 2, 4)
	g := NewGraph(nil)
	xv := g.Input(x, true)
	if err := g.Backward(g.Sum(g.Dense(xv, d))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 4; j++ {
			want := d.W.Data[j*3] + d.W.Data[j*3+1] + d.W.Data[j*3+2]
			if got := xv.Grad.Data[i*4+j]; math.Abs(float64(got-want)) > 1e-5 {
				t.Fatalf("dL/dx[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	if err := g.Backward(g.Sum(xv)); err == nil {
		t.Fatal("a second Backward on one pass succeeded")
	}
}

func TestGraphErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	c := newTestConv(t, rng, 3, 3, 4, 5, 1, Same, false, Linear)
	d, _ := NewDense(randTensor(rng, 6, 2), nil)
	bn, _ := NewBatchNorm(3)
	bad := []struct {
		name  string
		build func(g *Graph) *Var
	}{
		{"conv channels", func(g *Graph) *Var { return g.Conv2D(g.Input(tensor.New(1, 5, 5, 3), true), c) }},
		{"conv rank", func(g *Graph) *Var { return g.Conv2D(g.Input(tensor.New(5, 4), true), c) }},
		{"conv empty", func(g *Graph) *Var {
			return g.Conv2D(g.Input(tensor.New(1, 1, 1, 4), true), newTestConv(t, rng, 3, 3, 4, 5, 1, Valid, false, Linear))
		}},
		{"dense", func(g *Graph) *Var { return g.Dense(g.Input(tensor.New(2, 5), true), d) }},
		{"add", func(g *Graph) *Var { return g.Add(g.Input(tensor.New(2, 5), true), g.Input(tensor.New(5, 2), true)) }},
		{"batch norm", func(g *Graph) *Var { return g.BatchNorm(g.Input(tensor.New(2, 4), true), bn, true) }},
		{"batch norm of one", func(g *Graph) *Var { return g.BatchNorm(g.Input(tensor.New(1, 3), true), bn, true) }},
		{"prelu", func(g *Graph) *Var { return g.PReLU(g.Input(tensor.New(2, 4), true), NewParam("a", tensor.New(3))) }},
		{"pool", func(g *Graph) *Var {
			return g.MaxPool(g.Input(tensor.New(2, 4), true), Window{KH: 2, KW: 2, Stride: 2})
		}},
		{"pool window", func(g *Graph) *Var {
			return g.AvgPool(g.Input(tensor.New(1, 4, 4, 1), true), Window{KH: 0, KW: 2, Stride: 2})
		}},
		{"reshape", func(g *Graph) *Var { return g.Reshape(g.Input(tensor.New(2, 4), true), 3, 3) }},
		{"concat", func(g *Graph) *Var {
			return g.Concat(g.Input(tensor.New(1, 2, 2, 1), true), g.Input(tensor.New(1, 3, 2, 1), true))
		}},
		{"nil input", func(g *Graph) *Var { return g.ReLU(g.Input(nil, true)) }},
	}
	for _, b := range bad {
		g := NewGraph(nil)
		// Ops after the failing one must not panic either.
		y := g.GlobalAvgPool(g.ReLU(b.build(g)))
		if g.Err() == nil {
			t.Errorf("%s: no error", b.name)
			continue
		}
		if err := g.Backward(y); err == nil {
			t.Errorf("%s: Backward after an error succeeded", b.name)
		}
	}
	g := NewGraph(nil)
	y := g.Input(tensor.New(2, 3), true)
	if err := g.Backward(y); err == nil {
		t.Error("Backward from a non-scalar succeeded")
	}
	if err := g.BackwardFrom(y, tensor.New(3, 2)); err == nil {
		t.Error("BackwardFrom with a seed of the wrong shape succeeded")
	}
}

// TestGraphReuse runs two steps on one graph and arena: the second step's
// gradients must equal the first's (Reset must not leak state).
func TestGraphReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	net := newTinyNet(t, rng, 3, 8, 4)
	x := randTensor(rng, 2, 12, 12, 3)
	seed := randTensor(rng, 2, 4)
	g := NewGraph(new(tensor.Arena))
	var grads [2][]float32
	for step := range 2 {
		g.Reset()
		ZeroGrads(net.params())
		xv := g.Input(x, true)
		if err := g.BackwardFrom(net.forward(g, xv), seed); err != nil {
			t.Fatal(err)
		}
		grads[step] = append(append([]float32(nil), xv.Grad.Data...), net.stem.Params("stem.")[0].Grad.Data...)
	}
	if d := tensor.MaxAbsDiff(grads[0], grads[1]); d > 1e-5 {
		t.Fatalf("gradients of two identical steps differ by %g", d)
	}
}

func TestBatchNormFold(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	c := newTestConv(t, rng, 3, 3, 4, 6, 1, Same, true, Linear)
	bn, _ := NewBatchNorm(6)
	x := randTensor(rng, 2, 6, 6, 4)
	// Train-mode passes move the running statistics off their defaults.
	for range 5 {
		g := NewGraph(nil)
		g.BatchNorm(g.Conv2D(g.Input(x, false), c), bn, true)
	}
	copy(bn.Gamma.Value.Data, randTensor(rng, 6).Data)
	y, err := bn.Forward(nil, c.Forward(nil, x))
	if err != nil {
		t.Fatal(err)
	}
	Activate(y, ReLU)
	if err := bn.Fold(c, ReLU); err != nil {
		t.Fatal(err)
	}
	folded := c.Forward(nil, x)
	if d := tensor.MaxAbsDiff(folded.Data, y.Data); d > 1e-4 {
		t.Fatalf("folded conv differs from conv → batch norm → relu by %g", d)
	}
	if err := bn.Fold(c, ReLU); err == nil {
		t.Fatal("folding twice succeeded")
	}
	if _, err := bn.Forward(nil, tensor.New(2, 5)); err == nil {
		t.Fatal("batch norm of the wrong width succeeded")
	}
}
