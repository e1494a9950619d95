package face

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/tensor"
)

// Alignment names how a detected face is cut out for the descriptor.
type Alignment string

const (
	// AlignDlib warps the face with a similarity transform (rotation, scale,
	// shift) that puts the eyes, nose and mouth where dlib's mean face has
	// them, on a 150×150 chip with 0.25 padding: how dlib cut the training
	// chips of the descriptor network.
	AlignDlib Alignment = "dlib"
	// AlignFaceAPI reproduces face-api's axis-aligned square crop around the
	// eyes and mouth (no rotation), for parity with the reference.
	AlignFaceAPI Alignment = "faceapi"
	// AlignArcFace is the 112×112 chip of the ArcFace family (InsightFace's
	// norm_crop): a similarity transform of five points, the eye centres,
	// the nose tip and the mouth corners, onto their template.
	AlignArcFace Alignment = "arcface"
)

// The pretrained descriptor networks (Options.Descriptor).
const (
	DescriptorDlib          = "dlib"
	DescriptorMobileFaceNet = "mobilefacenet"
)

// TrainedAlignment is the crop a network from facerec train reads: the one
// its checkpoint records, or dlib's for a checkpoint that records none
// (written before the crop was recorded, or a head on dlib's ResNet).
func TrainedAlignment(cfg model.EmbedNetConfig) Alignment {
	if cfg.Align != "" {
		return Alignment(cfg.Align)
	}
	return AlignDlib
}

// parseAlignment checks an alignment name.
func parseAlignment(s string) (Alignment, error) {
	switch a := Alignment(s); a {
	case AlignDlib, AlignFaceAPI, AlignArcFace:
		return a, nil
	}
	return "", fmt.Errorf("face: unknown alignment %q (want dlib, faceapi or arcface)", s)
}

// chipPadding is dlib's padding for descriptor chips (get_face_chip with 0.25).
const chipPadding = 0.25

// dlibMeanFace is dlib's mean face shape (image_transforms/interpolation.h)
// for the 68-point landmarks 17..67, in a unit square.
var dlibMeanFace = [51][2]float64{
	{0.000213256, 0.106454}, {0.0752622, 0.038915}, {0.18113, 0.0187482}, {0.29077, 0.0344891}, {0.393397, 0.0773906},
	{0.586856, 0.0773906}, {0.689483, 0.0344891}, {0.799124, 0.0187482}, {0.904991, 0.038915}, {0.98004, 0.106454},
	{0.490127, 0.203352}, {0.490127, 0.307009}, {0.490127, 0.409805}, {0.490127, 0.515625}, {0.36688, 0.587326},
	{0.426036, 0.609345}, {0.490127, 0.628106}, {0.554217, 0.609345}, {0.613373, 0.587326}, {0.121737, 0.216423},
	{0.187122, 0.178758}, {0.265825, 0.179852}, {0.334606, 0.231733}, {0.260918, 0.245099}, {0.182743, 0.244077},
	{0.645647, 0.231733}, {0.714428, 0.179852}, {0.793132, 0.178758}, {0.858516, 0.216423}, {0.79751, 0.244077},
	{0.719335, 0.245099}, {0.254149, 0.780233}, {0.340985, 0.745405}, {0.428858, 0.727388}, {0.490127, 0.742578},
	{0.551395, 0.727388}, {0.639268, 0.745405}, {0.726104, 0.780233}, {0.642159, 0.864805}, {0.556721, 0.902192},
	{0.490127, 0.909281}, {0.423532, 0.902192}, {0.338094, 0.864805}, {0.290379, 0.784792}, {0.428096, 0.778746},
	{0.490127, 0.785343}, {0.552157, 0.778746}, {0.689874, 0.784792}, {0.553364, 0.824182}, {0.490127, 0.831803},
	{0.42689, 0.824182},
}

// similarity is x' = [a −b; b a]·x + t: rotation, uniform scale and shift.
type similarity struct{ a, b, tx, ty float64 }

func (s similarity) apply(x, y float64) (float64, float64) {
	return s.a*x - s.b*y + s.tx, s.b*x + s.a*y + s.ty
}

// fitSimilarity is the least-squares similarity transform taking from[i]
// to to[i] (the closed form of Umeyama's method in 2-D).
func fitSimilarity(from, to [][2]float64) similarity {
	n := float64(len(from))
	var fx, fy, tx, ty float64
	for i := range from {
		fx += from[i][0]
		fy += from[i][1]
		tx += to[i][0]
		ty += to[i][1]
	}
	fx, fy, tx, ty = fx/n, fy/n, tx/n, ty/n
	var num1, num2, den float64
	for i := range from {
		px, py := from[i][0]-fx, from[i][1]-fy
		qx, qy := to[i][0]-tx, to[i][1]-ty
		num1 += px*qx + py*qy
		num2 += px*qy - py*qx
		den += px*px + py*py
	}
	s := similarity{a: num1 / den, b: num2 / den}
	s.tx = tx - (s.a*fx - s.b*fy)
	s.ty = ty - (s.b*fx + s.a*fy)
	return s
}

// dlibChipTransform maps chip pixel coordinates to image coordinates for a
// size×size chip, from 68 landmarks, as dlib's get_face_chip_details does:
// it fits the mean face to the landmarks 17..67 without the eyebrows
// (17..26) and the lower lip (55..59, 65..67), which vary most with
// expression.
func dlibChipTransform(pts *[68]model.Point, size int, padding float64) similarity {
	var from, to [][2]float64
	for i := 17; i < 68; i++ {
		if i <= 26 || (55 <= i && i <= 59) || (65 <= i && i <= 67) {
			continue
		}
		m := dlibMeanFace[i-17]
		from = append(from, [2]float64{
			(padding + m[0]) / (2*padding + 1) * float64(size),
			(padding + m[1]) / (2*padding + 1) * float64(size),
		})
		to = append(to, [2]float64{pts[i].X, pts[i].Y})
	}
	return fitSimilarity(from, to)
}

// ShapeError measures how far 68 landmarks are from a face's shape: the
// root-mean-square distance of the points 17..67 from dlib's mean face
// after the least-squares rotation, scale and shift that takes them onto
// it, in units of the mean face's width (eye corner to eye corner is
// about 0.74). It is 0 for the mean face itself; frontal faces give about
// 0.02–0.05 and strong expressions or turned heads up to about 0.13.
func ShapeError(pts *[model.NumLandmarks]model.Point) float64 {
	var from [len(dlibMeanFace)][2]float64
	for i := range from {
		from[i] = [2]float64{pts[17+i].X, pts[17+i].Y}
	}
	t := fitSimilarity(from[:], dlibMeanFace[:])
	var ss float64
	for i, q := range from {
		x, y := t.apply(q[0], q[1])
		m := dlibMeanFace[i]
		ss += (x-m[0])*(x-m[0]) + (y-m[1])*(y-m[1])
	}
	if e := math.Sqrt(ss / float64(len(from))); !math.IsNaN(e) {
		return e
	}
	return math.Inf(1) // every point in one place
}

// alignedChip cuts the dlib-aligned 150×150 chip [150, 150, 3] out of img
// [H, W, 3] given the face's 68 landmarks in image pixels.
func alignedChip(arena *tensor.Arena, img *tensor.Tensor, pts *[68]model.Point) *tensor.Tensor {
	size := model.RecognitionInput
	return warp(arena, img, dlibChipTransform(pts, size, chipPadding), size)
}

// arcFaceTemplate is where the 112×112 ArcFace chip puts the five points:
// the eye centres (left, then right, as the image shows them), the nose
// tip, the mouth corners.
var arcFaceTemplate = [5][2]float64{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// fivePoints are the ArcFace points from the 68 landmarks: the means of
// each eye's six points, the nose tip (30) and the mouth corners (48, 54).
func fivePoints(pts *[68]model.Point) [5][2]float64 {
	eye := func(from int) [2]float64 {
		var x, y float64
		for i := from; i < from+6; i++ {
			x, y = x+pts[i].X, y+pts[i].Y
		}
		return [2]float64{x / 6, y / 6}
	}
	return [5][2]float64{eye(36), eye(42), {pts[30].X, pts[30].Y}, {pts[48].X, pts[48].Y}, {pts[54].X, pts[54].Y}}
}

// arcFaceChip cuts the 112×112 ArcFace chip out of img.
func arcFaceChip(arena *tensor.Arena, img *tensor.Tensor, pts *[68]model.Point) *tensor.Tensor {
	to := fivePoints(pts)
	return warp(arena, img, fitSimilarity(arcFaceTemplate[:], to[:]), 112)
}

// warp samples img at T(x, y) for every chip pixel with bilinear
// interpolation, zero outside the image. When the chip shrinks the face by
// more than 1.5×, each chip pixel averages an n×n grid of samples so that
// big photos do not alias.
func warp(arena *tensor.Arena, img *tensor.Tensor, t similarity, size int) *tensor.Tensor {
	h, w := img.Shape[0], img.Shape[1]
	out := arena.NewUninit(size, size, 3)
	scale := math.Hypot(t.a, t.b)
	n := 1
	if scale > 1.5 {
		n = int(math.Ceil(scale))
	}
	inv := 1 / float64(n*n)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var acc [3]float64
			for sy := 0; sy < n; sy++ {
				for sx := 0; sx < n; sx++ {
					// Sub-sample offsets centred on the pixel (0 when n == 1).
					fx := float64(x) + (float64(sx)+0.5)/float64(n) - 0.5
					fy := float64(y) + (float64(sy)+0.5)/float64(n) - 0.5
					ix, iy := t.apply(fx, fy)
					bilinearAdd(&acc, img.Data, h, w, ix, iy)
				}
			}
			o := (y*size + x) * 3
			for c := 0; c < 3; c++ {
				out.Data[o+c] = float32(acc[c] * inv)
			}
		}
	}
	return out
}

// bilinearAdd adds the bilinear sample of an HWC RGB image at (x, y) to acc;
// pixels outside the image count as black.
func bilinearAdd(acc *[3]float64, data []float32, h, w int, x, y float64) {
	x0f, y0f := math.Floor(x), math.Floor(y)
	x0, y0 := int(x0f), int(y0f)
	fx, fy := x-x0f, y-y0f
	for dy := 0; dy < 2; dy++ {
		yy := y0 + dy
		if yy < 0 || yy >= h {
			continue
		}
		wy := fy
		if dy == 0 {
			wy = 1 - fy
		}
		for dx := 0; dx < 2; dx++ {
			xx := x0 + dx
			if xx < 0 || xx >= w {
				continue
			}
			wx := fx
			if dx == 0 {
				wx = 1 - fx
			}
			p := (yy*w + xx) * 3
			wt := wx * wy
			acc[0] += wt * float64(data[p])
			acc[1] += wt * float64(data[p+1])
			acc[2] += wt * float64(data[p+2])
		}
	}
}

// jitterChip returns a randomly jittered copy of a square chip, as dlib's
// jitter_image makes them: the chip less a 3-pixel border, shifted by up
// to 2% of its side, zoomed in by 0–3%, rotated by up to 3° and resampled
// to the chip's size (black where it leaves the chip), then mirrored with
// probability ½.
func jitterChip(arena *tensor.Arena, chip *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	size := chip.Shape[0]
	inner := float64(size - 6)
	tx := (2*rng.Float64() - 1) * 0.02 * inner
	ty := (2*rng.Float64() - 1) * 0.02 * inner
	box := inner / (0.97 + 0.03*rng.Float64())
	angle := (2*rng.Float64() - 1) * 3 * math.Pi / 180
	mirror := rng.Float64() > 0.5
	// Output pixel (x, y) samples the chip at c + R(angle)·(x − c', y − c')·box/size.
	k := box / float64(size)
	t := similarity{a: k * math.Cos(angle), b: k * math.Sin(angle)}
	c := float64(size-1) / 2
	cx, cy := t.apply(c, c)
	t.tx, t.ty = c+tx-cx, c+ty-cy
	out := warp(arena, chip, t, size)
	if mirror {
		out = flip(arena, out)
	}
	return out
}

// Flip mirrors an HWC image left to right (test-time augmentation).
func flip(arena *tensor.Arena, img *tensor.Tensor) *tensor.Tensor {
	h, w, c := img.Shape[0], img.Shape[1], img.Shape[2]
	out := arena.NewUninit(h, w, c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			copy(out.Data[(y*w+x)*c:(y*w+x+1)*c], img.Data[(y*w+w-1-x)*c:(y*w+w-x)*c])
		}
	}
	return out
}

// rectInt is an integer pixel rectangle.
type rectInt struct{ x, y, w, h int }

// clipFloor is face-api's Rect.clipAtImageBorders: clip to the image, then
// floor all four numbers.
func clipFloor(r model.Rect, imgW, imgH int) rectInt {
	x0 := math.Max(r.X, 0)
	y0 := math.Max(r.Y, 0)
	w := math.Min(r.X+r.W-x0, float64(imgW)-x0)
	h := math.Min(r.Y+r.H-y0, float64(imgH)-y0)
	return rectInt{int(math.Floor(x0)), int(math.Floor(y0)), int(math.Floor(w)), int(math.Floor(h))}
}

// centre is face-api's getCenterPoint: the sum of the points, then divided.
func centre(pts []model.Point) model.Point {
	var c model.Point
	for _, p := range pts {
		c.X += p.X
		c.Y += p.Y
	}
	return model.Point{X: c.X / float64(len(pts)), Y: c.Y / float64(len(pts))}
}

// faceAPICropRect is the rectangle face-api feeds to the descriptor network
// (shared/oracle/ARCH.md §1.5 step 4): a square around the eyes and mouth
// sized from the eye-to-mouth distance, clipped and floored.
func faceAPICropRect(pts *[model.NumLandmarks]model.Point, box model.Rect, imgW, imgH int) (rectInt, error) {
	lm := clipFloor(box, imgW, imgH) // the landmark crop
	le, re, mo := centre(pts[36:42]), centre(pts[42:48]), centre(pts[48:68])
	dist := func(a, b model.Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }
	eyeToMouth := (dist(mo, le) + dist(mo, re)) / 2
	size := math.Floor(eyeToMouth / 0.45)
	ref := model.Point{X: (0 + le.X + re.X + mo.X) / 3, Y: (0 + le.Y + re.Y + mo.Y) / 3}
	x := math.Floor(math.Max(0, ref.X-0.5*size))
	y := math.Floor(math.Max(0, ref.Y-0.43*size))
	// Upstream adds the landmark crop's size where the image's was meant;
	// kept for parity (in practice both are larger than size).
	r := model.Rect{X: x, Y: y, W: math.Min(size, float64(lm.w)+x), H: math.Min(size, float64(lm.h)+y)}
	c := clipFloor(r, imgW, imgH)
	if c.w <= 0 || c.h <= 0 {
		return c, fmt.Errorf("face: landmarks give an empty face crop %+v", c)
	}
	return c, nil
}

// sliceHWC copies the rectangle r out of an HWC image.
func sliceHWC(arena *tensor.Arena, img *tensor.Tensor, r rectInt) *tensor.Tensor {
	w, c := img.Shape[1], img.Shape[2]
	out := arena.NewUninit(r.h, r.w, c)
	for y := 0; y < r.h; y++ {
		src := img.Data[((r.y+y)*w+r.x)*c:]
		copy(out.Data[y*r.w*c:(y+1)*r.w*c], src[:r.w*c])
	}
	return out
}
