package nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// The gating ops of squeeze-and-excitation blocks and of SSR-Net's
// stage heads: two saturating activations and two products.

// Sigmoid returns 1/(1+e^−x) elementwise, computed in float64 and rounded
// once; the gradient is dy·y·(1−y).
func (g *Graph) Sigmoid(x *Var) *Var {
	return g.unary(x, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
		func(y float32) float32 { return y * (1 - y) })
}

// Tanh returns tanh(x) elementwise, computed in float64 and rounded once;
// the gradient is dy·(1−y²).
func (g *Graph) Tanh(x *Var) *Var {
	return g.unary(x, math.Tanh, func(y float32) float32 { return 1 - y*y })
}

// unary applies f to every value of x; dfy is the derivative written as a
// function of the output, which is all the backward keeps.
func (g *Graph) unary(x *Var, f func(float64) float64, dfy func(float32) float32) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	y := g.arena.NewUninit(x.Value.Shape...)
	g.chunks(len(y.Data), func(lo, hi int) {
		for i, v := range x.Value.Data[lo:hi] {
			y.Data[lo+i] = float32(f(float64(v)))
		}
	})
	out := g.newVar(y, x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			dx := g.grad(x).Data
			for i, v := range y.Data {
				dx[i] += out.Grad.Data[i] * dfy(v)
			}
		})
	}
	return out
}

// Mul returns a·b elementwise; the shapes must be equal. Each input's
// gradient is the output's times the other input.
func (g *Graph) Mul(a, b *Var) *Var {
	if !g.ok(a, b) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if !tensor.SameShape(a.Value.Shape, b.Value.Shape) {
		return g.fail("mul %v and %v", a.Value.Shape, b.Value.Shape)
	}
	y := g.arena.NewUninit(a.Value.Shape...)
	for i, v := range a.Value.Data {
		y.Data[i] = v * b.Value.Data[i]
	}
	out := g.newVar(y, a, b)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			// a and b may be one Var (a square): both terms add up.
			if a.needsGrad {
				da := g.grad(a).Data
				for i, d := range out.Grad.Data {
					da[i] += d * b.Value.Data[i]
				}
			}
			if b.needsGrad {
				db := g.grad(b).Data
				for i, d := range out.Grad.Data {
					db[i] += d * a.Value.Data[i]
				}
			}
		})
	}
	return out
}

// ScaleChannels returns x [N, H, W, C] with every pixel of image n
// multiplied, channel by channel, by s [N, C]: the excitation of a
// squeeze-and-excitation block. x's gradient is dy·s; s's is the sum of
// dy·x over the pixels.
func (g *Graph) ScaleChannels(x, s *Var) *Var {
	if !g.ok(x, s) {
		return &Var{Value: &tensor.Tensor{}}
	}
	sh, ss := x.Value.Shape, s.Value.Shape
	if len(sh) != 4 || len(ss) != 2 || ss[0] != sh[0] || ss[1] != sh[3] {
		return g.fail("scale channels of %v by %v (want [N, C])", sh, ss)
	}
	n, h, w, c := dims4(x.Value)
	p := h * w
	y := g.arena.NewUninit(sh...)
	for b := 0; b < n; b++ {
		scale := s.Value.Data[b*c : (b+1)*c]
		for i := 0; i < p; i++ {
			o := (b*p + i) * c
			for j, k := range scale {
				y.Data[o+j] = x.Value.Data[o+j] * k
			}
		}
	}
	out := g.newVar(y, x, s)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			var dx, ds []float32
			if x.needsGrad {
				dx = g.grad(x).Data
			}
			if s.needsGrad {
				ds = g.grad(s).Data
			}
			acc := make([]float64, c)
			for b := 0; b < n; b++ {
				scale := s.Value.Data[b*c : (b+1)*c]
				clear(acc)
				for i := 0; i < p; i++ {
					o := (b*p + i) * c
					for j, k := range scale {
						d := out.Grad.Data[o+j]
						if dx != nil {
							dx[o+j] += d * k
						}
						acc[j] += float64(d) * float64(x.Value.Data[o+j])
					}
				}
				if ds != nil {
					for j, v := range acc {
						ds[b*c+j] += float32(v)
					}
				}
			}
		})
	}
	return out
}

// ReLU6 returns min(max(x, 0), 6) elementwise (MobileNet's clipped ReLU
// and the core of its hard-swish and hard-sigmoid); the gradient is dy
// where 0 < y < 6 and 0 elsewhere.
func (g *Graph) ReLU6(x *Var) *Var {
	return g.unary(x, func(v float64) float64 { return min(max(v, 0), 6) },
		func(y float32) float32 {
			if y > 0 && y < 6 {
				return 1
			}
			return 0
		})
}

// MulScalar returns x·s elementwise; the gradient is dy·s. Each product
// is rounded once to float32, as a float32 multiplication is.
func (g *Graph) MulScalar(x *Var, s float32) *Var {
	return g.unary(x, func(v float64) float64 { return v * float64(s) },
		func(float32) float32 { return s })
}

// AddScalar returns x+s elementwise; the gradient is dy. Each sum is
// rounded once to float32, as a float32 addition is.
func (g *Graph) AddScalar(x *Var, s float32) *Var {
	return g.unary(x, func(v float64) float64 { return v + float64(s) },
		func(float32) float32 { return 1 })
}
