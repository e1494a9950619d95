package optim

import (
	"errors"
	"fmt"
	"math"
)

// Objective evaluates a function to minimise at x: it returns f(x) and
// writes ∇f(x) into grad (len(grad) == len(x)).
type Objective func(x, grad []float32) (float64, error)

// LBFGS minimises a smooth function of many variables (an image's pixels,
// in style transfer) by limited-memory BFGS (Nocedal & Wright, algorithm
// 7.4: the two-loop recursion over the last M steps), with a backtracking
// Armijo line search and, when Lo < Hi, the variables kept in the box
// [Lo, Hi] by projection: a trial point is projected onto the box, and a
// direction component that pushes a variable at a bound outwards is
// dropped. This projected variant is not L-BFGS-B, but for box constraints
// that are rarely active at the optimum (pixel ranges) it behaves alike.
//
// The zero value is not usable; make one with NewLBFGS. Step keeps the
// state between calls, so a caller may stop, look at x and go on.
type LBFGS struct {
	m      int
	lo, hi float32

	s, y     [][]float32 // the last steps and gradient changes, oldest first
	rho      []float64   // 1/(yᵀs) of each
	g, gNew  []float32
	xNew, d  []float32
	fx       float64
	started  bool
	steps    int
	evals    int
	lastStep float64
}

// NewLBFGS returns an L-BFGS minimiser with a history of m steps (m ≤ 0:
// 10) and the box [lo, hi] (lo ≥ hi: unconstrained).
func NewLBFGS(m int, lo, hi float32) *LBFGS {
	if m <= 0 {
		m = 10
	}
	return &LBFGS{m: m, lo: lo, hi: hi}
}

// Steps is the number of iterations taken; Evals the number of times the
// objective was evaluated (one or more per iteration, for the line search).
func (o *LBFGS) Steps() int { return o.steps }

// Evals is the number of objective evaluations so far.
func (o *LBFGS) Evals() int { return o.evals }

// ErrNoProgress is returned by Step when the line search finds no point
// lower than the current one: x is at a (local, projected) minimum to
// float32 precision, or the gradient is wrong.
var ErrNoProgress = errors.New("optim: l-bfgs line search made no progress")

func (o *LBFGS) boxed() bool { return o.lo < o.hi }

func (o *LBFGS) project(x []float32) {
	if !o.boxed() {
		return
	}
	for i, v := range x {
		x[i] = min(max(v, o.lo), o.hi)
	}
}

func (o *LBFGS) eval(f Objective, x, grad []float32) (float64, error) {
	o.evals++
	fx, err := f(x, grad)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(fx) || math.IsInf(fx, 0) {
		return 0, fmt.Errorf("optim: l-bfgs: the objective is %v", fx)
	}
	return fx, nil
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return s
}

// Step takes one iteration from x, which it updates in place, and returns
// the objective at the new x. The first call evaluates f at x (projected
// onto the box) before moving. x must keep its length between calls. The
// last evaluation of f in a successful Step is at the accepted point, so a
// caller may keep what f computed there.
func (o *LBFGS) Step(x []float32, f Objective) (float64, error) {
	n := len(x)
	if !o.started {
		o.project(x)
		o.g, o.gNew, o.xNew, o.d = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		fx, err := o.eval(f, x, o.g)
		if err != nil {
			return 0, err
		}
		o.fx, o.started = fx, true
	}
	if len(o.g) != n {
		return 0, fmt.Errorf("optim: l-bfgs: x has %d values, was %d", n, len(o.g))
	}
	o.direction(x)
	gd := dot(o.g, o.d)
	if !(gd < 0) {
		// Not a descent direction (the curvature pairs went stale at the
		// bounds): restart from steepest descent.
		o.s, o.y, o.rho = o.s[:0], o.y[:0], o.rho[:0]
		o.direction(x)
		if gd = dot(o.g, o.d); !(gd < 0) {
			return o.fx, ErrNoProgress // projected gradient is zero
		}
	}
	// The first step has no curvature to scale it: move the largest
	// component by 1% of the box (or of 1).
	t := 1.0
	if len(o.s) == 0 {
		span := 1.0
		if o.boxed() {
			span = float64(o.hi - o.lo)
		}
		dmax := 0.0
		for _, v := range o.d {
			dmax = math.Max(dmax, math.Abs(float64(v)))
		}
		t = 0.01 * span / dmax
		if o.lastStep > 0 {
			t = o.lastStep
		}
	}
	const c1 = 1e-4
	for try := 0; ; try++ {
		if try == 30 {
			return o.fx, ErrNoProgress
		}
		for i := range x {
			o.xNew[i] = x[i] + float32(t)*o.d[i]
		}
		o.project(o.xNew)
		// The decrease the step promises, along the projected step.
		pred := 0.0
		for i := range x {
			pred += float64(o.g[i]) * float64(o.xNew[i]-x[i])
		}
		fNew, err := o.eval(f, o.xNew, o.gNew)
		if err != nil {
			return 0, err
		}
		if fNew <= o.fx+c1*pred && fNew < o.fx {
			o.accept(x, fNew, t)
			return fNew, nil
		}
		t /= 2
	}
}

// direction sets o.d to −H·g by the two-loop recursion, H scaled by
// γ = sᵀy/yᵀy of the newest pair, without the components that leave the
// box.
func (o *LBFGS) direction(x []float32) {
	q := o.d
	for i, v := range o.g {
		q[i] = -v
	}
	o.freeze(x, q)
	k := len(o.s)
	alpha := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		alpha[i] = o.rho[i] * dot(o.s[i], q)
		a := float32(alpha[i])
		for j, v := range o.y[i] {
			q[j] -= a * v
		}
	}
	if k > 0 {
		gamma := float32(dot(o.s[k-1], o.y[k-1]) / dot(o.y[k-1], o.y[k-1]))
		for j := range q {
			q[j] *= gamma
		}
	}
	for i := 0; i < k; i++ {
		b := o.rho[i] * dot(o.y[i], q)
		c := float32(alpha[i] - b)
		for j, v := range o.s[i] {
			q[j] += c * v
		}
	}
	o.freeze(x, q)
}

// freeze zeroes the components of d that push a variable at a bound out of
// the box.
func (o *LBFGS) freeze(x, d []float32) {
	if !o.boxed() {
		return
	}
	for i, v := range x {
		if (v <= o.lo && d[i] < 0) || (v >= o.hi && d[i] > 0) {
			d[i] = 0
		}
	}
}

// accept moves to xNew, records the curvature pair when it is positive
// (otherwise the pair would make H indefinite) and forgets the oldest
// beyond m.
func (o *LBFGS) accept(x []float32, fNew, t float64) {
	var s, y []float32
	if len(o.s) == o.m {
		s, y = o.s[0], o.y[0]
		o.s, o.y, o.rho = o.s[1:], o.y[1:], o.rho[1:]
	} else {
		s, y = make([]float32, len(x)), make([]float32, len(x))
	}
	for i := range x {
		s[i] = o.xNew[i] - x[i]
		y[i] = o.gNew[i] - o.g[i]
	}
	if sy := dot(s, y); sy > 1e-10*dot(y, y) && sy > 0 {
		o.s, o.y, o.rho = append(o.s, s), append(o.y, y), append(o.rho, 1/sy)
	}
	copy(x, o.xNew)
	o.g, o.gNew = o.gNew, o.g
	o.fx = fNew
	o.lastStep = t
	o.steps++
}
