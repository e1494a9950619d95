package nn

import (
	"fmt"
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
	return ResizeBilinearPadded(arena, x, Padding{}, oh, ow)
}

// ResizeBilinearPadded is ResizeBilinear(PadSpatial(x, p), oh, ow) without
// building the padded image: samples that fall in the padding read zeros.
// The result is bit for bit the same. Detectors pad a photo to a square
// before shrinking it to their input size; for a 4000×3000 photo the padded
// square alone would be 190 MB of float32.
func ResizeBilinearPadded(arena *tensor.Arena, x *tensor.Tensor, p Padding, oh, ow int) *tensor.Tensor {
	n, h, w, c := dims4(x)
	if oh < 0 || ow < 0 || p.Top < 0 || p.Bottom < 0 || p.Left < 0 || p.Right < 0 {
		panic(fmt.Sprintf("nn: resize to %d×%d with padding %+v", oh, ow, p))
	}
	out := arena.NewUninit(n, oh, ow, c)
	if len(out.Data) == 0 {
		return out
	}
	if h == 0 || w == 0 {
		panic(fmt.Sprintf("nn: resize of an empty image %v to %d×%d", x.Shape, oh, ow))
	}
	ph, pw := h+p.Top+p.Bottom, w+p.Left+p.Right
	scaleY := float64(ph) / float64(oh)
	scaleX := float64(pw) / float64(ow)
	// The column taps are the same for every row.
	offset := func(x int) int {
		if x = imageIndex(x, p.Left, w); x < 0 {
			return -1
		}
		return x * c
	}
	taps := make([]resizeTap, ow)
	for col := range taps {
		sx := scaleX * float64(col)
		x0 := max(0, int(math.Floor(sx)))
		x1 := min(pw-1, int(math.Ceil(sx)))
		taps[col] = resizeTap{x0: offset(x0), x1: offset(x1), f: sx - float64(x0)}
	}
	zero := make([]float32, w*c) // a row of padding
	if oh > ph {
		resizeEnlarging(out.Data, x.Data, zero, taps, n, h, w, c, oh, ow, ph, p.Top, scaleY)
		return out
	}
	for b := 0; b < n; b++ {
		img := x.Data[b*h*w*c : (b+1)*h*w*c]
		row := func(y int) []float32 {
			if y = imageIndex(y, p.Top, h); y < 0 {
				return zero
			}
			return img[y*w*c : (y+1)*w*c]
		}
		for r := 0; r < oh; r++ {
			y0, y1, fy := sourceRows(r, scaleY, ph)
			top, bottom := row(y0), row(y1)
			dst := out.Data[((b*oh+r)*ow)*c:][:ow*c]
			if c == 3 {
				resizeRow3(dst, top, bottom, taps, fy)
			} else {
				resizeRow(dst, top, bottom, taps, fy, c)
			}
		}
	}
	return out
}

// resizeEnlarging is the row loop of ResizeBilinearPadded when the image
// grows vertically, so that consecutive output rows read the same input
// rows: each input row is interpolated along x once, into float64, and
// each output row is then one interpolation along y of two of those. The
// operations and their order are those of tfjs's kernel, which redoes
// the x pass for every output row, so the bits are the same; a 250×250
// photo enlarged to the tiny detector's 416×416 takes half the time.
// When the image shrinks the rows are rarely shared and the fused loop
// of resizeRow is faster.
func resizeEnlarging(out, in, zero []float32, taps []resizeTap, n, h, w, c, oh, ow, ph, top int, scaleY float64) {
	rows := [2]struct {
		y int
		v []float64
	}{{-1, make([]float64, ow*c)}, {-1, make([]float64, ow*c)}}
	for b := 0; b < n; b++ {
		img := in[b*h*w*c : (b+1)*h*w*c]
		rows[0].y, rows[1].y = -1, -1
		// along returns padded row y interpolated along x, computing it in
		// the slot that does not hold row keep.
		along := func(y, keep int) []float64 {
			for i := range rows {
				if rows[i].y == y {
					return rows[i].v
				}
			}
			slot := &rows[0]
			if slot.y == keep {
				slot = &rows[1]
			}
			slot.y = y
			src := zero
			if iy := imageIndex(y, top, h); iy >= 0 {
				src = img[iy*w*c : (iy+1)*w*c]
			}
			if c == 3 {
				alongRow3(slot.v, src, taps)
			} else {
				alongRow(slot.v, src, taps, c)
			}
			return slot.v
		}
		for r := 0; r < oh; r++ {
			y0, y1, fy := sourceRows(r, scaleY, ph)
			up := along(y0, -1)
			down := along(y1, y0)
			dst := out[((b*oh+r)*ow)*c:][:ow*c]
			down = down[:len(dst)]
			for i, u := range up[:len(dst)] {
				dst[i] = float32(lerp(u, down[i], fy))
			}
		}
	}
}

// sourceRows is where output row r samples a padded input of ph rows:
// its two rows and the weight of the second.
func sourceRows(r int, scaleY float64, ph int) (y0, y1 int, fy float64) {
	sy := scaleY * float64(r)
	y0 = max(0, int(math.Floor(sy)))
	y1 = min(ph-1, int(math.Ceil(sy)))
	return y0, y1, sy - float64(y0)
}

// resizeTap is where an output column samples the input: the offsets of
// its two input columns in a row (-1 for a column of padding) and the
// weight of the second.
type resizeTap struct {
	x0, x1 int
	f      float64
}

// lerp is a + (b - a)·f in float64 with the product rounded before the sum,
// as tfjs computes it (no fused multiply-add).
func lerp(a, b, f float64) float64 { return a + float64((b-a)*f) }

// alongRow interpolates one input row of c-channel pixels along x at the
// column taps, in float64.
func alongRow(dst []float64, src []float32, taps []resizeTap, c int) {
	px := func(off, i int) float64 {
		if off < 0 {
			return 0
		}
		return float64(src[off+i])
	}
	for col, t := range taps {
		d := dst[col*c : (col+1)*c]
		for i := range d {
			d[i] = lerp(px(t.x0, i), px(t.x1, i), t.f)
		}
	}
}

// alongRow3 is alongRow for RGB images, the input of every network, with
// the channel loop unrolled.
func alongRow3(dst []float64, src []float32, taps []resizeTap) {
	for col, t := range taps {
		d := dst[col*3 : col*3+3 : col*3+3]
		if t.x0 < 0 || t.x1 < 0 {
			alongRow(d, src, taps[col:col+1], 3)
			continue
		}
		l := src[t.x0 : t.x0+3 : t.x0+3]
		r := src[t.x1 : t.x1+3 : t.x1+3]
		d[0] = lerp(float64(l[0]), float64(r[0]), t.f)
		d[1] = lerp(float64(l[1]), float64(r[1]), t.f)
		d[2] = lerp(float64(l[2]), float64(r[2]), t.f)
	}
}

// resizeRow computes one output row of c-channel pixels from its two input
// rows.
func resizeRow(dst, top, bottom []float32, taps []resizeTap, fy float64, c int) {
	px := func(row []float32, off, i int) float64 {
		if off < 0 {
			return 0
		}
		return float64(row[off+i])
	}
	for col, t := range taps {
		d := dst[col*c : (col+1)*c]
		for i := range d {
			up := lerp(px(top, t.x0, i), px(top, t.x1, i), t.f)
			down := lerp(px(bottom, t.x0, i), px(bottom, t.x1, i), t.f)
			d[i] = float32(lerp(up, down, fy))
		}
	}
}

// resizeRow3 is resizeRow for RGB images, the input of every network, with
// the channel loop unrolled.
func resizeRow3(dst, top, bottom []float32, taps []resizeTap, fy float64) {
	for col, t := range taps {
		d := dst[col*3 : col*3+3 : col*3+3]
		if t.x0 < 0 || t.x1 < 0 {
			resizeRow(d, top, bottom, taps[col:col+1], fy, 3)
			continue
		}
		tl := top[t.x0 : t.x0+3 : t.x0+3]
		tr := top[t.x1 : t.x1+3 : t.x1+3]
		bl := bottom[t.x0 : t.x0+3 : t.x0+3]
		br := bottom[t.x1 : t.x1+3 : t.x1+3]
		for i := 0; i < 3; i++ {
			up := lerp(float64(tl[i]), float64(tr[i]), t.f)
			down := lerp(float64(bl[i]), float64(br[i]), t.f)
			d[i] = float32(lerp(up, down, fy))
		}
	}
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

// PadToSquare pads each image of x [N, H, W, C] with zeros to a square of
// side max(H, W), as SquarePadding says.
func PadToSquare(arena *tensor.Arena, x *tensor.Tensor, centred bool) *tensor.Tensor {
	_, h, w, _ := dims4(x)
	if h == w {
		return x
	}
	return PadSpatial(arena, x, SquarePadding(h, w, centred))
}

// SquarePadding is the padding that makes an h×w image a square of side
// max(h, w): zeros at the bottom or right, or, when centred, split with the
// odd row or column at the end (face-api's rule: round(diff/2) after, the
// rest before).
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
