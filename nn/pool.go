package nn

//go:generate go run -C asm . -kernels pool -out ../pool_amd64.s -stubs ../pool_amd64.go -pkg nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// MaxPool takes the maximum over each window of x [N, H, W, C]. Padded
// cells are ignored, as in TensorFlow; a window entirely in the padding
// (possible only with Explicit padding) gives -Inf.
//
// The 2×2 windows of the detectors take a faster path (maxPool2x2) with
// the same result, bit for bit.
func MaxPool(arena *tensor.Arena, x *tensor.Tensor, win Window) *tensor.Tensor {
	win.check("max pool")
	if win.KH == 2 && win.KW == 2 {
		return maxPool2x2(arena, x, win)
	}
	return pool(arena, x, win, true)
}

// AvgPool averages each window of x [N, H, W, C] over the cells inside the
// image (padding does not count), summing in float64 as tfjs does.
func AvgPool(arena *tensor.Arena, x *tensor.Tensor, win Window) *tensor.Tensor {
	win.check("average pool")
	return pool(arena, x, win, false)
}

// pool is max or average pooling for any window, cell by cell. It is the
// reference for maxPool2x2 in the tests.
func pool(arena *tensor.Arena, x *tensor.Tensor, win Window, isMax bool) *tensor.Tensor {
	n, h, w, c := dims4(x)
	oh, ow, pad := win.OutSize(h, w)
	out := arena.NewUninit(n, oh, ow, c)
	var acc []float64
	if !isMax {
		acc = make([]float64, c)
	}
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			y0 := max(oy*win.Stride-pad.Top, 0)
			y1 := min(oy*win.Stride-pad.Top+win.KH, h)
			for ox := 0; ox < ow; ox++ {
				x0 := max(ox*win.Stride-pad.Left, 0)
				x1 := min(ox*win.Stride-pad.Left+win.KW, w)
				dst := out.Data[((b*oh+oy)*ow+ox)*c:][:c]
				if isMax {
					fillNegInf(dst)
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							src := img[(iy*w+ix)*c:][:c]
							for i, v := range src {
								dst[i] = max(dst[i], v)
							}
						}
					}
					continue
				}
				clear(acc)
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						src := img[(iy*w+ix)*c:][:c]
						for i, v := range src {
							acc[i] += float64(v)
						}
					}
				}
				cnt := float64((y1 - y0) * (x1 - x0))
				for i := range dst {
					dst[i] = float32(acc[i] / cnt)
				}
			}
		}
	}
	return out
}

// maxPool2x2 is MaxPool for 2×2 windows. pool initialises every output
// pixel to -Inf and loops over the window cell by cell, which for 16–64
// channels is mostly loop overhead. Here the (up to) four input cells of a
// window are combined in one pass over the channels, on amd64 with AVX2 by
// an assembly kernel for the columns whose window lies inside the image.
// The builtin max is commutative and associative (NaN wins, -0 < +0), and
// the kernel reproduces it bit for bit, so neither the order of the
// comparisons nor the kernel changes the result.
func maxPool2x2(arena *tensor.Arena, x *tensor.Tensor, win Window) *tensor.Tensor {
	n, h, w, c := dims4(x)
	oh, ow, pad := win.OutSize(h, w)
	out := arena.NewUninit(n, oh, ow, c)
	if len(out.Data) == 0 {
		return out
	}
	s := win.Stride
	// Columns ox in [lo, hi) have both window columns inside the image.
	lo := min((pad.Left+s-1)/s, ow)
	hi := lo
	if w-2+pad.Left >= 0 {
		hi = min(max((w-2+pad.Left)/s+1, lo), ow)
	}
	asm := useAVX2 && c%8 == 0 && hi > lo
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			dstRow := out.Data[((b*oh+oy)*ow)*c:][:ow*c]
			y0 := oy*s - pad.Top
			y1 := y0 + 1
			// Rows over the padding are ignored: a window keeps the row of
			// the two that is inside the image.
			if y0 < 0 {
				y0 = y1
			}
			if y1 >= h {
				y1 = y0
			}
			if y0 < 0 || y0 >= h {
				fillNegInf(dstRow) // the whole window is padding
				continue
			}
			r0 := img[y0*w*c : (y0+1)*w*c]
			r1 := img[y1*w*c : (y1+1)*w*c]
			if asm {
				ix := (lo*s - pad.Left) * c
				max2x2Row8(&dstRow[lo*c], &r0[ix], &r1[ix], hi-lo, c, s*c)
			}
			for ox := 0; ox < ow; ox++ {
				if asm && ox == lo {
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

// GlobalAvgPool averages x [N, H, W, C] over H and W, giving [N, C].
func GlobalAvgPool(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	n, h, w, c := dims4(x)
	out := arena.NewUninit(n, c)
	acc := make([]float64, c)
	hw := h * w
	for b := 0; b < n; b++ {
		clear(acc)
		img := x.Data[b*hw*c : (b+1)*hw*c]
		for p := 0; p < hw; p++ {
			for i, v := range img[p*c : (p+1)*c] {
				// tfjs divides each term before summing.
				acc[i] += float64(v / float32(hw))
			}
		}
		for i := range acc {
			out.Data[b*c+i] = float32(acc[i])
		}
	}
	return out
}
