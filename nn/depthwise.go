package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// DepthwiseConv2D convolves each channel with its own KH×KW filter
// (weights [KH, KW, C, 1], TensorFlow's layout for a channel multiplier of
// 1), followed by the same fused epilogue as Conv2D.
type DepthwiseConv2D struct {
	Window
	C     int
	W     *tensor.Tensor // [KH, KW, C, 1]
	Bias  []float32
	Scale []float32
	Shift []float32
	Act   Activation
}

// NewDepthwiseConv2D makes a depthwise layer from [kh, kw, c, 1] weights.
func NewDepthwiseConv2D(w *tensor.Tensor, stride int, mode PadMode) (*DepthwiseConv2D, error) {
	if len(w.Shape) != 4 || w.Shape[3] != 1 {
		return nil, fmt.Errorf("nn: depthwise weights must be [kh, kw, c, 1], got %v", w.Shape)
	}
	if stride < 1 {
		return nil, fmt.Errorf("nn: depthwise stride %d", stride)
	}
	return &DepthwiseConv2D{
		Window: Window{KH: w.Shape[0], KW: w.Shape[1], Stride: stride, Mode: mode},
		C:      w.Shape[2], W: w,
	}, nil
}

// Forward applies the layer to x [N, H, W, C].
func (d *DepthwiseConv2D) Forward(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	n, h, w, c := dims4(x)
	if c != d.C {
		panic(fmt.Sprintf("nn: depthwise expects %d channels, got %v", d.C, x.Shape))
	}
	oh, ow, pad := d.OutSize(h, w)
	out := arena.New(n, oh, ow, c)
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				dst := out.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for ky := 0; ky < d.KH; ky++ {
					iy := oy*d.Stride - pad.Top + ky
					if iy < 0 || iy >= h {
						continue
					}
					for kx := 0; kx < d.KW; kx++ {
						ix := ox*d.Stride - pad.Left + kx
						if ix < 0 || ix >= w {
							continue
						}
						src := img[(iy*w+ix)*c:][:c]
						wt := d.W.Data[(ky*d.KW+kx)*c:][:c]
						for i := range dst {
							dst[i] += src[i] * wt[i]
						}
					}
				}
			}
		}
	}
	channelAffine(out.Data, c, d.Bias, d.Scale, d.Shift)
	activate(out.Data, d.Act)
	return out
}
