package nn

import (
	"github.com/facerec/facerec/tensor"
)

// Params returns the layer's trainable parameters W and (when it has one)
// Bias, named prefix+"w" and prefix+"b"; see Conv2D.Params.
func (d *DepthwiseConv2D) Params(prefix string) []*Param {
	ps := d.trainParams()
	ps[0].Name = prefix + "w"
	if len(ps) > 1 {
		ps[1].Name = prefix + "b"
	}
	return ps
}

// trainParams makes the layer's Params on first use, without renaming them.
func (d *DepthwiseConv2D) trainParams() []*Param {
	if d.params == nil {
		d.params = []*Param{NewParam("w", d.W)}
		if d.Bias != nil {
			d.params = append(d.params, NewParam("b", tensor.From(d.Bias, len(d.Bias))))
		}
	}
	return d.params
}

// DepthwiseConv2D applies the depthwise layer d (with its fused epilogue)
// to x [N, H, W, C] with the layer's own forward kernels, scratch from the
// graph's arena. Backward adds dL/dW and dL/dBias to d's Params (unless
// the layer is Frozen, as the pretrained networks' are) and computes dL/dx
// when x needs it.
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
	windowField(out, x, d.Window, pad)
	var dw, db *tensor.Tensor // the weight gradients, nil when not trained
	if !d.Frozen && !g.inference {
		dw, db = g.weightGrads(out, d.trainParams())
	}
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			dz := g.arena.NewUninit(out.Value.Shape...)
			activationGrad(dz.Data, out.Value.Data, out.Grad.Data, d.C, d.Scale, d.Act)
			if db != nil {
				sumRows(db.Data, dz.Data, d.C)
			}
			var dx *tensor.Tensor
			if x.needsGrad {
				dx = g.grad(x)
			}
			if dx != nil || dw != nil {
				depthwiseBackward(dx, dw, x.Value, dz, d.Window, pad, d.W.Data)
			}
		})
	}
	return out
}

// depthwiseBackward adds the gradients of the depthwise convolution with
// weights wt given dz = dL/d(output before the epilogue), each when its
// buffer is not nil: every output gradient goes back to the taps of its
// window, weighted as in the forward, into dx (the adjoint of
// depthwiseGeneric), and times the input under each tap into dw. dw is
// summed in float64, one accumulator per weight, over the whole batch.
func depthwiseBackward(dx, dw, x, dz *tensor.Tensor, win Window, pad Padding, wt []float32) {
	n, h, w, c := dims4(x)
	_, oh, ow, _ := dims4(dz)
	var acc []float64
	if dw != nil {
		acc = make([]float64, len(dw.Data))
	}
	for b := 0; b < n; b++ {
		off := b * h * w * c
		img := x.Data[off : off+h*w*c]
		var dimg []float32
		if dx != nil {
			dimg = dx.Data[off : off+h*w*c]
		}
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
						p := (iy*w + ix) * c
						k := (ky*win.KW + kx) * c
						if dimg != nil {
							dst := dimg[p : p+c]
							wk := wt[k : k+c]
							for i, v := range src {
								dst[i] += v * wk[i]
							}
						}
						if acc != nil {
							in := img[p : p+c]
							a := acc[k : k+c]
							for i, v := range src {
								a[i] += float64(v) * float64(in[i])
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		dw.Data[i] += float32(v)
	}
}
