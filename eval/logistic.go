package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/nn"
)

// LogisticOptions configures [TrainLogisticHead]. The zero value is usable.
type LogisticOptions struct {
	// L2 is the weight of the penalty (L2/2)·‖W‖² added to the mean log
	// loss; the bias is not penalised. Zero selects 1e-4. It must not be
	// negative. A positive penalty keeps the optimum finite, which is what
	// makes training converge on linearly separable data.
	L2 float64
	// Standardize trains on features scaled to zero mean and unit variance,
	// which helps when feature scales differ widely. The learnt weights are
	// mapped back, so the head always takes raw features; note that the
	// penalty then applies to the standardised weights.
	Standardize bool
	// MaxIter bounds the Newton iterations; zero selects 100.
	MaxIter int
	// Tol stops training once the largest gradient component is below it;
	// zero selects 1e-9.
	Tol float64
}

// TrainLogisticHead fits a logistic regression head by minimising the mean
// log loss plus an L2 penalty with Newton's method and a backtracking line
// search. The objective is strictly convex, so the result is the unique
// optimum and does not depend on any random state. Both classes must be
// present and all features must have the same, non-zero length.
func TrainLogisticHead(features [][]float32, same []bool, opts LogisticOptions) (*face.LogisticHead, error) {
	if len(features) != len(same) {
		return nil, fmt.Errorf("train logistic head: %d features but %d labels", len(features), len(same))
	}
	return trainLogistic(features, same, nil, opts)
}

// trainLogistic fits on the rows listed in idx, or on all rows when idx is
// nil.
func trainLogistic(features [][]float32, same []bool, idx []int, opts LogisticOptions) (*face.LogisticHead, error) {
	if idx == nil {
		idx = make([]int, len(features))
		for i := range idx {
			idx[i] = i
		}
	}
	if len(idx) == 0 {
		return nil, errors.New("train logistic head: no training pairs")
	}
	if opts.L2 < 0 || math.IsNaN(opts.L2) || math.IsInf(opts.L2, 0) {
		return nil, fmt.Errorf("train logistic head: invalid L2 %v", opts.L2)
	}
	if opts.L2 == 0 {
		opts.L2 = 1e-4
	}
	if opts.MaxIter <= 0 {
		opts.MaxIter = 100
	}
	if opts.Tol <= 0 {
		opts.Tol = 1e-9
	}
	dim := len(features[idx[0]])
	if dim == 0 {
		return nil, errors.New("train logistic head: empty feature vector")
	}
	n := len(idx)
	x := make([]float64, n*dim)
	y := make([]float64, n)
	nSame := 0
	for r, i := range idx {
		f := features[i]
		if len(f) != dim {
			return nil, fmt.Errorf("train logistic head: feature %d has length %d, want %d", i, len(f), dim)
		}
		for k, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("train logistic head: feature %d is not finite", i)
			}
			x[r*dim+k] = float64(v)
		}
		if same[i] {
			y[r] = 1
			nSame++
		}
	}
	if nSame == 0 || nSame == n {
		return nil, fmt.Errorf("train logistic head: need both classes, have %d matched and %d mismatched", nSame, n-nSame)
	}

	mean := make([]float64, dim)
	scale := make([]float64, dim)
	for k := range scale {
		scale[k] = 1
	}
	if opts.Standardize {
		for r := 0; r < n; r++ {
			for k := 0; k < dim; k++ {
				mean[k] += x[r*dim+k]
			}
		}
		for k := range mean {
			mean[k] /= float64(n)
		}
		variance := make([]float64, dim)
		for r := 0; r < n; r++ {
			for k := 0; k < dim; k++ {
				d := x[r*dim+k] - mean[k]
				variance[k] += d * d
			}
		}
		for k := range scale {
			// A constant feature carries no information; leave it unscaled
			// rather than divide by zero.
			if s := math.Sqrt(variance[k] / float64(n)); s > 0 {
				scale[k] = s
			}
		}
		for r := 0; r < n; r++ {
			for k := 0; k < dim; k++ {
				x[r*dim+k] = (x[r*dim+k] - mean[k]) / scale[k]
			}
		}
	}

	theta, err := newton(x, y, dim, opts)
	if err != nil {
		return nil, fmt.Errorf("train logistic head: %w", err)
	}
	// Map the weights back so the head works on raw features:
	// Σ w_k (x_k − m_k)/s_k + b = Σ (w_k/s_k) x_k + (b − Σ w_k m_k/s_k).
	h := &face.LogisticHead{W: make([]float64, dim), B: theta[dim]}
	for k := 0; k < dim; k++ {
		h.W[k] = theta[k] / scale[k]
		h.B -= theta[k] * mean[k] / scale[k]
	}
	return h, nil
}

// logisticObjective returns the regularised mean log loss at theta (the
// weights followed by the bias) and its gradient, for rows x (n×dim, row
// major) and labels y in {0, 1}.
func logisticObjective(theta, x, y []float64, dim int, l2 float64) (float64, []float64) {
	n := len(y)
	grad := make([]float64, dim+1)
	loss := 0.0
	for r := 0; r < n; r++ {
		row := x[r*dim : (r+1)*dim]
		z := theta[dim]
		for k, v := range row {
			z += theta[k] * v
		}
		loss += nn.Softplus(z) - y[r]*z
		e := nn.Sigmoid(z) - y[r]
		for k, v := range row {
			grad[k] += e * v
		}
		grad[dim] += e
	}
	reg := 0.0
	for k := range grad {
		grad[k] /= float64(n)
		if k < dim {
			grad[k] += l2 * theta[k]
			reg += theta[k] * theta[k]
		}
	}
	return loss/float64(n) + l2/2*reg, grad
}

// newton minimises logisticObjective from zero.
func newton(x, y []float64, dim int, opts LogisticOptions) ([]float64, error) {
	n := len(y)
	m := dim + 1
	theta := make([]float64, m)
	loss, grad := logisticObjective(theta, x, y, dim, opts.L2)
	hess := make([]float64, m*m)
	trial := make([]float64, m)
	for iter := 0; iter < opts.MaxIter; iter++ {
		if maxAbs(grad) < opts.Tol {
			return theta, nil
		}
		// Hessian: (1/n) Σ σ(1−σ) x̃ x̃ᵀ + L2 on the weight diagonal, where
		// x̃ is the row extended by a constant 1 for the bias.
		clear(hess)
		for r := 0; r < n; r++ {
			row := x[r*dim : (r+1)*dim]
			z := theta[dim]
			for k, v := range row {
				z += theta[k] * v
			}
			s := nn.Sigmoid(z)
			w := s * (1 - s)
			if w == 0 {
				continue
			}
			for a := 0; a < dim; a++ {
				wa := w * row[a]
				h := hess[a*m : a*m+m]
				for b := a; b < dim; b++ {
					h[b] += wa * row[b]
				}
				h[dim] += wa
			}
			hess[dim*m+dim] += w
		}
		for a := 0; a < m; a++ {
			for b := a; b < m; b++ {
				hess[a*m+b] /= float64(n)
				hess[b*m+a] = hess[a*m+b]
			}
			if a < dim {
				hess[a*m+a] += opts.L2
			}
		}
		step, err := solveSPD(hess, grad, m)
		if err != nil {
			return nil, fmt.Errorf("newton step %d: %w", iter, err)
		}
		// Backtracking (Armijo) line search along −step, a descent
		// direction because the Hessian is positive definite.
		slope := 0.0
		for k := range step {
			slope += grad[k] * step[k]
		}
		t := 1.0
		accepted := false
		for tries := 0; tries < 60; tries++ {
			for k := range trial {
				trial[k] = theta[k] - t*step[k]
			}
			l, g := logisticObjective(trial, x, y, dim, opts.L2)
			if l <= loss-1e-4*t*slope {
				copy(theta, trial)
				loss, grad = l, g
				accepted = true
				break
			}
			t /= 2
		}
		if !accepted {
			// No decrease is representable any more: we are at the optimum
			// to within floating-point precision.
			return theta, nil
		}
	}
	return theta, nil
}

// solveSPD solves A·v = b for a symmetric positive definite m×m matrix by
// Cholesky factorisation. If rounding makes A numerically indefinite a
// tiny ridge is added and the factorisation retried.
func solveSPD(a, b []float64, m int) ([]float64, error) {
	l := make([]float64, m*m)
	for ridge := 0.0; ; {
		if cholesky(a, l, m, ridge) {
			break
		}
		if ridge == 0 {
			ridge = 1e-12
		} else if ridge *= 100; ridge > 1 {
			return nil, errors.New("Hessian is not positive definite")
		}
	}
	// Forward then back substitution: L·u = b, Lᵀ·v = u.
	v := make([]float64, m)
	for i := 0; i < m; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i*m+k] * v[k]
		}
		v[i] = s / l[i*m+i]
	}
	for i := m - 1; i >= 0; i-- {
		s := v[i]
		for k := i + 1; k < m; k++ {
			s -= l[k*m+i] * v[k]
		}
		v[i] = s / l[i*m+i]
	}
	return v, nil
}

// cholesky writes the lower factor of a + ridge·I into l and reports
// whether a + ridge·I is positive definite.
func cholesky(a, l []float64, m int, ridge float64) bool {
	clear(l)
	for i := 0; i < m; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*m+j]
			if i == j {
				s += ridge
			}
			for k := 0; k < j; k++ {
				s -= l[i*m+k] * l[j*m+k]
			}
			if i == j {
				if !(s > 0) {
					return false
				}
				l[i*m+i] = math.Sqrt(s)
			} else {
				l[i*m+j] = s / l[j*m+j]
			}
		}
	}
	return true
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// KFoldLogistic runs the k-fold protocol with a [LogisticHead] as the
// decision rule: for each fold a head is trained on the other folds and
// a pair is judged "same" when its predicted probability exceeds ½.
// features[i] are the features of pair i; a nil or empty entry marks a
// pair without a face, which is left out of training and counted as an
// error when tested, like a NaN distance in [KFold]. All other entries
// must have the same length and be finite.
func KFoldLogistic(features [][]float32, same []bool, fold []int, opts LogisticOptions) (FoldResult, error) {
	if len(features) != len(same) {
		return FoldResult{}, fmt.Errorf("k-fold logistic: %d features but %d labels", len(features), len(same))
	}
	dim := 0
	for i, f := range features {
		if len(f) == 0 {
			continue
		}
		if dim == 0 {
			dim = len(f)
		}
		if len(f) != dim {
			return FoldResult{}, fmt.Errorf("k-fold logistic: feature %d has length %d, want %d", i, len(f), dim)
		}
	}
	fit := func(train []int) (Rule, error) {
		var use []int
		for _, i := range train {
			if len(features[i]) > 0 {
				use = append(use, i)
			}
		}
		h, err := trainLogistic(features, same, use, opts)
		if err != nil {
			return Rule{}, err
		}
		return Rule{
			Decide: func(i int) (bool, bool) {
				if len(features[i]) == 0 {
					return false, false
				}
				p, err := h.Predict(features[i])
				return p > 0.5, err == nil
			},
			Threshold: math.NaN(),
		}, nil
	}
	res, err := KFoldWith(same, fold, fit)
	if err != nil {
		return FoldResult{}, fmt.Errorf("logistic: %w", err)
	}
	return res, nil
}
