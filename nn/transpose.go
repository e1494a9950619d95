package nn

import "github.com/facerec/facerec/tensor"

// ChannelsFirst returns x [N, H, W, C] with its values reordered channels
// first, [N, C, H, W]: the order in which an ONNX (PyTorch) network
// flattens a feature map, so that the dense layer after a Flatten reads
// its inputs in the order its weights were trained for. Backward moves the
// gradient back to the channels-last positions.
func (g *Graph) ChannelsFirst(x *Var) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) != 4 || x.Value.Len() == 0 {
		return g.fail("channels first expects a non-empty [N, H, W, C], got %v", x.Value.Shape)
	}
	n, h, w, c := dims4(x.Value)
	y := g.arena.NewUninit(n, c, h, w)
	permuteHWC(y.Data, x.Value.Data, n, h*w, c, false)
	out := g.newVar(y, x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad != nil && x.needsGrad {
				permuteHWC(g.grad(x).Data, out.Grad.Data, n, h*w, c, true)
			}
		})
	}
	return out
}

// permuteHWC writes src [N, P, C] (P pixels) as dst [N, C, P]; with back,
// it adds src [N, C, P] into dst [N, P, C] instead (the adjoint).
func permuteHWC(dst, src []float32, n, p, c int, back bool) {
	for b := 0; b < n; b++ {
		base := b * p * c
		for i := 0; i < p; i++ {
			for j := 0; j < c; j++ {
				hwc, chw := base+i*c+j, base+j*p+i
				if back {
					dst[hwc] += src[chw]
				} else {
					dst[chw] = src[hwc]
				}
			}
		}
	}
}
