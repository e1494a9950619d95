package optim

import (
	"math"
	"testing"
)

// rosenbrock is f(a, b) = (1 − a)² + 100(b − a²)², minimum 0 at (1, 1).
func rosenbrock(x, g []float32) (float64, error) {
	a, b := float64(x[0]), float64(x[1])
	g[0] = float32(-2*(1-a) - 400*a*(b-a*a))
	g[1] = float32(200 * (b - a*a))
	return (1-a)*(1-a) + 100*(b-a*a)*(b-a*a), nil
}

func TestLBFGSRosenbrock(t *testing.T) {
	o := NewLBFGS(5, 0, 0)
	x := []float32{-1.2, 1}
	var fx float64
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		fx, err = o.Step(x, rosenbrock)
		if fx < 1e-10 {
			break
		}
	}
	if err != nil && err != ErrNoProgress {
		t.Fatal(err)
	}
	if math.Abs(float64(x[0])-1) > 1e-3 || math.Abs(float64(x[1])-1) > 1e-3 {
		t.Errorf("minimum at %v (f %.3g) after %d steps, want (1, 1)", x, fx, o.Steps())
	}
	t.Logf("%d steps, %d evaluations, f %.3g", o.Steps(), o.Evals(), fx)
}

// TestLBFGSBox: a quadratic whose minimum lies outside the box ends on its
// projection, with every iterate inside.
func TestLBFGSBox(t *testing.T) {
	centre := []float32{-0.5, 0.3, 1.7, 0.9}
	f := func(x, g []float32) (float64, error) {
		s := 0.0
		for i := range x {
			d := float64(x[i] - centre[i])
			w := float64(i + 1)
			s += w * d * d
			g[i] = float32(2 * w * d)
		}
		return s, nil
	}
	o := NewLBFGS(0, 0, 1)
	x := []float32{0.5, 0.5, 0.5, 0.5}
	for i := 0; i < 50; i++ {
		if _, err := o.Step(x, f); err != nil {
			if err == ErrNoProgress {
				break
			}
			t.Fatal(err)
		}
		for _, v := range x {
			if v < 0 || v > 1 {
				t.Fatalf("iterate %v leaves [0, 1]", x)
			}
		}
	}
	want := []float32{0, 0.3, 1, 0.9}
	for i := range x {
		if math.Abs(float64(x[i]-want[i])) > 1e-4 {
			t.Errorf("x = %v, want %v", x, want)
			break
		}
	}
}
