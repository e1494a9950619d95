package nn

import (
	"math"

	"github.com/facerec/facerec/tensor"
)

// ResizeBilinearPadded is ResizeBilinear(PadSpatial(x, p), oh, ow) without
// building the padded image: samples that fall in the padding read zeros.
// The result is bit for bit the same. Detectors pad a photo to a square
// before shrinking it to their input size; for a 4000×3000 photo the padded
// square alone would be 190 MB of float32.
func ResizeBilinearPadded(arena *tensor.Arena, x *tensor.Tensor, p Padding, oh, ow int) *tensor.Tensor {
	n, h, w, c := dims4(x)
	ph, pw := h+p.Top+p.Bottom, w+p.Left+p.Right
	out := arena.NewUninit(n, oh, ow, c)
	scaleY := float64(ph) / float64(oh)
	scaleX := float64(pw) / float64(ow)
	// Column taps in the padded image, mapped to image columns (-1: padding).
	x0s := make([]int, ow)
	x1s := make([]int, ow)
	fxs := make([]float64, ow)
	for col := 0; col < ow; col++ {
		sx := scaleX * float64(col)
		x0 := max(0, int(math.Floor(sx)))
		x1 := min(pw-1, int(math.Ceil(sx)))
		x0s[col], x1s[col] = imageIndex(x0, p.Left, w), imageIndex(x1, p.Left, w)
		fxs[col] = sx - float64(x0)
	}
	zero := make([]float32, c)
	// pixel returns the c values at image (y, x), or zeros in the padding.
	pixel := func(img []float32, y, x int) []float32 {
		if y < 0 || x < 0 {
			return zero
		}
		return img[(y*w+x)*c:][:c]
	}
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		for r := 0; r < oh; r++ {
			sy := scaleY * float64(r)
			y0 := max(0, int(math.Floor(sy)))
			y1 := min(ph-1, int(math.Ceil(sy)))
			fy := sy - float64(y0)
			iy0, iy1 := imageIndex(y0, p.Top, h), imageIndex(y1, p.Top, h)
			dst := out.Data[((b*oh+r)*ow)*c:]
			for col := 0; col < ow; col++ {
				fx := fxs[col]
				tl := pixel(img, iy0, x0s[col])
				tr := pixel(img, iy0, x1s[col])
				bl := pixel(img, iy1, x0s[col])
				br := pixel(img, iy1, x1s[col])
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

// imageIndex maps a coordinate of the padded image to the image, or -1 when
// it lies in the padding.
func imageIndex(v, before, size int) int {
	v -= before
	if v < 0 || v >= size {
		return -1
	}
	return v
}

// SquarePadding is the padding PadToSquare adds to an h×w image: zeros
// up to a square of side max(h, w), all at the bottom or right, or, when
// centred, split with the odd row or column at the end (face-api's rule:
// round(diff/2) after, the rest before).
func SquarePadding(h, w int, centred bool) Padding {
	diff := h - w
	if diff < 0 {
		diff = -diff
	}
	after := diff
	if centred {
		after = int(math.Floor(float64(diff)*0.5 + 0.5)) // JS Math.round
	}
	before := diff - after
	if h < w {
		return Padding{Top: before, Bottom: after}
	}
	return Padding{Left: before, Right: after}
}
