package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
	"github.com/facerec/facerec/tensor/gemm"
)

// Padding is the number of zero rows/columns added on each side of an
// image before a convolution or pooling window slides over it.
type Padding struct{ Top, Bottom, Left, Right int }

// PadMode says how a layer pads: TensorFlow's "valid" (none) or "same"
// (output size ceil(in/stride), the odd extra pad at the bottom/right).
type PadMode int

// The padding modes. Explicit means the layer's Padding field is used as is.
const (
	Valid PadMode = iota
	Same
	Explicit
)

// padFor returns the padding of one spatial axis with TensorFlow's rules.
func padFor(mode PadMode, in, k, stride int) (before, after int) {
	if mode != Same {
		return 0, 0
	}
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// Window is a sliding window: kernel size, stride and padding, shared by
// convolutions and pooling.
type Window struct {
	KH, KW, Stride int
	Mode           PadMode
	Pad            Padding // used when Mode is Explicit
}

// padding resolves the window's padding for an input of size h×w.
func (win Window) padding(h, w int) Padding {
	if win.Mode == Explicit {
		return win.Pad
	}
	var p Padding
	p.Top, p.Bottom = padFor(win.Mode, h, win.KH, win.Stride)
	p.Left, p.Right = padFor(win.Mode, w, win.KW, win.Stride)
	return p
}

// OutSize is the output size for an input of h×w, and the padding used.
// A side is 0 when the window does not fit in the padded input at all.
func (win Window) OutSize(h, w int) (oh, ow int, p Padding) {
	p = win.padding(h, w)
	return outLen(h+p.Top+p.Bottom, win.KH, win.Stride), outLen(w+p.Left+p.Right, win.KW, win.Stride), p
}

// outLen is the number of positions of a window of size k moved by stride
// over n cells.
func outLen(n, k, stride int) int {
	if n < k {
		return 0
	}
	return (n-k)/stride + 1
}

// check panics when the window cannot slide: a programming error in the
// layer's construction.
func (win Window) check(op string) {
	if win.KH < 1 || win.KW < 1 || win.Stride < 1 {
		panic(fmt.Sprintf("nn: %s window %d×%d with stride %d", op, win.KH, win.KW, win.Stride))
	}
}

// Activation is applied at the end of a fused layer.
type Activation int

// The activations a fused convolution can end with.
const (
	Linear Activation = iota
	ReLU
	ReLU6
	Leaky // max(x, 0.1x) computed the tfjs way, see LeakyReLU
)

// Conv2D is a 2-D convolution (cross-correlation) with weights in HWIO
// layout, followed by an optional per-channel affine epilogue and
// activation, all fused so the output is touched once while it is hot in
// cache:
//
//	y = act(((conv(x, W) + Bias) * Scale) + Shift)
//
// The epilogue keeps that exact order of float32 operations because the
// reference (tfjs) does, which keeps ported networks within 1e-6 of it.
type Conv2D struct {
	Window
	Cin, Cout int
	W         *tensor.Tensor // [KH, KW, Cin, Cout]
	Bias      []float32      // optional, len Cout
	Scale     []float32      // optional, len Cout
	Shift     []float32      // optional, len Cout
	Act       Activation
	// Frozen makes the graph treat W and Bias as constants: Graph.Conv2D
	// passes gradients to its input but makes no Params and computes no
	// weight gradients (a pretrained network that is not being trained, and
	// may be shared by concurrent graphs).
	Frozen bool

	packed *gemm.PackedB // W as a K×Cout matrix, packed once
	params []*Param      // W and Bias as trainable Params, made on demand
}

// NewConv2D makes a convolution layer from HWIO weights, packing them for
// the GEMM kernel.
func NewConv2D(w *tensor.Tensor, stride int, mode PadMode) (*Conv2D, error) {
	if len(w.Shape) != 4 {
		return nil, fmt.Errorf("nn: conv weights must be [kh, kw, cin, cout], got %v", w.Shape)
	}
	if stride < 1 {
		return nil, fmt.Errorf("nn: conv stride %d", stride)
	}
	c := &Conv2D{
		Window: Window{KH: w.Shape[0], KW: w.Shape[1], Stride: stride, Mode: mode},
		Cin:    w.Shape[2], Cout: w.Shape[3], W: w,
	}
	c.Repack()
	return c, nil
}

// Repack must be called after W's values change (training), so that the
// packed copy used by Forward follows.
func (c *Conv2D) Repack() {
	k := c.KH * c.KW * c.Cin
	c.packed = gemm.PackB(k, c.Cout, c.W.Data, c.Cout)
}

// Forward applies the layer to x [N, H, W, Cin], allocating the result from
// arena (nil: the heap).
//
// A 3×3 convolution of an RGB image into 16 or 32 channels (the first layer
// of the detectors and landmark nets) is computed straight from the image
// on CPUs with AVX2 (see forwardDirect); every other layer is lowered to a
// GEMM (see forwardGEMM).
func (c *Conv2D) Forward(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	n, h, w, cin := dims4(x)
	if cin != c.Cin {
		panic(fmt.Sprintf("nn: conv expects %d input channels, got %v", c.Cin, x.Shape))
	}
	c.check("conv")
	oh, ow, pad := c.OutSize(h, w)
	out := arena.NewUninit(n, oh, ow, c.Cout)
	if len(out.Data) == 0 {
		return out
	}
	c.forward(arena, out, x, pad)
	return out
}

// forward computes the layer into out with the kernel that suits it,
// scratch from arena; the graph's Conv2D calls it too.
func (c *Conv2D) forward(arena *tensor.Arena, out, x *tensor.Tensor, pad Padding) {
	if c.direct() {
		c.forwardDirect(out, x, pad)
	} else {
		c.forwardGEMM(arena, out, x, pad)
	}
}

// im2colBlockBytes bounds the lowered input built at once, so it stays in
// the L2 cache while the GEMM streams over it.
const im2colBlockBytes = 512 << 10

// forwardGEMM computes the layer as a GEMM of the lowered input (im2col:
// one row of KH·KW·Cin values per output pixel) by the packed weights, a
// block of output pixels at a time, each block going through the epilogue
// while it is in cache. A 1×1 convolution needs no lowering.
func (c *Conv2D) forwardGEMM(arena *tensor.Arena, out, x *tensor.Tensor, pad Padding) {
	_, oh, ow, _ := dims4(out)
	k := c.KH * c.KW * c.Cin
	m := len(out.Data) / c.Cout

	// A 1×1 stride-1 convolution without padding is a GEMM on x itself.
	if c.KH == 1 && c.KW == 1 && c.Stride == 1 && pad == (Padding{}) {
		gemm.MatMulPacked(m, x.Data, k, c.packed, out.Data, c.Cout, false)
		c.epilogue(out.Data)
		return
	}

	rowsPerBlock := max(im2colBlockBytes/(4*k), 16)
	rowsPerBlock = min(rowsPerBlock, m)
	cols := arena.Floats(rowsPerBlock * k)
	for r0 := 0; r0 < m; r0 += rowsPerBlock {
		rows := min(rowsPerBlock, m-r0)
		im2col(cols[:rows*k], x, c.Window, pad, oh, ow, r0, rows)
		dst := out.Data[r0*c.Cout : (r0+rows)*c.Cout]
		gemm.MatMulPacked(rows, cols, k, c.packed, dst, c.Cout, false)
		c.epilogue(dst)
	}
}

// epilogue applies bias, scale, shift and activation in place to rows of
// Cout values.
func (c *Conv2D) epilogue(y []float32) {
	affineAct(y, c.Cout, c.Bias, c.Scale, c.Shift, c.Act)
}

// im2col writes rows [r0, r0+rows) of the lowered input: row r is output
// pixel r (batch-major), holding the KH×KW×Cin receptive field in HWC order,
// zeros where the window hangs over the padding.
func im2col(dst []float32, x *tensor.Tensor, win Window, pad Padding, oh, ow, r0, rows int) {
	_, h, w, cin := dims4(x)
	k := win.KH * win.KW * cin
	for r := 0; r < rows; r++ {
		idx := r0 + r
		b := idx / (oh * ow)
		oy := (idx / ow) % oh
		ox := idx % ow
		row := dst[r*k : (r+1)*k]
		iy0 := oy*win.Stride - pad.Top
		ix0 := ox*win.Stride - pad.Left
		img := x.Data[b*h*w*cin : (b+1)*h*w*cin]
		o := 0
		for ky := 0; ky < win.KH; ky++ {
			iy := iy0 + ky
			if iy < 0 || iy >= h {
				clear(row[o : o+win.KW*cin])
				o += win.KW * cin
				continue
			}
			// The taps of one kernel row that fall inside the image are
			// contiguous in NHWC memory: copy them in one go.
			kx0 := min(max(0, -ix0), win.KW)
			kx1 := min(win.KW, w-ix0)
			if kx0 > 0 {
				clear(row[o : o+kx0*cin])
			}
			if kx1 > kx0 {
				src := (iy*w + ix0 + kx0) * cin
				copy(row[o+kx0*cin:o+kx1*cin], img[src:src+(kx1-kx0)*cin])
			} else {
				kx1 = kx0
			}
			if kx1 < win.KW {
				clear(row[o+kx1*cin : o+win.KW*cin])
			}
			o += win.KW * cin
		}
	}
}

// dims4 returns the four dimensions of an NHWC tensor.
func dims4(x *tensor.Tensor) (n, h, w, c int) {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn: want an NHWC tensor, got shape %v", x.Shape))
	}
	return x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
}
