package nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// ResizeBilinear resizes each image of x [N, H, W, C] to oh×ow with the
// conventions of tfjs's resizeBilinear (alignCorners=false,
// halfPixelCenters=false): output pixel r samples input row r*H/oh, so the
// image shifts by half a pixel compared with OpenCV or PIL. The arithmetic is
// float64, rounded once to float32, as in tfjs's cpu kernel, because the
// ported networks are compared with it value by value.
func ResizeBilinear(arena *tensor.Arena, x *tensor.Tensor, oh, ow int) *tensor.Tensor {
	n, h, w, c := dims4(x)
	out := arena.NewUninit(n, oh, ow, c)
	scaleY := float64(h) / float64(oh)
	scaleX := float64(w) / float64(ow)
	// Precompute the column taps; they are the same for every row.
	x0s := make([]int, ow)
	x1s := make([]int, ow)
	fxs := make([]float64, ow)
	for col := 0; col < ow; col++ {
		sx := scaleX * float64(col)
		x0 := max(0, int(math.Floor(sx)))
		x0s[col] = x0
		x1s[col] = min(w-1, int(math.Ceil(sx)))
		fxs[col] = sx - float64(x0)
	}
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for r := 0; r < oh; r++ {
			sy := scaleY * float64(r)
			y0 := max(0, int(math.Floor(sy)))
			y1 := min(h-1, int(math.Ceil(sy)))
			fy := sy - float64(y0)
			dst := out.Data[((b*oh+r)*ow)*c:]
			for col := 0; col < ow; col++ {
				fx := fxs[col]
				tl := img[(y0*w+x0s[col])*c:][:c]
				tr := img[(y0*w+x1s[col])*c:][:c]
				bl := img[(y1*w+x0s[col])*c:][:c]
				br := img[(y1*w+x1s[col])*c:][:c]
				d := dst[col*c : (col+1)*c]
				for i := range d {
					top := float64(tl[i]) + (float64(tr[i])-float64(tl[i]))*fx
					bottom := float64(bl[i]) + (float64(br[i])-float64(bl[i]))*fx
					d[i] = float32(top + (bottom-top)*fy)
				}
			}
		}
	}
	return out
}

// PadToSquare pads each image of x [N, H, W, C] with zeros to a square of
// side max(H, W). Centred splits the padding with the odd row or column at
// the end (face-api's rule: round(diff/2) after, the rest before); otherwise
// all padding goes at the bottom or right.
func PadToSquare(arena *tensor.Arena, x *tensor.Tensor, centred bool) *tensor.Tensor {
	_, h, w, _ := dims4(x)
	if h == w {
		return x
	}
	diff := h - w
	if diff < 0 {
		diff = -diff
	}
	after := diff
	if centred {
		after = int(math.Floor(float64(diff)*0.5 + 0.5)) // JS Math.round
	}
	before := diff - after
	var p Padding
	if h < w {
		p.Top, p.Bottom = before, after
	} else {
		p.Left, p.Right = before, after
	}
	return PadSpatial(arena, x, p)
}
