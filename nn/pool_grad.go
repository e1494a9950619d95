package nn

import (
	"github.com/facerec/facerec/tensor"
)

// checkPool validates a pooling op's input and window, recording an error
// in g when they do not fit.
func (g *Graph) checkPool(op string, x *Var, win Window) bool {
	if !g.ok(x) {
		return false
	}
	if len(x.Value.Shape) != 4 {
		g.fail("%s expects an NHWC tensor, got %v", op, x.Value.Shape)
		return false
	}
	if win.KH < 1 || win.KW < 1 || win.Stride < 1 {
		g.fail("%s window %d×%d stride %d", op, win.KH, win.KW, win.Stride)
		return false
	}
	oh, ow, _ := win.OutSize(x.Value.Shape[1], x.Value.Shape[2])
	if oh == 0 || ow == 0 || x.Value.Len() == 0 {
		g.fail("%s of %v gives an empty output", op, x.Value.Shape)
		return false
	}
	return true
}

// MaxPool takes the maximum over each window of x (see MaxPool). The
// gradient of a window goes to its maximum (the first one, on ties).
func (g *Graph) MaxPool(x *Var, win Window) *Var {
	if !g.checkPool("max pool", x, win) {
		return &Var{Value: &tensor.Tensor{}}
	}
	out := g.newVar(MaxPool(g.arena, x.Value, win), x)
	_, _, pad := win.OutSize(x.Value.Shape[1], x.Value.Shape[2])
	windowField(out, x, win, pad)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad != nil && x.needsGrad {
				maxPoolBackward(g.grad(x), x.Value, out.Grad, win)
			}
		})
	}
	return out
}

// maxPoolBackward adds each output gradient dy to the cell of x that was
// the maximum of its window, found again by scanning the window in the
// forward's order.
func maxPoolBackward(dx, x, dy *tensor.Tensor, win Window) {
	n, h, w, c := dims4(x)
	_, oh, ow, _ := dims4(dy)
	_, _, pad := win.OutSize(h, w)
	best := make([]int, c)
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		dimg := dx.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			y0 := max(oy*win.Stride-pad.Top, 0)
			y1 := min(oy*win.Stride-pad.Top+win.KH, h)
			for ox := 0; ox < ow; ox++ {
				x0 := max(ox*win.Stride-pad.Left, 0)
				x1 := min(ox*win.Stride-pad.Left+win.KW, w)
				if y0 >= y1 || x0 >= x1 {
					continue // the window is all padding
				}
				for i := range best {
					best[i] = (y0*w + x0) * c
				}
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						o := (iy*w + ix) * c
						for i, v := range img[o : o+c] {
							if v > img[best[i]+i] {
								best[i] = o
							}
						}
					}
				}
				d := dy.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for i, v := range d {
					dimg[best[i]+i] += v
				}
			}
		}
	}
}

// AvgPool averages each window of x over the cells inside the image (see
// AvgPool); each of those cells gets its share of the window's gradient.
func (g *Graph) AvgPool(x *Var, win Window) *Var {
	if !g.checkPool("average pool", x, win) {
		return &Var{Value: &tensor.Tensor{}}
	}
	out := g.newVar(AvgPool(g.arena, x.Value, win), x)
	_, _, pad := win.OutSize(x.Value.Shape[1], x.Value.Shape[2])
	windowField(out, x, win, pad)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad != nil && x.needsGrad {
				avgPoolBackward(g.grad(x), out.Grad, win)
			}
		})
	}
	return out
}

// avgPoolBackward adds dy/count to every image cell of each window.
func avgPoolBackward(dx, dy *tensor.Tensor, win Window) {
	n, h, w, c := dims4(dx)
	_, oh, ow, _ := dims4(dy)
	_, _, pad := win.OutSize(h, w)
	share := make([]float32, c)
	for b := 0; b < n; b++ {
		dimg := dx.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			y0 := max(oy*win.Stride-pad.Top, 0)
			y1 := min(oy*win.Stride-pad.Top+win.KH, h)
			for ox := 0; ox < ow; ox++ {
				x0 := max(ox*win.Stride-pad.Left, 0)
				x1 := min(ox*win.Stride-pad.Left+win.KW, w)
				cnt := (y1 - y0) * (x1 - x0)
				if cnt <= 0 {
					continue
				}
				d := dy.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for i, v := range d {
					share[i] = v / float32(cnt)
				}
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						addTo(dimg[(iy*w+ix)*c:][:c], share)
					}
				}
			}
		}
	}
}

// GlobalAvgPool averages x [N, H, W, C] over H and W, giving [N, C]; every
// pixel gets 1/(H·W) of its image's gradient.
func (g *Graph) GlobalAvgPool(x *Var) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) != 4 || x.Value.Len() == 0 {
		return g.fail("global average pool expects a non-empty NHWC tensor, got %v", x.Value.Shape)
	}
	out := g.newVar(GlobalAvgPool(g.arena, x.Value), x)
	windowField(out, x, Window{KH: x.Value.Shape[1], KW: x.Value.Shape[2], Stride: 1}, Padding{})
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			n, h, w, c := dims4(x.Value)
			dx := g.grad(x).Data
			share := make([]float32, c)
			inv := 1 / float32(h*w)
			for b := 0; b < n; b++ {
				for i, v := range out.Grad.Data[b*c : (b+1)*c] {
					share[i] = v * inv
				}
				for p := 0; p < h*w; p++ {
					addTo(dx[(b*h*w+p)*c:][:c], share)
				}
			}
		})
	}
	return out
}
