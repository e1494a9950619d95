package nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// MaxPoolFast computes exactly what MaxPool does, faster for the 2×2
// windows of the detectors; other windows fall back to MaxPool.
//
// MaxPool initialises every output pixel to -Inf and loops over the window
// cell by cell, which for 16–64 channels is mostly loop overhead. Here the
// (up to) four input cells of a window are combined in one pass over the
// channels, on amd64 with AVX2 by an assembly kernel for the columns whose
// window lies inside the image. The builtin max is commutative and
// associative (NaN wins, -0 < +0), and the kernel reproduces it bit for bit,
// so neither the order of the comparisons nor the kernel changes the result.
func MaxPoolFast(arena *tensor.Arena, x *tensor.Tensor, win Window) *tensor.Tensor {
	if win.KH != 2 || win.KW != 2 {
		return MaxPool(arena, x, win)
	}
	n, h, w, c := dims4(x)
	oh, ow, pad := win.OutSize(h, w)
	if oh < 1 || ow < 1 {
		return MaxPool(arena, x, win)
	}
	out := arena.NewUninit(n, oh, ow, c)
	s := win.Stride
	// Columns ox in [lo, hi) have both window columns inside the image.
	lo := min((pad.Left+s-1)/s, ow)
	hi := lo
	if w-2+pad.Left >= 0 {
		hi = min(max((w-2+pad.Left)/s+1, lo), ow)
	}
	asm := useMax8 && c%8 == 0
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			y0 := oy*s - pad.Top
			y1 := y0 + 1
			// Rows over the padding are ignored, as in MaxPool; a window
			// always keeps at least one row inside the image.
			if y0 < 0 {
				y0 = y1
			}
			if y1 >= h {
				y1 = y0
			}
			if y0 < 0 || y0 >= h {
				// A window entirely in the padding (only with odd explicit
				// padding): MaxPool gives -Inf there.
				fillNegInf(out.Data[((b*oh+oy)*ow)*c:][:ow*c])
				continue
			}
			r0 := img[y0*w*c : (y0+1)*w*c]
			r1 := img[y1*w*c : (y1+1)*w*c]
			dstRow := out.Data[((b*oh+oy)*ow)*c:][:ow*c]
			if asm && hi > lo {
				ix := (lo*s - pad.Left) * c
				max2x2Row8(&dstRow[lo*c], &r0[ix], &r1[ix], hi-lo, c, s*c)
			}
			for ox := 0; ox < ow; ox++ {
				if asm && ox == lo && hi > lo {
					ox = hi - 1
					continue
				}
				x0 := ox*s - pad.Left
				x1 := x0 + 1
				if x0 < 0 {
					x0 = x1
				}
				if x1 >= w {
					x1 = x0
				}
				dst := dstRow[ox*c : (ox+1)*c]
				if x0 < 0 || x0 >= w {
					fillNegInf(dst)
					continue
				}
				max4(dst, r0[x0*c:(x0+1)*c], r0[x1*c:(x1+1)*c], r1[x0*c:(x0+1)*c], r1[x1*c:(x1+1)*c])
			}
		}
	}
	return out
}

// max4 sets dst to the elementwise maximum of four rows of len(dst) values.
func max4(dst, a, b, c, d []float32) {
	n := len(dst)
	a, b, c, d = a[:n], b[:n], c[:n], d[:n]
	for i := range dst {
		dst[i] = max(max(a[i], b[i]), max(c[i], d[i]))
	}
}

func fillNegInf(s []float32) {
	for i := range s {
		s[i] = float32(math.Inf(-1))
	}
}
