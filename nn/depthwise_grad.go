package nn

import (
	"github.com/facerec/facerec/tensor"
)

// DepthwiseConv2D applies the depthwise layer d (with its fused epilogue)
// to x [N, H, W, C] with the layer's own forward kernels, scratch from the
// graph's arena. The layer's weights are constants to the graph (depthwise
// layers only appear in the pretrained networks, which are not trained):
// Backward computes dL/dx only.
func (g *Graph) DepthwiseConv2D(x *Var, d *DepthwiseConv2D) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if d == nil || d.W == nil {
		return g.fail("depthwise layer not made by NewDepthwiseConv2D")
	}
	if len(x.Value.Shape) != 4 || x.Value.Shape[3] != d.C {
		return g.fail("depthwise conv expects [N, H, W, %d], got %v", d.C, x.Value.Shape)
	}
	if d.KH < 1 || d.KW < 1 || d.Stride < 1 {
		return g.fail("depthwise window %d×%d stride %d", d.KH, d.KW, d.Stride)
	}
	oh, ow, pad := d.OutSize(x.Value.Shape[1], x.Value.Shape[2])
	if x.Value.Shape[0] == 0 || oh == 0 || ow == 0 {
		return g.fail("depthwise conv of %v gives an empty output", x.Value.Shape)
	}
	out := g.newVar(d.Forward(g.arena, x.Value), x)
	g.record(out, func() {
		if out.Grad == nil || !x.needsGrad {
			return
		}
		dz := g.arena.NewUninit(out.Value.Shape...)
		activationGrad(dz.Data, out.Value.Data, out.Grad.Data, d.C, d.Scale, d.Act)
		depthwiseBackwardInput(g.grad(x), dz, d.Window, pad, d.W.Data)
	})
	return out
}

// depthwiseBackwardInput adds to dx the gradient of the depthwise
// convolution with weights wt given dz = dL/d(output before the
// epilogue): every output gradient goes back to the taps of its window,
// weighted as in the forward (the adjoint of depthwiseGeneric).
func depthwiseBackwardInput(dx, dz *tensor.Tensor, win Window, pad Padding, wt []float32) {
	n, h, w, c := dims4(dx)
	_, oh, ow, _ := dims4(dz)
	for b := 0; b < n; b++ {
		img := dx.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				src := dz.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for ky := 0; ky < win.KH; ky++ {
					iy := oy*win.Stride - pad.Top + ky
					if iy < 0 || iy >= h {
						continue
					}
					for kx := 0; kx < win.KW; kx++ {
						ix := ox*win.Stride - pad.Left + kx
						if ix < 0 || ix >= w {
							continue
						}
						dst := img[(iy*w+ix)*c:][:c]
						wk := wt[(ky*win.KW+kx)*c:][:c]
						for i, v := range src {
							dst[i] += v * wk[i]
						}
					}
				}
			}
		}
	}
}
