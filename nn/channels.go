package nn

import "github.com/facerec/facerec/tensor"

// GatherChannels returns x [N, H, W, C] with channels idx: output channel
// k is input channel idx[k]. It is a slice of the channels (a Split) or a
// permutation of them (ShuffleNet's channel shuffle); an index may repeat.
// Backward adds each output channel's gradient to the channel it came
// from.
func (g *Graph) GatherChannels(x *Var, idx []int) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) != 4 || len(idx) == 0 {
		return g.fail("gather channels %v of %v", idx, x.Value.Shape)
	}
	n, h, w, c := dims4(x.Value)
	for _, i := range idx {
		if i < 0 || i >= c {
			return g.fail("gather channel %d of %d", i, c)
		}
	}
	oc := len(idx)
	y := g.arena.NewUninit(n, h, w, oc)
	for p := 0; p < n*h*w; p++ {
		src, dst := x.Value.Data[p*c:(p+1)*c], y.Data[p*oc:(p+1)*oc]
		for k, i := range idx {
			dst[k] = src[i]
		}
	}
	out := g.newVar(y, x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			dx := g.grad(x).Data
			for p := 0; p < n*h*w; p++ {
				dst, src := dx[p*c:(p+1)*c], out.Grad.Data[p*oc:(p+1)*oc]
				for k, i := range idx {
					dst[i] += src[k]
				}
			}
		})
	}
	return out
}
