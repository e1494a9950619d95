package nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// MaxPool takes the maximum over each window of x [N, H, W, C]. Padded
// cells are ignored, as in TensorFlow.
func MaxPool(arena *tensor.Arena, x *tensor.Tensor, win Window) *tensor.Tensor {
	return pool(arena, x, win, true)
}

// AvgPool averages each window of x [N, H, W, C] over the cells inside the
// image (padding does not count), summing in float64 as tfjs does.
func AvgPool(arena *tensor.Arena, x *tensor.Tensor, win Window) *tensor.Tensor {
	return pool(arena, x, win, false)
}

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
					for i := range dst {
						dst[i] = float32(math.Inf(-1))
					}
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
