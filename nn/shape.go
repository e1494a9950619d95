package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// PadSpatial adds zero rows and columns around each image of x [N, H, W, C].
func PadSpatial(arena *tensor.Arena, x *tensor.Tensor, p Padding) *tensor.Tensor {
	n, h, w, c := dims4(x)
	oh, ow := h+p.Top+p.Bottom, w+p.Left+p.Right
	out := arena.New(n, oh, ow, c)
	for b := 0; b < n; b++ {
		for y := 0; y < h; y++ {
			src := x.Data[((b*h+y)*w)*c : ((b*h+y)*w+w)*c]
			dst := out.Data[((b*oh+y+p.Top)*ow+p.Left)*c:]
			copy(dst[:w*c], src)
		}
	}
	return out
}

// PadChannels appends extra zero channels to every pixel of x [N, H, W, C].
func PadChannels(arena *tensor.Arena, x *tensor.Tensor, extra int) *tensor.Tensor {
	n, h, w, c := dims4(x)
	oc := c + extra
	out := arena.New(n, h, w, oc)
	for p := 0; p < n*h*w; p++ {
		copy(out.Data[p*oc:p*oc+c], x.Data[p*c:(p+1)*c])
	}
	return out
}

// ConcatChannels joins NHWC tensors of equal N, H, W along C.
func ConcatChannels(arena *tensor.Arena, xs ...*tensor.Tensor) *tensor.Tensor {
	n, h, w, _ := dims4(xs[0])
	total := 0
	for _, x := range xs {
		xn, xh, xw, xc := dims4(x)
		if xn != n || xh != h || xw != w {
			panic(fmt.Sprintf("nn: concat %v with %v", xs[0].Shape, x.Shape))
		}
		total += xc
	}
	out := arena.NewUninit(n, h, w, total)
	for p := 0; p < n*h*w; p++ {
		o := p * total
		for _, x := range xs {
			c := x.Shape[3]
			copy(out.Data[o:o+c], x.Data[p*c:(p+1)*c])
			o += c
		}
	}
	return out
}
