package nn

//go:generate go run -C asm . -kernels depthwise -out ../depthwise_amd64.s -stubs ../depthwise_amd64.go -pkg nn

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
	// Frozen makes the graph treat W and Bias as constants, as
	// Conv2D.Frozen.
	Frozen bool

	params []*Param // W and Bias as trainable Params, made on demand
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

// Forward applies the layer to x [N, H, W, C], allocating the result from
// arena (nil: the heap).
//
// The 3×3 kernels of the ported networks compute an output row from its
// three input rows in one go (see row3x3); other kernel sizes take the
// plain loops of depthwiseGeneric. Either way each output row goes through
// the epilogue while it is in cache.
func (d *DepthwiseConv2D) Forward(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	n, h, w, c := dims4(x)
	if c != d.C {
		panic(fmt.Sprintf("nn: depthwise expects %d channels, got %v", d.C, x.Shape))
	}
	d.check("depthwise")
	oh, ow, pad := d.OutSize(h, w)
	out := arena.NewUninit(n, oh, ow, c)
	if len(out.Data) == 0 {
		return out
	}
	if d.KH != 3 || d.KW != 3 {
		depthwiseGeneric(out, x, d.Window, pad, d.W.Data)
		for r := 0; r < n*oh; r++ {
			d.epilogue(out.Data[r*ow*c : (r+1)*ow*c])
		}
		return out
	}

	s := d.Stride
	wt := d.W.Data[:9*c]
	zero := arena.New(w * c).Data // stands in for rows of padding
	// A border pixel's window, its taps over the padding zero, laid out as
	// three rows of three pixels.
	window := arena.Floats(9 * c)
	windowRows := [3][]float32{window[:3*c], window[3*c : 6*c], window[6*c:]}
	// Interior columns: ox in [lo, hi) has its three taps inside the image.
	lo := min((pad.Left+s-1)/s, ow)
	hi := lo
	if w-3+pad.Left >= 0 {
		hi = min(max((w-3+pad.Left)/s+1, lo), ow)
	}
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
				row3x3(dstRow[lo*c:hi*c], &rows, (lo*s-pad.Left)*c, wt, c, s*c)
			}
			for ox := 0; ox < ow; ox++ {
				if ox == lo && hi > lo {
					ox = hi - 1
					continue
				}
				// The window hangs over the left or right padding: copy it
				// with zeros there, and compute it as an interior pixel.
				for ky, r := range rows {
					for kx := 0; kx < 3; kx++ {
						tap := windowRows[ky][kx*c : (kx+1)*c]
						if ix := ox*s - pad.Left + kx; ix >= 0 && ix < w {
							copy(tap, r[ix*c:(ix+1)*c])
						} else {
							clear(tap)
						}
					}
				}
				row3x3(dstRow[ox*c:(ox+1)*c], &windowRows, 0, wt, c, 3*c)
			}
			d.epilogue(dstRow)
		}
	}
	return out
}

// epilogue applies bias, scale, shift and activation in place to rows of C
// values.
func (d *DepthwiseConv2D) epilogue(y []float32) {
	affineAct(y, d.C, d.Bias, d.Scale, d.Shift, d.Act)
}

// dwRowMaxChannels is the most channels for which the row-order kernel
// (weights in registers, one channel block across the whole row) is used;
// above it, a pixel's stride is so long that the pixel-order kernel, which
// reads memory sequentially, is faster.
const dwRowMaxChannels = 64

// row3x3 computes the output pixels of dst (c channels each) whose windows
// lie inside the rows: pixel i reads rows[ky][ix + i*sstep + kx*c]. For the
// short channel rows of the detectors (16–64 channels) the loop overhead of
// walking the nine taps pixel by pixel would dominate; on amd64 with AVX2
// and FMA assembly kernels sum the nine products of eight channels at a
// time with fused multiply-adds (keeping the weights in registers when
// there are few channels), elsewhere Go loops add three taps per pass.
func row3x3(dst []float32, rows *[3][]float32, ix int, wt []float32, c, sstep int) {
	npix := len(dst) / c
	switch {
	case useAVX2 && c%8 == 0 && c <= dwRowMaxChannels:
		dw3x3Row8(&dst[0], &rows[0][ix], &rows[1][ix], &rows[2][ix], &wt[0], npix, c, sstep)
	case useAVX2 && c%8 == 0:
		dw3x3Px8(&dst[0], &rows[0][ix], &rows[1][ix], &rows[2][ix], &wt[0], npix, c, sstep)
	default:
		row3x3Go(dst, rows, ix, wt, c, sstep)
	}
}

// row3x3Go is row3x3 in Go: one pass per kernel row adds its three taps,
// the first pass writes. The products are summed in (ky, kx) order.
func row3x3Go(dst []float32, rows *[3][]float32, ix int, wt []float32, c, sstep int) {
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

// depthwiseGeneric is the depthwise convolution of x into out (without the
// epilogue) for any window, pixel by pixel and tap by tap. Forward uses it
// for kernels other than 3×3; the tests take it as the reference.
func depthwiseGeneric(out, x *tensor.Tensor, win Window, pad Padding, wt []float32) {
	n, h, w, c := dims4(x)
	_, oh, ow, _ := dims4(out)
	clear(out.Data)
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				dst := out.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for ky := 0; ky < win.KH; ky++ {
					iy := oy*win.Stride - pad.Top + ky
					if iy < 0 || iy >= h {
						continue
					}
					for kx := 0; kx < win.KW; kx++ {
						ix := ox*win.Stride - pad.Left + kx
						if ix < 0 || ix >= w {
							continue
						}
						src := img[(iy*w+ix)*c:][:c]
						wk := wt[(ky*win.KW+kx)*c:][:c]
						for i := range dst {
							dst[i] += src[i] * wk[i]
						}
					}
				}
			}
		}
	}
}
