package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/face"

	"github.com/facerec/facerec/nn"
)

// synthetic draws n feature vectors in [0, 1)^dim and labels them by a
// known logistic model with weights w and bias b. With noisy false the
// label is the model's decision (separable data); otherwise it is drawn
// from the model's probability (non-separable data).
func synthetic(rng *rand.Rand, n int, w []float64, b float64, noisy bool) ([][]float32, []bool) {
	x := make([][]float32, n)
	y := make([]bool, n)
	for i := range x {
		x[i] = make([]float32, len(w))
		z := b
		for k := range w {
			x[i][k] = float32(rng.Float64())
			z += w[k] * float64(x[i][k])
		}
		if noisy {
			y[i] = rng.Float64() < nn.Sigmoid(z)
		} else {
			y[i] = z > 0
		}
	}
	return x, y
}

// trueWeights returns weights resembling an |a−b| head: small differences
// mean "same", so the weights are mostly negative, with a positive bias.
func trueWeights(rng *rand.Rand, dim int) ([]float64, float64) {
	w := make([]float64, dim)
	sum := 0.0
	for k := range w {
		w[k] = -4 * rng.Float64()
		if k%5 == 0 {
			w[k] = 2 * rng.Float64()
		}
		sum += w[k]
	}
	// Put the decision boundary through the centre of the cube so both
	// classes are well represented.
	return w, -sum / 2
}

func headAccuracy(t *testing.T, h *face.LogisticHead, x [][]float32, y []bool) float64 {
	t.Helper()
	correct := 0
	for i := range x {
		p, err := h.Predict(x[i])
		if err != nil {
			t.Fatal(err)
		}
		if (p > 0.5) == y[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(x))
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for k := range a {
		ab += a[k] * b[k]
		aa += a[k] * a[k]
		bb += b[k] * b[k]
	}
	return ab / math.Sqrt(aa*bb)
}

func TestLogisticSeparable(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const dim = 128
	w, b := trueWeights(rng, dim)
	x, y := synthetic(rng, 4000, w, b, false)
	tx, ty := synthetic(rng, 2000, w, b, false)
	for _, std := range []bool{false, true} {
		h, err := TrainLogisticHead(x, y, LogisticOptions{Standardize: std})
		if err != nil {
			t.Fatal(err)
		}
		if acc := headAccuracy(t, h, tx, ty); acc < 0.95 {
			t.Errorf("standardize=%v: held-out accuracy %v < 0.95", std, acc)
		}
		if c := cosine(h.W, w); c < 0.9 {
			t.Errorf("standardize=%v: learnt weights have cosine %v with the true ones", std, c)
		}
		if !std {
			// Converged despite separable data: the L2 penalty keeps the
			// optimum finite and Newton reaches it.
			xs, ys := flatten(x, y)
			theta := append(append([]float64{}, h.W...), h.B)
			_, g := logisticObjective(theta, xs, ys, dim, 1e-4)
			if m := maxAbs(g); m > 1e-7 {
				t.Errorf("gradient at the result has max component %v", m)
			}
		}
	}
}

func TestLogisticNonSeparable(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const dim = 16
	w, b := trueWeights(rng, dim)
	x, y := synthetic(rng, 20000, w, b, true)
	h, err := TrainLogisticHead(x, y, LogisticOptions{L2: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	// With this much data the fit recovers the generating model.
	for k := range w {
		if math.Abs(h.W[k]-w[k]) > 0.5 {
			t.Errorf("W[%d] = %v, true %v", k, h.W[k], w[k])
		}
	}
	if math.Abs(h.B-b) > 0.7 {
		t.Errorf("B = %v, true %v", h.B, b)
	}
	// Training stopped at a stationary point of the objective.
	xs, ys := flatten(x, y)
	theta := append(append([]float64{}, h.W...), h.B)
	_, g := logisticObjective(theta, xs, ys, dim, 1e-6)
	if m := maxAbs(g); m > 1e-7 {
		t.Errorf("gradient at the result has max component %v", m)
	}
}

func flatten(x [][]float32, y []bool) ([]float64, []float64) {
	dim := len(x[0])
	xs := make([]float64, len(x)*dim)
	ys := make([]float64, len(y))
	for i := range x {
		for k, v := range x[i] {
			xs[i*dim+k] = float64(v)
		}
		if y[i] {
			ys[i] = 1
		}
	}
	return xs, ys
}

func TestLogisticGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const dim = 7
	w, b := trueWeights(rng, dim)
	x, y := synthetic(rng, 50, w, b, true)
	xs, ys := flatten(x, y)
	theta := make([]float64, dim+1)
	for k := range theta {
		theta[k] = rng.NormFloat64()
	}
	const l2 = 0.3
	_, grad := logisticObjective(theta, xs, ys, dim, l2)
	const h = 1e-6
	for k := range theta {
		plus := append([]float64{}, theta...)
		minus := append([]float64{}, theta...)
		plus[k] += h
		minus[k] -= h
		lp, _ := logisticObjective(plus, xs, ys, dim, l2)
		lm, _ := logisticObjective(minus, xs, ys, dim, l2)
		fd := (lp - lm) / (2 * h)
		if math.Abs(fd-grad[k]) > 1e-7*math.Max(1, math.Abs(fd)) {
			t.Errorf("d/dθ%d: analytic %v, finite difference %v", k, grad[k], fd)
		}
	}
}

func TestLogisticDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	w, b := trueWeights(rng, 8)
	x, y := synthetic(rng, 500, w, b, true)
	h1, err := TrainLogisticHead(x, y, LogisticOptions{Standardize: true})
	if err != nil {
		t.Fatal(err)
	}
	h2, err := TrainLogisticHead(x, y, LogisticOptions{Standardize: true})
	if err != nil {
		t.Fatal(err)
	}
	for k := range h1.W {
		if h1.W[k] != h2.W[k] {
			t.Fatalf("W[%d] differs between runs: %v vs %v", k, h1.W[k], h2.W[k])
		}
	}
	if h1.B != h2.B {
		t.Fatalf("B differs between runs")
	}
}

func TestLogisticErrors(t *testing.T) {
	x := [][]float32{{1, 2}, {3, 4}}
	for _, tc := range []struct {
		name string
		x    [][]float32
		y    []bool
		opts LogisticOptions
	}{
		{"length mismatch", x, []bool{true}, LogisticOptions{}},
		{"no data", nil, nil, LogisticOptions{}},
		{"one class", x, []bool{true, true}, LogisticOptions{}},
		{"ragged", [][]float32{{1, 2}, {3}}, []bool{true, false}, LogisticOptions{}},
		{"empty feature", [][]float32{{}, {}}, []bool{true, false}, LogisticOptions{}},
		{"NaN feature", [][]float32{{1, float32(math.NaN())}, {3, 4}}, []bool{true, false}, LogisticOptions{}},
		{"negative L2", x, []bool{true, false}, LogisticOptions{L2: -1}},
	} {
		if _, err := TrainLogisticHead(tc.x, tc.y, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestKFoldLogistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const dim = 32
	w, b := trueWeights(rng, dim)
	x, y := synthetic(rng, 3000, w, b, false)
	fold := make([]int, len(x))
	for i := range fold {
		fold[i] = i % 10
	}
	res, err := KFoldLogistic(x, y, fold, LogisticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Folds) != 10 || res.MeanAccuracy < 0.95 {
		t.Errorf("%d folds, mean accuracy %v", len(res.Folds), res.MeanAccuracy)
	}
	if !math.IsNaN(res.MeanThreshold) {
		t.Errorf("mean threshold %v, want NaN for a logistic rule", res.MeanThreshold)
	}

	// Removing the features of every pair in fold 0 turns the whole fold
	// into errors without disturbing the other folds.
	for i := range x {
		if fold[i] == 0 {
			x[i] = nil
		}
	}
	res2, err := KFoldLogistic(x, y, fold, LogisticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Folds[0].Accuracy != 0 {
		t.Errorf("fold of no-face pairs has accuracy %v, want 0", res2.Folds[0].Accuracy)
	}
	if res2.Folds[1].Accuracy < 0.9 {
		t.Errorf("fold 1 accuracy %v after removing fold 0's features", res2.Folds[1].Accuracy)
	}

	if _, err := KFoldLogistic(x[:5], y, fold, LogisticOptions{}); err == nil {
		t.Error("length mismatch: no error")
	}
	x[1] = x[1][:3]
	if _, err := KFoldLogistic(x, y, fold, LogisticOptions{}); err == nil {
		t.Error("ragged features: no error")
	}
}
