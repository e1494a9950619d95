package analysis

import (
	"math"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/tensor"
)

// The crops of faceplugin-face-recognition-js 0.0.1 (lib/fr_*.js), whose
// arithmetic is kept: a box enlarged about its centre and shifted back
// inside the image (the Silent-Face-Anti-Spoofing crop the package
// ports), cut with truncated integer corners, then resized with OpenCV's
// cv.resize (INTER_LINEAR) to the network's input, uint8 per channel.

// rectInt is a pixel rectangle, [X, X+W) × [Y, Y+H).
type rectInt struct{ X, Y, W, H int }

// enlarged is the package's alignLivenessImage/alignAgeImage rectangle:
// the box (its corners truncated to integers, as the package does) scaled
// by scale about its centre, at most to the image, and shifted inside it.
func enlarged(box face.Rect, scale float64, imgW, imgH int) rectInt {
	x1, y1 := math.Trunc(box.X), math.Trunc(box.Y)
	bw, bh := math.Abs(math.Trunc(box.Right())-x1), math.Abs(math.Trunc(box.Bottom())-y1)
	bw, bh = max(bw, 1), max(bh, 1)
	srcW, srcH := float64(imgW), float64(imgH)
	scale = min((srcH-1)/bh, (srcW-1)/bw, scale)
	nw, nh := bw*scale, bh*scale
	cx, cy := x1+bw/2, y1+bh/2
	l, t, r, b := cx-nw/2, cy-nh/2, cx+nw/2, cy+nh/2
	if l < 0 {
		r -= l
		l = 0
	}
	if t < 0 {
		b -= t
		t = 0
	}
	if r > srcW-1 {
		l -= r - srcW + 1
		r = srcW - 1
	}
	if b > srcH-1 {
		t -= b - srcH + 1
		b = srcH - 1
	}
	rc := rectInt{X: max(int(l), 0), Y: max(int(t), 0), W: min(int(r-l), imgW-1), H: min(int(b-t), imgH-1)}
	return clampRect(rc, imgW, imgH)
}

// clampRect keeps r inside a w×h image and at least one pixel large.
func clampRect(r rectInt, w, h int) rectInt {
	r.X, r.Y = min(max(r.X, 0), w-1), min(max(r.Y, 0), h-1)
	r.W, r.H = min(max(r.W, 1), w-r.X), min(max(r.H, 1), h-r.Y)
	return r
}

// resizeLinear cuts r out of img [H, W, C] (values 0..255) and resizes it
// to size×size with OpenCV's INTER_LINEAR sample positions (pixel centres
// aligned, edges replicated, no smoothing when shrinking), rounding each
// value to an integer as cv.resize does for a uint8 image. OpenCV computes
// the weights in 11-bit fixed point; this uses float64, so a value may
// differ from OpenCV's by one.
func resizeLinear(img *tensor.Tensor, r rectInt, size int) []uint8 {
	w, c := img.Shape[1], img.Shape[2]
	out := make([]uint8, size*size*c)
	type tap struct {
		i0, i1 int
		f      float64
	}
	taps := func(n int) []tap {
		ts := make([]tap, size)
		scale := float64(n) / float64(size)
		for d := range ts {
			f := (float64(d)+0.5)*scale - 0.5
			s := int(math.Floor(f))
			f -= float64(s)
			if s < 0 {
				s, f = 0, 0
			}
			if s >= n-1 {
				s, f = n-1, 0
			}
			ts[d] = tap{s, min(s+1, n-1), f}
		}
		return ts
	}
	tx, ty := taps(r.W), taps(r.H)
	for y, ry := range ty {
		row0 := (r.Y + ry.i0) * w
		row1 := (r.Y + ry.i1) * w
		for x, rx := range tx {
			c00, c01 := (row0+r.X+rx.i0)*c, (row0+r.X+rx.i1)*c
			c10, c11 := (row1+r.X+rx.i0)*c, (row1+r.X+rx.i1)*c
			for k := 0; k < c; k++ {
				top := float64(img.Data[c00+k])*(1-rx.f) + float64(img.Data[c01+k])*rx.f
				bot := float64(img.Data[c10+k])*(1-rx.f) + float64(img.Data[c11+k])*rx.f
				out[(y*size+x)*c+k] = clampByte(top*(1-ry.f) + bot*ry.f)
			}
		}
	}
	return out
}

// clampByte rounds v to the nearest integer in 0..255 (NaN is 0).
func clampByte(v float64) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(math.Round(v))
}

// grey returns the luma of an RGB uint8 image (ITU-R BT.601 weights, as
// OpenCV's RGB2GRAY; the package converts its RGBA canvas with BGR2GRAY,
// which swaps the red and blue weights: taken for a bug).
func grey(rgb []uint8) []uint8 {
	g := make([]uint8, len(rgb)/3)
	for i := range g {
		g[i] = clampByte(0.299*float64(rgb[3*i]) + 0.587*float64(rgb[3*i+1]) + 0.114*float64(rgb[3*i+2]))
	}
	return g
}

// eyeRects are the package's squares around the eyes (getEyeBBox): centred
// on the mean of the four lid points of each eye (37, 38, 40, 41 and 43,
// 44, 46, 47), 1.6 times the corner-to-corner width on a side, inside the
// image. "Left" is the eye on the image's left (the person's right eye).
func eyeRects(pts *[face.NumLandmarks]face.Point, imgW, imgH int) [2]rectInt {
	one := func(a, b, c, d, in, out int) rectInt {
		cx := int((pts[a].X + pts[b].X + pts[c].X + pts[d].X) / 4)
		cy := int((pts[a].Y + pts[b].Y + pts[c].Y + pts[d].Y) / 4)
		size := int((pts[out].X - pts[in].X) * 1.6)
		x, y := max(int(float64(cx)-float64(size)/2), 0), max(int(float64(cy)-float64(size)/2), 0)
		if x+size >= imgW {
			size = imgW - x - 1
		}
		if y+size >= imgH {
			size = imgH - y - 1
		}
		return clampRect(rectInt{x, y, size, size}, imgW, imgH)
	}
	return [2]rectInt{one(37, 38, 40, 41, 36, 39), one(43, 44, 46, 47, 42, 45)}
}
