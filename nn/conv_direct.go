package nn

//go:generate go run -C asm . -kernels conv -out ../conv_direct_amd64.s -stubs ../conv_direct_amd64.go -pkg nn

import "github.com/facerec/facerec/tensor"

// direct reports whether Forward computes the layer with forwardDirect: a
// 3×3 convolution of a 3-channel image into 16 or 32 channels (any stride
// and padding), on a CPU with the assembly kernels.
func (c *Conv2D) direct() bool {
	return useAVX2 && c.KH == 3 && c.KW == 3 && c.Cin == 3 && (c.Cout == 16 || c.Cout == 32)
}

// forwardDirect computes the layer into out [N, OH, OW, Cout] straight from
// the image x, one output row at a time, the epilogue applied to each row
// while it is in cache.
//
// With 3 input channels im2col copies nine-float pieces of the image into a
// 27-wide matrix and the GEMM then works on tiles much wider than the 16
// outputs; building that matrix costs as much as the arithmetic. Here an
// assembly kernel computes the output pixels from the image, broadcasting
// each input value into accumulators of eight output channels. It sums the
// 27 products of an output in (ky, kx, ci) order with fused multiply-adds,
// as the GEMM kernels do. A pixel whose window hangs over the padding has
// the window copied, with zeros there (as im2col writes them), and goes
// through the same kernel.
func (c *Conv2D) forwardDirect(out, x *tensor.Tensor, pad Padding) {
	n, h, w, _ := dims4(x)
	_, oh, ow, cout := dims4(out)
	s := c.Stride
	wt := c.W.Data[:27*cout]
	var window [27]float32 // a border pixel's window, 3 rows of 9 floats
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
				conv3x3c3(cout, &dstRow[lo*cout], &img[(iy0*w+lo*s-pad.Left)*3], &wt[0], hi-lo, s*3, w*3)
			}
			for ox := 0; ox < ow; ox++ {
				if inside && ox == lo {
					ox = hi - 1
					continue
				}
				ix0 := ox*s - pad.Left
				for ky := 0; ky < 3; ky++ {
					row := window[ky*9 : ky*9+9]
					iy := iy0 + ky
					for kx := 0; kx < 3; kx++ {
						if ix := ix0 + kx; iy >= 0 && iy < h && ix >= 0 && ix < w {
							copy(row[kx*3:kx*3+3], img[(iy*w+ix)*3:])
						} else {
							clear(row[kx*3 : kx*3+3])
						}
					}
				}
				conv3x3c3(cout, &dstRow[ox*cout], &window[0], &wt[0], 1, 3, 9)
			}
			c.epilogue(dstRow)
		}
	}
}

// conv3x3c3 calls the kernel for cout (16 or 32) output channels. The
// calls are direct, not through a func value, so that the compiler sees
// that the pointers do not escape.
func conv3x3c3(cout int, dst, src, w *float32, n, sstep, rowStride int) {
	if cout == 16 {
		conv3x3c3x16(dst, src, w, n, sstep, rowStride)
	} else {
		conv3x3c3x32(dst, src, w, n, sstep, rowStride)
	}
}
