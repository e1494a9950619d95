package nn

import (
	"math"
	"testing"
)

func TestSigmoidSoftplusStable(t *testing.T) {
	for _, z := range []float64{-1000, -40, -1, 0, 1, 40, 1000} {
		s, sp := Sigmoid(z), Softplus(z)
		if math.IsNaN(s) || math.IsInf(sp, 0) || math.IsNaN(sp) || s < 0 || s > 1 || sp < 0 {
			t.Errorf("z = %v: sigmoid %v softplus %v", z, s, sp)
		}
		// softplus(z) − softplus(−z) = z exactly in real arithmetic.
		if d := Softplus(z) - Softplus(-z); math.Abs(d-z) > 1e-9*math.Max(1, math.Abs(z)) {
			t.Errorf("softplus(%v) − softplus(%v) = %v", z, -z, d)
		}
	}
}
