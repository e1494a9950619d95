package nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// Add returns a + b elementwise (a residual connection); the shapes must be
// equal. Both inputs get the output's gradient.
func (g *Graph) Add(a, b *Var) *Var {
	return g.add(a, b, false)
}

// AddReLU returns max(a + b, 0) elementwise, the end of a residual block,
// in one pass (the kernel of nn.AddReLU). Both inputs get the output's
// gradient where the output is positive.
func (g *Graph) AddReLU(a, b *Var) *Var {
	return g.add(a, b, true)
}

// AddReLUInPlace is AddReLU that may overwrite a's value with the result:
// it does in an inference graph, where no backward needs a, saving the
// write to a fresh (cold) buffer, as the plain nn.AddReLUInPlace; a
// recording graph keeps a and makes a new value. Either way a must not be
// used after the call: a network uses it where a is the end of a branch
// that nothing else reads.
func (g *Graph) AddReLUInPlace(a, b *Var) *Var {
	return g.addInPlace(a, b, true)
}

// AddInPlace is Add that may overwrite a's value with the result, on the
// terms of AddReLUInPlace.
func (g *Graph) AddInPlace(a, b *Var) *Var {
	return g.addInPlace(a, b, false)
}

// addInPlace is AddInPlace, or AddReLUInPlace with relu.
func (g *Graph) addInPlace(a, b *Var, relu bool) *Var {
	if !g.inference {
		return g.add(a, b, relu)
	}
	if !g.ok(a, b) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if !tensor.SameShape(a.Value.Shape, b.Value.Shape) {
		return g.fail("add %v and %v", a.Value.Shape, b.Value.Shape)
	}
	add(a.Value.Data, a.Value.Data, b.Value.Data, relu)
	return g.newVar(a.Value, a, b)
}

// add is Add, or AddReLU with relu.
func (g *Graph) add(a, b *Var, relu bool) *Var {
	if !g.ok(a, b) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if !tensor.SameShape(a.Value.Shape, b.Value.Shape) {
		return g.fail("add %v and %v", a.Value.Shape, b.Value.Shape)
	}
	y := g.arena.NewUninit(a.Value.Shape...)
	add(y.Data, a.Value.Data, b.Value.Data, relu)
	out := g.newVar(y, a, b)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			dy := out.Grad.Data
			if relu {
				// The gradient through the ReLU, once for both inputs.
				masked := g.arena.NewUninit(y.Shape...).Data
				for i, v := range y.Data {
					if v > 0 {
						masked[i] = dy[i]
					} else {
						masked[i] = 0
					}
				}
				dy = masked
			}
			for _, in := range []*Var{a, b} {
				if in.needsGrad {
					addTo(g.grad(in).Data, dy)
				}
			}
		})
	}
	return out
}

// ReLU returns max(x, 0); the gradient passes where the output is positive.
func (g *Graph) ReLU(x *Var) *Var {
	return g.LeakyReLU(x, 0)
}

// LeakyReLU returns x where x > 0 and slope·x elsewhere. (The fused Leaky
// activation of the ported networks is this with slope 0.1, computed the
// tfjs way.)
func (g *Graph) LeakyReLU(x *Var, slope float32) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	y := g.arena.NewUninit(x.Value.Shape...)
	g.chunks(len(y.Data), func(lo, hi int) {
		leakyForward(y.Data[lo:hi], x.Value.Data[lo:hi], slope)
	})
	out := g.newVar(y, x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			dx := g.grad(x).Data
			g.chunks(len(dx), func(lo, hi int) {
				leakyBackward(dx[lo:hi], x.Value.Data[lo:hi], out.Grad.Data[lo:hi], slope)
			})
		})
	}
	return out
}

// leakyForward sets y = x where x > 0, slope·x elsewhere. The factor is
// picked with a conditional move, not a branch: the signs of activations
// are close to random and a branch would mispredict half the time.
func leakyForward(y, x []float32, slope float32) {
	x = x[:len(y)]
	for i, v := range x {
		k := float32(1)
		if v <= 0 {
			k = slope
		}
		y[i] = v * k
	}
}

// leakyBackward adds dy·(1 or slope) to dx, branch-free like leakyForward.
func leakyBackward(dx, x, dy []float32, slope float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		k := float32(1)
		if v <= 0 {
			k = slope
		}
		dx[i] += dy[i] * k
	}
}

// minChunk is the least number of values worth a goroutine in an
// elementwise op.
const minChunk = 1 << 15

// chunks runs f over [0, n) cut into up to Workers ranges, in parallel
// when n is large enough to pay for the goroutines.
func (g *Graph) chunks(n int, f func(lo, hi int)) {
	workers := min(g.Workers, n/minChunk)
	if workers <= 1 {
		f(0, n)
		return
	}
	batchSplit(workers, n, func(_, lo, hi int) { f(lo, hi) })
}

// PReLU returns x where x > 0 and alpha_c·x elsewhere, with one learned
// slope per channel (the last dimension): alpha has C values. Backward
// adds dL/dalpha to alpha.Grad.
func (g *Graph) PReLU(x *Var, alpha *Param) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if alpha == nil || alpha.Value == nil || len(x.Value.Shape) == 0 || alpha.Value.Len() != x.Value.Dim(-1) {
		return g.fail("prelu needs one slope per channel of %v", x.Value.Shape)
	}
	c := alpha.Value.Len()
	a := alpha.Value.Data
	y := g.arena.NewUninit(x.Value.Shape...)
	for i, v := range x.Value.Data {
		if v <= 0 {
			v *= a[i%c]
		}
		y.Data[i] = v
	}
	out := g.newVar(y, x)
	out.needsGrad = out.needsGrad || alpha.Grad != nil
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			var dx []float32
			if x.needsGrad {
				dx = g.grad(x).Data
			}
			var da []float64
			if alpha.Grad != nil {
				da = make([]float64, c)
			}
			for i, v := range x.Value.Data {
				d := out.Grad.Data[i]
				if v > 0 {
					if dx != nil {
						dx[i] += d
					}
					continue
				}
				if dx != nil {
					dx[i] += d * a[i%c]
				}
				if da != nil {
					da[i%c] += float64(d) * float64(v)
				}
			}
			for j, v := range da {
				alpha.Grad.Data[j] += float32(v)
			}
		})
	}
	return out
}

// L2Epsilon is the smallest norm L2Normalize divides by: a shorter row (in
// practice an all-zero one) is divided by L2Epsilon instead, which keeps
// the output and the gradient finite.
const L2Epsilon = 1e-12

// L2Normalize scales each row of x [N, D] (any shape: rows are the last
// dimension) to unit Euclidean length, y = x / max(‖x‖, L2Epsilon), as
// embeddings are before a distance, cosine or triplet loss (distances
// between them are then bounded, 0 ≤ ‖a−b‖² ≤ 4). The norm is summed and
// the division done in float64. The gradient of a row of norm r is
// (dy − y·(y·dy))/r: the component of dy along y is removed because moving
// x along itself does not change y. A row whose norm was clamped was
// divided by a constant, so its gradient is dy/L2Epsilon.
func (g *Graph) L2Normalize(x *Var) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) == 0 || x.Value.Dim(-1) == 0 {
		return g.fail("l2 normalize of %v", x.Value.Shape)
	}
	d := x.Value.Dim(-1)
	rows := x.Value.Len() / d
	y := g.arena.NewUninit(x.Value.Shape...)
	norms := make([]float64, rows) // each row's divisor; negative when clamped
	for r := 0; r < rows; r++ {
		row := x.Value.Data[r*d : (r+1)*d]
		s := 0.0
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		norm := math.Sqrt(s)
		if norm < L2Epsilon {
			norm = L2Epsilon
			norms[r] = -norm
		} else {
			norms[r] = norm
		}
		for j, v := range row {
			y.Data[r*d+j] = float32(float64(v) / norm)
		}
	}
	out := g.newVar(y, x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			dx := g.grad(x).Data
			for r := 0; r < rows; r++ {
				yr := y.Data[r*d : (r+1)*d]
				dy := out.Grad.Data[r*d : (r+1)*d]
				dot, norm := 0.0, norms[r]
				if norm < 0 {
					norm = -norm
				} else {
					for j, v := range yr {
						dot += float64(v) * float64(dy[j])
					}
				}
				for j, v := range yr {
					dx[r*d+j] += float32((float64(dy[j]) - float64(v)*dot) / norm)
				}
			}
		})
	}
	return out
}

// Concat joins NHWC tensors of equal N, H, W along the channels; each input
// gets its slice of the gradient.
func (g *Graph) Concat(xs ...*Var) *Var {
	if len(xs) == 0 || !g.ok(xs...) {
		if len(xs) == 0 {
			return g.fail("concat of nothing")
		}
		return &Var{Value: &tensor.Tensor{}}
	}
	vals := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		s, s0 := x.Value.Shape, xs[0].Value.Shape
		if len(s) != 4 || s[0] != s0[0] || s[1] != s0[1] || s[2] != s0[2] {
			return g.fail("concat %v with %v", s0, s)
		}
		vals[i] = x.Value
	}
	out := g.newVar(ConcatChannels(g.arena, vals...), xs...)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			total := out.Value.Shape[3]
			pixels := out.Value.Len() / total
			o := 0
			for _, x := range xs {
				c := x.Value.Shape[3]
				if x.needsGrad {
					dx := g.grad(x).Data
					for p := 0; p < pixels; p++ {
						addTo(dx[p*c:(p+1)*c], out.Grad.Data[p*total+o:][:c])
					}
				}
				o += c
			}
		})
	}
	return out
}
