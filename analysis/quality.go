package analysis

import (
	"math"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/tensor"
)

// Quality says how fit a face is for recognition, with the reasons it is
// not. Measures are on the dlib-aligned 150×150 chip (the face at one
// scale and rotation, as the descriptor sees it) or on the landmarks.
type Quality struct {
	// OK is true when no reason applies.
	OK      bool     `json:"ok"`
	Reasons []string `json:"reasons"`
	// EyeDistance is the distance between the eye centres in image
	// pixels: the resolution the face was taken at.
	EyeDistance float64 `json:"eye_distance"`
	// Sharpness is the variance of the Laplacian of the chip's grey
	// values inside the face (low: blurred).
	Sharpness float64 `json:"sharpness"`
	// Brightness is the chip's mean grey value inside the face (0..255).
	Brightness float64 `json:"brightness"`
	// Contrast is the standard deviation of those grey values.
	Contrast float64 `json:"contrast"`
	// EyeOpenness is the mean eye aspect ratio of the landmarks (lid
	// distance over eye width; about 0.3 for an open eye, under 0.15
	// for a closed one).
	EyeOpenness float64 `json:"eye_openness"`
}

// The quality reasons.
const (
	ReasonSmall        = "small_face"   // EyeDistance under MinEyeDistance
	ReasonBlurred      = "blurred"      // Sharpness under MinSharpness
	ReasonDark         = "underexposed" // Brightness under MinBrightness
	ReasonBright       = "overexposed"  // Brightness over MaxBrightness
	ReasonFlat         = "low_contrast" // Contrast under MinContrast
	ReasonEyesClosed   = "eyes_closed"  // EyeOpenness under MinEyeOpenness
	ReasonPose         = "pose"         // |yaw| or |pitch| over the limit
	ReasonOutsideImage = "cut_off"      // a landmark lies outside the image
)

// QualityThresholds are the limits behind the reasons. They were chosen
// by looking at LFW's faces and degraded copies of them
// (docs/analysis.md), not fitted to a recognition target.
type QualityThresholds struct {
	MinEyeDistance float64 // pixels
	MinSharpness   float64
	MinBrightness  float64
	MaxBrightness  float64
	MinContrast    float64
	MinEyeOpenness float64 // the landmarks' eye aspect ratio
	MaxYaw         float64 // degrees
	MaxPitch       float64 // degrees
}

// DefaultQuality are the thresholds a zero QualityThresholds takes.
var DefaultQuality = QualityThresholds{
	MinEyeDistance: 24, MinSharpness: 20, MinBrightness: 50, MaxBrightness: 210, MinContrast: 18,
	MinEyeOpenness: 0.15, MaxYaw: 35, MaxPitch: 25,
}

func (q QualityThresholds) withDefaults() QualityThresholds {
	d := DefaultQuality
	for _, p := range []struct{ v, def *float64 }{
		{&q.MinEyeDistance, &d.MinEyeDistance}, {&q.MinSharpness, &d.MinSharpness},
		{&q.MinBrightness, &d.MinBrightness}, {&q.MaxBrightness, &d.MaxBrightness},
		{&q.MinContrast, &d.MinContrast}, {&q.MinEyeOpenness, &d.MinEyeOpenness},
		{&q.MaxYaw, &d.MaxYaw}, {&q.MaxPitch, &d.MaxPitch},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	return q
}

// eyeCentre is the mean of an eye's six landmarks.
func eyeCentre(pts *[face.NumLandmarks]face.Point, from int) face.Point {
	var c face.Point
	for i := from; i < from+6; i++ {
		c.X, c.Y = c.X+pts[i].X/6, c.Y+pts[i].Y/6
	}
	return c
}

// eyeAspect is the eye aspect ratio of the eye whose six points start at
// from: (|p1−p5| + |p2−p4|) / (2|p0−p3|).
func eyeAspect(pts *[face.NumLandmarks]face.Point, from int) float64 {
	d := func(a, b int) float64 { return math.Hypot(pts[from+a].X-pts[from+b].X, pts[from+a].Y-pts[from+b].Y) }
	w := d(0, 3)
	if w == 0 {
		return 0
	}
	return (d(1, 5) + d(2, 4)) / (2 * w)
}

// chipStats measures the grey chip inside the face: the rows and columns
// 30..119 of the 150×150 chip, where dlib's alignment puts the eyes, nose
// and mouth (the padding around them is background and hair).
func chipStats(chip *tensor.Tensor) (sharpness, brightness, contrast float64) {
	const size, lo, hi = 150, 30, 120
	g := make([]float64, size*size)
	for i := range g {
		g[i] = 0.299*float64(chip.Data[3*i]) + 0.587*float64(chip.Data[3*i+1]) + 0.114*float64(chip.Data[3*i+2])
	}
	var s, ss, ls, lss float64
	n := 0.0
	for y := lo; y < hi; y++ {
		for x := lo; x < hi; x++ {
			v := g[y*size+x]
			s, ss = s+v, ss+v*v
			lap := g[(y-1)*size+x] + g[(y+1)*size+x] + g[y*size+x-1] + g[y*size+x+1] - 4*v
			ls, lss = ls+lap, lss+lap*lap
			n++
		}
	}
	mean := s / n
	return lss/n - (ls/n)*(ls/n), mean, math.Sqrt(max(ss/n-mean*mean, 0))
}

func (a *Analyzer) quality(img *tensor.Tensor, f *face.Face, pose Pose) Quality {
	t := a.opt.Quality
	var q Quality
	le, re := eyeCentre(&f.Landmarks, 36), eyeCentre(&f.Landmarks, 42)
	q.EyeDistance = math.Hypot(re.X-le.X, re.Y-le.Y)
	q.Sharpness, q.Brightness, q.Contrast = chipStats(face.AlignedChipTensor(img, f))
	q.EyeOpenness = (eyeAspect(&f.Landmarks, 36) + eyeAspect(&f.Landmarks, 42)) / 2
	add := func(cond bool, reason string) {
		if cond {
			q.Reasons = append(q.Reasons, reason)
		}
	}
	// The landmarks, not the box: a detector's box is often larger than
	// the face, and leaves a tight crop that shows all of it.
	h, w := float64(img.Shape[0]), float64(img.Shape[1])
	out := false
	for _, p := range f.Landmarks {
		out = out || p.X < 0 || p.Y < 0 || p.X > w || p.Y > h
	}
	add(out, ReasonOutsideImage)
	add(q.EyeDistance < t.MinEyeDistance, ReasonSmall)
	add(q.Sharpness < t.MinSharpness, ReasonBlurred)
	add(q.Brightness < t.MinBrightness, ReasonDark)
	add(q.Brightness > t.MaxBrightness, ReasonBright)
	add(q.Contrast < t.MinContrast, ReasonFlat)
	// Not the eye network: it calls both eyes closed on about one LFW
	// face in six, nearly all with open eyes (docs/analysis.md).
	add(q.EyeOpenness < t.MinEyeOpenness, ReasonEyesClosed)
	add(math.Abs(pose.Yaw) > t.MaxYaw || math.Abs(pose.Pitch) > t.MaxPitch, ReasonPose)
	q.OK = len(q.Reasons) == 0
	if q.Reasons == nil {
		q.Reasons = []string{}
	}
	return q
}
