package nn

import (
	"github.com/facerec/facerec/tensor"
)

// PadSpatial adds p zero rows and columns around each image of x
// [N, H, W, C] (see PadSpatial); x's gradient is the gradient of the
// inner region.
func (g *Graph) PadSpatial(x *Var, p Padding) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) != 4 || p.Top < 0 || p.Bottom < 0 || p.Left < 0 || p.Right < 0 {
		return g.fail("pad %v by %+v", x.Value.Shape, p)
	}
	out := g.newVar(PadSpatial(g.arena, x.Value, p), x)
	windowField(out, x, Window{KH: 1, KW: 1, Stride: 1}, p)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			n, h, w, c := dims4(x.Value)
			oh, ow := h+p.Top+p.Bottom, w+p.Left+p.Right
			dx := g.grad(x).Data
			for b := 0; b < n; b++ {
				for y := 0; y < h; y++ {
					src := out.Grad.Data[((b*oh+y+p.Top)*ow+p.Left)*c:][:w*c]
					addTo(dx[(b*h+y)*w*c:][:w*c], src)
				}
			}
		})
	}
	return out
}

// PadChannels appends extra zero channels to every pixel of x
// [N, H, W, C] (see PadChannels); x's gradient is that of its channels.
func (g *Graph) PadChannels(x *Var, extra int) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) != 4 || extra < 0 {
		return g.fail("pad %v with %d channels", x.Value.Shape, extra)
	}
	out := g.newVar(PadChannels(g.arena, x.Value, extra), x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			c := x.Value.Shape[3]
			oc := c + extra
			dx := g.grad(x).Data
			for p := 0; p < len(dx)/max(c, 1); p++ {
				addTo(dx[p*c:(p+1)*c], out.Grad.Data[p*oc:][:c])
			}
		})
	}
	return out
}
