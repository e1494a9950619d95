package optim

import (
	"math"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// quadratic is f(p) = Σ a_i·(p_i − c_i)², minimised at c.
type quadratic struct{ a, c []float32 }

func (q quadratic) grad(p *nn.Param) {
	for i, v := range p.Value.Data {
		p.Grad.Data[i] = 2 * q.a[i] * (v - q.c[i])
	}
}

func minimise(t *testing.T, o Optimizer, steps int) *nn.Param {
	t.Helper()
	q := quadratic{a: []float32{1, 3, 0.5, 2}, c: []float32{1, -2, 0.5, 3}}
	// A rank-1 parameter, so weight decay does not apply.
	p := nn.NewParam("p", tensor.From([]float32{-3, 4, 2, 0}, 4))
	for range steps {
		p.ZeroGrad()
		q.grad(p)
		if err := o.Step([]*nn.Param{p}); err != nil {
			t.Fatal(err)
		}
	}
	if d := tensor.MaxAbsDiff(p.Value.Data, q.c); d > 1e-3 {
		t.Errorf("%T ended at %v, %g from the minimum %v", o, p.Value.Data, d, q.c)
	}
	return p
}

func TestMinimiseQuadratic(t *testing.T) {
	minimise(t, NewSGD(Constant(0.05), 0), 500)
	minimise(t, NewSGD(Constant(0.02), 0.9), 500)
	nesterov := NewSGD(Constant(0.02), 0.9)
	nesterov.Nesterov = true
	minimise(t, nesterov, 500)
	minimise(t, NewAdam(Cosine{Base: 0.1, Min: 1e-4, Total: 2000, Warmup: 10}), 2000)
	minimise(t, NewAdamW(StepDecay{Base: 0.1, Gamma: 0.5, Every: 500}, 0.01), 2000)
}

// TestSGDByHand checks two steps of momentum SGD on a constant gradient:
// v1 = 1, p1 = −0.1; v2 = 0.9 + 1 = 1.9, p2 = −0.1 − 0.19 = −0.29.
// Nesterov: p1 = −0.1·(1 + 0.9) = −0.19, p2 = −0.19 − 0.1·(1 + 0.9·1.9) = −0.461.
func TestSGDByHand(t *testing.T) {
	for _, c := range []struct {
		nesterov bool
		want     [2]float32
	}{{false, [2]float32{-0.1, -0.29}}, {true, [2]float32{-0.19, -0.461}}} {
		o := NewSGD(Constant(0.1), 0.9)
		o.Nesterov = c.nesterov
		p := nn.NewParam("p", tensor.New(1))
		for i := range 2 {
			p.Grad.Data[0] = 1
			if err := o.Step([]*nn.Param{p}); err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(p.Value.Data[0]-c.want[i])) > 1e-6 {
				t.Errorf("nesterov %v step %d: p = %v, want %v", c.nesterov, i+1, p.Value.Data[0], c.want[i])
			}
		}
	}
}

// TestAdamFirstStep checks the bias correction: the first update of every
// coordinate is lr·g/(|g| + eps), about lr·sign(g), whatever |g|.
func TestAdamFirstStep(t *testing.T) {
	o := NewAdam(Constant(0.01))
	p := nn.NewParam("p", tensor.New(3))
	copy(p.Grad.Data, []float32{1e-3, -5, 200})
	if err := o.Step([]*nn.Param{p}); err != nil {
		t.Fatal(err)
	}
	want := []float32{-0.01, 0.01, -0.01}
	if d := tensor.MaxAbsDiff(p.Value.Data, want); d > 1e-6 {
		t.Fatalf("first Adam step gave %v, want %v", p.Value.Data, want)
	}
}

// TestWeightDecay checks AdamW's decoupled decay with a zero gradient
// (p·(1 − lr·wd) per step), L2 decay in SGD (p·(1 − lr·wd) as well), and
// that rank-1 parameters are not decayed.
func TestWeightDecay(t *testing.T) {
	const lr, wd, steps = 0.1, 0.5, 3
	want := float32(math.Pow(1-lr*wd, steps))
	sgd := NewSGD(Constant(lr), 0)
	sgd.WeightDecay = wd
	for _, o := range []Optimizer{NewAdamW(Constant(lr), wd), sgd} {
		w := nn.NewParam("w", tensor.From([]float32{1, 1}, 1, 2))
		b := nn.NewParam("b", tensor.From([]float32{1}, 1))
		for range steps {
			if err := o.Step([]*nn.Param{w, b}); err != nil {
				t.Fatal(err)
			}
		}
		if math.Abs(float64(w.Value.Data[0]-want)) > 1e-6 || b.Value.Data[0] != 1 {
			t.Errorf("%T: weight %v (want %v), bias %v (want 1)", o, w.Value.Data[0], want, b.Value.Data[0])
		}
		if o.Steps() != steps {
			t.Errorf("%T: Steps() = %d, want %d", o, o.Steps(), steps)
		}
	}
}

func TestSchedules(t *testing.T) {
	step := StepDecay{Base: 0.1, Gamma: 0.1, Every: 10, Warmup: 5}
	cos := Cosine{Base: 1, Min: 0.1, Total: 105, Warmup: 5}
	cases := []struct {
		s    Schedule
		step int
		want float64
	}{
		{Constant(0.3), 1000, 0.3},
		{step, 0, 0.02}, // warm-up: 0.1·1/5
		{step, 4, 0.1},  // the end of the warm-up
		{step, 5, 0.1},
		{step, 14, 0.1},
		{step, 15, 0.01},
		{step, 35, 1e-4},
		{StepDecay{Base: 0.5, Gamma: 0.1}, 100, 0.5}, // no decay
		{cos, 0, 0.2},
		{cos, 5, 1},
		{cos, 55, 0.55}, // half way: (1 + 0.1)/2
		{cos, 30, 0.1 + 0.9*(1+math.Cos(math.Pi/4))/2},
		{cos, 105, 0.1},
		{cos, 500, 0.1},
	}
	for _, c := range cases {
		if got := c.s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v at step %d: %v, want %v", c.s, c.step, got, c.want)
		}
	}
}

// TestStateRoundTrip restores an optimizer's state into a new one, which
// must then take exactly the same steps as the original.
func TestStateRoundTrip(t *testing.T) {
	for _, mk := range []func() Optimizer{
		func() Optimizer { return NewAdamW(Constant(0.05), 0.1) },
		func() Optimizer { return NewSGD(Constant(0.05), 0.9) },
	} {
		q := quadratic{a: []float32{1, 2}, c: []float32{3, -1}}
		a := mk()
		p := nn.NewParam("w", tensor.From([]float32{0, 0}, 1, 2))
		for range 5 {
			q.grad(p)
			if err := a.Step([]*nn.Param{p}); err != nil {
				t.Fatal(err)
			}
		}
		b := mk()
		if err := b.SetState(a.Steps(), a.State()); err != nil {
			t.Fatal(err)
		}
		p2 := nn.NewParam("w", p.Value.Clone())
		for range 5 {
			q.grad(p)
			q.grad(p2)
			if err := a.Step([]*nn.Param{p}); err != nil {
				t.Fatal(err)
			}
			if err := b.Step([]*nn.Param{p2}); err != nil {
				t.Fatal(err)
			}
		}
		if d := tensor.MaxAbsDiff(p.Value.Data, p2.Value.Data); d != 0 || b.Steps() != 10 {
			t.Errorf("%T: restored run differs by %g after %d steps", a, d, b.Steps())
		}
	}
}

func TestOptimizerErrors(t *testing.T) {
	p := nn.NewParam("p", tensor.New(2))
	q := nn.NewParam("p", tensor.New(2))
	if err := NewAdam(Constant(0.1)).Step([]*nn.Param{p, q}); err == nil {
		t.Error("Adam accepted two parameters with one name")
	}
	if err := (&SGD{}).Step([]*nn.Param{p}); err == nil {
		t.Error("SGD without a learning rate succeeded")
	}
	a := NewAdam(Constant(0.1))
	if err := a.SetState(1, map[string]*tensor.Tensor{"p.m": tensor.New(3), "p.v": tensor.New(3)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Step([]*nn.Param{p}); err == nil {
		t.Error("Adam accepted a state of the wrong size")
	}
	if err := a.SetState(1, map[string]*tensor.Tensor{"p.velocity": tensor.New(2)}); err == nil {
		t.Error("Adam accepted SGD's state")
	}
	bad := NewAdam(Constant(0.1))
	bad.Beta1 = 1
	if err := bad.Step([]*nn.Param{p}); err == nil {
		t.Error("Adam with Beta1 = 1 succeeded")
	}
}
