package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestPReLUInPlace checks that the in-place op gives PReLU's values bit for
// bit, writes over its input in an inference graph only, and in a recording
// graph is PReLU, gradients included.
func TestPReLUInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	x := tensor.New(2, 3, 5, 7)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	// Both zeros, whose signs after the slope must be PReLU's.
	x.Data[0], x.Data[1] = 0, float32(math.Copysign(0, -1))
	x.Data[7], x.Data[8] = 0, float32(math.Copysign(0, -1))
	alpha := &Param{Name: "a", Value: tensor.New(7)}
	for i := range alpha.Value.Data {
		alpha.Value.Data[i] = float32(rng.NormFloat64())
	}
	alpha.Value.Data[0], alpha.Value.Data[1] = -0.5, 0.25 // zero times each sign
	want := NewInferenceGraph(nil).PReLU(&Var{Value: x}, alpha).Value

	ig := NewInferenceGraph(nil)
	in := x.Clone()
	got := ig.PReLUInPlace(ig.Input(in, false), alpha)
	if err := ig.Err(); err != nil {
		t.Fatal(err)
	}
	if &got.Value.Data[0] != &in.Data[0] {
		t.Error("the inference graph made a new buffer")
	}
	for i := range want.Data {
		if math.Float32bits(got.Value.Data[i]) != math.Float32bits(want.Data[i]) {
			t.Fatalf("value %d: %g, PReLU %g", i, got.Value.Data[i], want.Data[i])
		}
	}

	// Recording: PReLU itself, so the input is kept and the gradients are
	// PReLU's (checked by finite differences in graph_test.go).
	g1, g2 := NewGraph(nil), NewGraph(nil)
	a1, a2 := NewParam("a", alpha.Value.Clone()), NewParam("a", alpha.Value.Clone())
	x1, x2 := g1.Input(x.Clone(), true), g2.Input(x.Clone(), true)
	if err := g1.Backward(g1.Sum(g1.PReLU(x1, a1))); err != nil {
		t.Fatal(err)
	}
	y2 := g2.PReLUInPlace(x2, a2)
	if &y2.Value.Data[0] == &x2.Value.Data[0] {
		t.Error("a recording graph wrote over its input")
	}
	if err := g2.Backward(g2.Sum(y2)); err != nil {
		t.Fatal(err)
	}
	for i := range x1.Grad.Data {
		if x1.Grad.Data[i] != x2.Grad.Data[i] {
			t.Fatalf("dx[%d]: %g, PReLU %g", i, x2.Grad.Data[i], x1.Grad.Data[i])
		}
	}
	for i := range a1.Grad.Data {
		if a1.Grad.Data[i] != a2.Grad.Data[i] {
			t.Fatalf("dalpha[%d]: %g, PReLU %g", i, a2.Grad.Data[i], a1.Grad.Data[i])
		}
	}

	bad := NewInferenceGraph(nil)
	bad.PReLUInPlace(bad.Input(tensor.New(2, 3), false), alpha)
	if bad.Err() == nil {
		t.Error("slopes for 7 channels on 3: no error")
	}
}

// TestPReLUKernel checks the assembly kernel against the Go loop bit for
// bit (subnormals flushed) on channel counts it takes (multiples of 8),
// signed zeros, NaNs of both signs and infinities included.
func TestPReLUKernel(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernel on this machine or build")
	}
	rng := rand.New(rand.NewPCG(8, 1))
	for _, c := range []int{8, 64, 520} {
		x := make([]float32, 5*c)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), -float32(math.NaN()),
			float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32}
		copy(x[3:], special)
		a := make([]float32, c)
		for j := range a {
			a[j] = float32(rng.NormFloat64())
		}
		a[3], a[4] = -0.5, 0.25
		want := append([]float32(nil), x...)
		preluRows(want, a)
		prelu8(&x[0], &a[0], len(x)/c, c)
		for i := range want {
			if !sameOrFlushed(x[i], want[i]) {
				t.Fatalf("c=%d value %d: kernel %g (%#x), Go %g (%#x)", c, i, x[i], math.Float32bits(x[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}
