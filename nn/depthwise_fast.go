package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// ForwardFast computes exactly what Forward does (the same products summed in
// the same order, so the same float32 result) with loops arranged for speed
// on 3×3 kernels, the only size the ported networks use; other sizes fall
// back to Forward.
//
// Forward walks output pixels and, for each, the nine taps over all
// channels, zeroing the output first: for the short channel rows of the
// detectors (16–64 channels) the loop overhead per tap dominates. Here one
// pass per kernel row adds three taps at once (three products per output
// value per pass instead of one), the first pass writes instead of
// accumulating (no zeroing), and only the border columns, whose windows hang
// over the padding, take a checked path.
func (d *DepthwiseConv2D) ForwardFast(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	if d.KH != 3 || d.KW != 3 {
		return d.Forward(arena, x)
	}
	n, h, w, c := dims4(x)
	if c != d.C {
		panic(fmt.Sprintf("nn: depthwise expects %d channels, got %v", d.C, x.Shape))
	}
	oh, ow, pad := d.OutSize(h, w)
	out := arena.NewUninit(n, oh, ow, c)
	s := d.Stride
	wt := d.W.Data[:9*c]
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			dstRow := out.Data[((b*oh+oy)*ow)*c:][:ow*c]
			first := true
			for ky := 0; ky < 3; ky++ {
				iy := oy*s - pad.Top + ky
				if iy < 0 || iy >= h {
					continue
				}
				srcRow := img[iy*w*c : (iy+1)*w*c]
				wk := wt[ky*3*c : (ky+1)*3*c]
				for ox := 0; ox < ow; ox++ {
					ix0 := ox*s - pad.Left
					dst := dstRow[ox*c : (ox+1)*c]
					if ix0 >= 0 && ix0+3 <= w {
						taps3(dst, srcRow[ix0*c:(ix0+3)*c], wk, c, first)
						continue
					}
					// A border pixel: skip the taps over the padding, as
					// Forward does.
					if first {
						clear(dst)
					}
					for kx := 0; kx < 3; kx++ {
						ix := ix0 + kx
						if ix < 0 || ix >= w {
							continue
						}
						src := srcRow[ix*c : (ix+1)*c]
						wkx := wk[kx*c : (kx+1)*c]
						for i := range dst {
							dst[i] += src[i] * wkx[i]
						}
					}
				}
				first = false
			}
			if first { // no kernel row inside the image (only with odd explicit padding)
				clear(dstRow)
			}
		}
	}
	channelAffine(out.Data, c, d.Bias, d.Scale, d.Shift)
	activate(out.Data, d.Act)
	return out
}

// taps3 adds the three horizontal taps of one kernel row to dst (c channels):
// dst += p0·w0 + p1·w1 + p2·w2 summed left to right, or dst = ... when first.
// p holds the three input pixels side by side, w the three weight rows.
func taps3(dst, p, w []float32, c int, first bool) {
	dst = dst[:c]
	p0, p1, p2 := p[:c], p[c:2*c], p[2*c:3*c]
	w0, w1, w2 := w[:c], w[c:2*c], w[2*c:3*c]
	if first {
		for i := range dst {
			dst[i] = p0[i]*w0[i] + p1[i]*w1[i] + p2[i]*w2[i]
		}
		return
	}
	for i := range dst {
		dst[i] = dst[i] + p0[i]*w0[i] + p1[i]*w1[i] + p2[i]*w2[i]
	}
}
