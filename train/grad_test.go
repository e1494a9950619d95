package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// randEmbeddings returns b random rows of dimension d, each scaled to unit
// length when unit is set.
func randEmbeddings(rng *rand.Rand, b, d int, unit bool) *tensor.Tensor {
	e := tensor.New(b, d)
	for i := range e.Data {
		e.Data[i] = float32(rng.NormFloat64())
	}
	if unit {
		// The normalisation the networks end with.
		g := nn.NewInferenceGraph(nil)
		return g.L2Normalize(g.Input(e, false)).Value
	}
	return e
}

// checkGrad compares the analytic gradient g of f at e with central finite
// differences. The loss is evaluated in float64; the step is taken on the
// float32 input, and the step actually represented is used as the divisor
// so that float32 rounding of x±h does not bias the estimate.
func checkGrad(t *testing.T, name string, e *tensor.Tensor, g []float32, f func(*tensor.Tensor) float64) {
	t.Helper()
	const h = 1e-3
	if len(g) != len(e.Data) {
		t.Fatalf("%s: gradient has %d values, want %d", name, len(g), len(e.Data))
	}
	var maxErr, maxG float64
	for i := range e.Data {
		x := e.Data[i]
		up, down := x+h, x-h
		e.Data[i] = up
		fu := f(e)
		e.Data[i] = down
		fd := f(e)
		e.Data[i] = x
		num := (fu - fd) / (float64(up) - float64(down))
		if err := math.Abs(num - float64(g[i])); err > maxErr {
			maxErr = err
		}
		maxG = math.Max(maxG, math.Abs(num))
	}
	if maxG == 0 {
		t.Fatalf("%s: numeric gradient is identically zero; the test checks nothing", name)
	}
	if maxErr > 1e-3*math.Max(1, maxG) {
		t.Errorf("%s: max |analytic − numeric| = %.3g (max |grad| %.3g)", name, maxErr, maxG)
	}
}

// gradLabels has 4 classes × 2 samples plus one singleton, so every loss
// sees positives, negatives and an anchor without a positive.
var gradLabels = []int{0, 0, 1, 1, 2, 2, 3, 3, 4}

func TestTripletLossGrad(t *testing.T) {
	for _, m := range []Mining{BatchAll, BatchHard, SemiHard, RandomTriplets} {
		for _, red := range []Reduction{MeanAll, MeanActive} {
			rng := rand.New(rand.NewPCG(3, uint64(m)))
			e := randEmbeddings(rng, len(gradLabels), 4, true)
			cfg := TripletConfig{Margin: 0.8, Mining: m, Reduction: red, SemiHardFallback: m == SemiHard && red == MeanAll}
			seed := uint64(7)
			run := func(e *tensor.Tensor) (float64, *tensor.Tensor, TripletStats) {
				if m == RandomTriplets {
					// The same seed each time, so that the finite
					// differences see the same triplets.
					cfg.Rand = rand.New(rand.NewPCG(seed, 0))
				}
				l, g, st, err := TripletLoss(e, gradLabels, cfg)
				if err != nil {
					t.Fatal(err)
				}
				return l, g, st
			}
			_, g, st := run(e)
			if st.Active == 0 {
				t.Fatalf("%v: no active triplet, the gradient test would be empty", m)
			}
			checkGrad(t, m.String(), e, g.Data, func(e *tensor.Tensor) float64 { l, _, _ := run(e); return l })
		}
	}
	for _, eu := range []bool{false, true} {
		for _, m := range []Mining{BatchAll, BatchHard} {
			rng := rand.New(rand.NewPCG(5, uint64(m)))
			e := randEmbeddings(rng, len(gradLabels), 4, !eu) // Euclidean runs on free embeddings too
			cfg := TripletConfig{Margin: 0.2, Mining: m, Soft: true, Euclidean: eu}
			f := func(e *tensor.Tensor) float64 {
				l, _, _, err := TripletLoss(e, gradLabels, cfg)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			_, g, _, _ := TripletLoss(e, gradLabels, cfg)
			checkGrad(t, fmt.Sprintf("soft %v euclidean=%v", m, eu), e, g.Data, f)
		}
	}
	for _, m := range []Mining{BatchAll, BatchHard, SemiHard} {
		// A seed whose semi-hard negatives lie away from the window's edges:
		// a finite difference across an edge measures the jump, not the slope.
		rng := rand.New(rand.NewPCG(11, uint64(m)))
		e := randEmbeddings(rng, len(gradLabels), 4, true)
		cfg := TripletConfig{Margin: 0.5, Mining: m, Euclidean: true, SemiHardFallback: true}
		f := func(e *tensor.Tensor) float64 {
			l, _, _, err := TripletLoss(e, gradLabels, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		_, g, st, _ := TripletLoss(e, gradLabels, cfg)
		if st.Active == 0 {
			t.Fatalf("euclidean %v: no active triplet", m)
		}
		checkGrad(t, "euclidean "+m.String(), e, g.Data, f)
	}
}
