package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// ForwardFast computes what Forward does, much faster, for the 3×3 kernels
// of the ported networks; other sizes fall back to Forward.
//
// Forward walks output pixels and, for each, the nine taps over all
// channels, zeroing the output first: for the short channel rows of the
// detectors (16–64 channels) the loop overhead per tap dominates. Here an
// output row is computed from its three input rows (a zero row standing in
// for a row of padding) in one go: on amd64 with AVX2 and FMA by assembly
// kernels that sum the nine products of eight channels with fused
// multiply-adds (keeping the weights in registers when there are few
// channels), elsewhere
// by Go loops that add three taps per pass. Only the border columns, whose
// windows hang over the padding, take a checked path.
//
// The Go loops sum the products in Forward's order and give the same float32
// result; the FMA kernel skips the rounding of each product, which moves
// results by about one unit in the last place.
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
	if oh < 1 || ow < 1 {
		return out
	}
	s := d.Stride
	wt := d.W.Data[:9*c]
	zero := arena.New(w * c).Data // stands in for rows of padding

	// Interior columns: ox in [lo, hi) has its three taps inside the image.
	lo := min((pad.Left+s-1)/s, ow)
	hi := lo
	if w-3+pad.Left >= 0 {
		hi = min(max((w-3+pad.Left)/s+1, lo), ow)
	}
	asm := useDW8 && c%8 == 0

	var rows [3][]float32
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			for ky := range rows {
				iy := oy*s - pad.Top + ky
				if iy < 0 || iy >= h {
					rows[ky] = zero
				} else {
					rows[ky] = img[iy*w*c : (iy+1)*w*c]
				}
			}
			dstRow := out.Data[((b*oh+oy)*ow)*c:][:ow*c]
			if hi > lo {
				ix := (lo*s - pad.Left) * c
				switch {
				case asm && c <= dwRowMaxChannels:
					dw3x3Row8(&dstRow[lo*c], &rows[0][ix], &rows[1][ix], &rows[2][ix], &wt[0], hi-lo, c, s*c)
				case asm:
					dw3x3Px8(&dstRow[lo*c], &rows[0][ix], &rows[1][ix], &rows[2][ix], &wt[0], hi-lo, c, s*c)
				default:
					dwInteriorGo(dstRow[lo*c:hi*c], &rows, ix, wt, c, s*c)
				}
			}
			for ox := 0; ox < ow; ox++ {
				if ox == lo && hi > lo {
					ox = hi - 1
					continue
				}
				dwBorderPixel(dstRow[ox*c:(ox+1)*c], &rows, ox*s-pad.Left, w, wt, c)
			}
		}
	}
	affineActFast(out.Data, c, d.Bias, d.Scale, d.Shift, d.Act)
	return out
}

// dwRowMaxChannels is the most channels for which the row-order kernel
// (weights in registers, one channel block across the whole row) is used;
// above it, a pixel's stride is so long that the pixel-order kernel, which
// reads memory sequentially, is faster.
const dwRowMaxChannels = 64

// dwInteriorGo computes the output pixels of dst (c channels each) whose
// windows lie inside the rows: pixel i reads rows[ky][ix + i*sstep + kx*c].
// One pass per kernel row adds its three taps; the first pass writes. The
// products are summed in (ky, kx) order, as Forward does.
func dwInteriorGo(dst []float32, rows *[3][]float32, ix int, wt []float32, c, sstep int) {
	npix := len(dst) / c
	for ky := 0; ky < 3; ky++ {
		src := rows[ky][ix:]
		wk := wt[ky*3*c : (ky+1)*3*c]
		w0, w1, w2 := wk[:c], wk[c:2*c], wk[2*c:3*c]
		for i := 0; i < npix; i++ {
			o := dst[i*c : (i+1)*c]
			p := src[i*sstep : i*sstep+3*c]
			p0, p1, p2 := p[:c], p[c:2*c], p[2*c:3*c]
			if ky == 0 {
				for j := range o {
					o[j] = p0[j]*w0[j] + p1[j]*w1[j] + p2[j]*w2[j]
				}
				continue
			}
			for j := range o {
				o[j] = o[j] + p0[j]*w0[j] + p1[j]*w1[j] + p2[j]*w2[j]
			}
		}
	}
}

// dwBorderPixel computes one output pixel whose window starts at column ix0
// and may hang over the left or right padding; taps there are skipped.
func dwBorderPixel(dst []float32, rows *[3][]float32, ix0, w int, wt []float32, c int) {
	clear(dst)
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			ix := ix0 + kx
			if ix < 0 || ix >= w {
				continue
			}
			src := rows[ky][ix*c : (ix+1)*c]
			wk := wt[(ky*3+kx)*c : (ky*3+kx+1)*c]
			for j := range dst {
				dst[j] += src[j] * wk[j]
			}
		}
	}
}
