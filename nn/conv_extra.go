package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// ForwardFast computes what Forward does, faster for the first layer of the
// detectors and landmark nets: a 3×3 convolution of an RGB image into 16 or
// 32 channels (any stride and padding). Other layers, and CPUs without AVX2
// and FMA, fall back to Forward.
//
// With 3 input channels Forward's im2col copies nine-float pieces of the
// image into a 27-wide matrix and the GEMM then works on tiles much wider
// than the 16 outputs; building that matrix costs as much as the
// arithmetic. Here an assembly kernel computes the output pixels straight
// from the image, broadcasting each input value into accumulators of eight
// output channels. It sums the 27 products of an output in (ky, kx, ci)
// order with fused multiply-adds, as the AVX GEMM kernels do (the results
// agree bit for bit in practice; the tests allow 1e-5). Pixels whose window
// hangs over the padding take a plain Go path.
func (c *Conv2D) ForwardFast(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	if !useConvC3 || c.KH != 3 || c.KW != 3 || c.Cin != 3 || (c.Cout != 16 && c.Cout != 32) {
		return c.Forward(arena, x)
	}
	n, h, w, cin := dims4(x)
	if cin != c.Cin {
		panic(fmt.Sprintf("nn: conv expects %d input channels, got %v", c.Cin, x.Shape))
	}
	oh, ow, pad := c.OutSize(h, w)
	cout, s := c.Cout, c.Stride
	out := arena.NewUninit(n, oh, ow, cout)
	if oh < 1 || ow < 1 {
		return out
	}
	kernel := conv3x3c3x16
	if cout == 32 {
		kernel = conv3x3c3x32
	}
	wt := c.W.Data[:27*cout]
	// Interior columns: ox in [lo, hi) has its window inside the image.
	lo := min((pad.Left+s-1)/s, ow)
	hi := lo
	if w-3+pad.Left >= 0 {
		hi = min(max((w-3+pad.Left)/s+1, lo), ow)
	}
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*3 : (b+1)*h*w*3]
		for oy := 0; oy < oh; oy++ {
			iy0 := oy*s - pad.Top
			dstRow := out.Data[((b*oh+oy)*ow)*cout:][:ow*cout]
			inside := iy0 >= 0 && iy0+3 <= h && hi > lo
			if inside {
				kernel(&dstRow[lo*cout], &img[(iy0*w+lo*s-pad.Left)*3], &wt[0], hi-lo, s*3, w*3)
			}
			for ox := 0; ox < ow; ox++ {
				if inside && ox == lo {
					ox = hi - 1
					continue
				}
				convBorderPixel(dstRow[ox*cout:(ox+1)*cout], img, iy0, ox*s-pad.Left, h, w, wt)
			}
		}
	}
	c.epilogue(out.Data)
	return out
}

// convBorderPixel computes one output pixel of a 3×3 convolution of a
// 3-channel image whose window, at (iy0, ix0), may hang over the padding;
// taps there are skipped.
func convBorderPixel(dst, img []float32, iy0, ix0, h, w int, wt []float32) {
	cout := len(dst)
	clear(dst)
	for ky := 0; ky < 3; ky++ {
		iy := iy0 + ky
		if iy < 0 || iy >= h {
			continue
		}
		for kx := 0; kx < 3; kx++ {
			ix := ix0 + kx
			if ix < 0 || ix >= w {
				continue
			}
			for ci := 0; ci < 3; ci++ {
				v := img[(iy*w+ix)*3+ci]
				wk := wt[((ky*3+kx)*3+ci)*cout:][:cout]
				for co := range dst {
					dst[co] += v * wk[co]
				}
			}
		}
	}
}
