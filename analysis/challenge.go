package analysis

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/face"
)

// An active liveness check: the person answers a challenge over a few
// frames of the camera (turn the head one way and the other, or blink),
// checked from the landmarks alone. A still photo cannot blink, and when
// it is turned in front of the camera its landmarks move as one plane
// does: every point by the same affine map. A head that turns moves its
// nose against its cheeks and its outline against its features, which no
// affine map of the first frame explains; Parallax measures that.
//
// What it does not stop: a video of the person doing what is asked, a
// mask, or frames injected into the camera feed. The caller must also
// check that the frames are of one face (a track, or the descriptors).

// ChallengeThresholds are the limits of the checks.
type ChallengeThresholds struct {
	// MinTurn is how far, in degrees, the yaw must go to each side of
	// the frontal frame's.
	MinTurn float64
	// MinParallax is the smallest non-affine motion, in eye distances,
	// between the two most turned frames for the turn to count as a
	// head's rather than a tilted photo's.
	MinParallax float64
	// Closed and Open are the eye aspect ratios of a closed and an open
	// eye: a blink is an open frame, a closed one, an open one.
	Closed, Open float64
}

// DefaultChallenge are the thresholds a zero ChallengeThresholds takes:
// MinParallax from docs/analysis.md's measurement (AT&T's turned heads
// against turned LFW prints), the eye ratios from LFW's open eyes (the
// smallest of 100 was 0.22) and the usual closed-eye ratio.
var DefaultChallenge = ChallengeThresholds{MinTurn: 10, MinParallax: 0.07, Closed: 0.15, Open: 0.2}

func (t ChallengeThresholds) withDefaults() ChallengeThresholds {
	d := DefaultChallenge
	for _, p := range []struct{ v, def *float64 }{
		{&t.MinTurn, &d.MinTurn}, {&t.MinParallax, &d.MinParallax}, {&t.Closed, &d.Closed}, {&t.Open, &d.Open},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	return t
}

// ChallengeResult says whether a challenge was met, and from what.
type ChallengeResult struct {
	Passed bool   `json:"passed"`
	Reason string `json:"reason,omitempty"` // why not
	// YawMin and YawMax are the extreme yaws of the frames (landmarks),
	// relative to the first frame's.
	YawMin float64 `json:"yaw_min"`
	YawMax float64 `json:"yaw_max"`
	// Parallax is the non-affine motion between the two most turned
	// frames, in eye distances.
	Parallax float64 `json:"parallax"`
	// Blinks counts open–closed–open sequences of the eyes.
	Blinks int `json:"blinks"`
}

// CheckTurn checks frames (the face in each of a few frames, in order, the
// first roughly frontal) for a head turned at least MinTurn to each side
// with the motion of a head, not a plane.
func CheckTurn(frames []face.Face, t ChallengeThresholds) ChallengeResult {
	t = t.withDefaults()
	var r ChallengeResult
	if len(frames) < 3 {
		r.Reason = fmt.Sprintf("%d frames; a turn needs at least 3", len(frames))
		return r
	}
	y0 := PoseFromLandmarks(&frames[0].Landmarks).Yaw
	lo, hi := 0, 0
	for i := range frames {
		y := PoseFromLandmarks(&frames[i].Landmarks).Yaw - y0
		if y < r.YawMin {
			r.YawMin, lo = y, i
		}
		if y > r.YawMax {
			r.YawMax, hi = y, i
		}
	}
	r.Parallax = Parallax(&frames[lo].Landmarks, &frames[hi].Landmarks)
	switch {
	case r.YawMax < t.MinTurn || -r.YawMin < t.MinTurn:
		r.Reason = fmt.Sprintf("the head turned %.0f° and %.0f°; at least %.0f° each way is needed", r.YawMin, r.YawMax, t.MinTurn)
	case !(r.Parallax >= t.MinParallax):
		r.Reason = fmt.Sprintf("the face moved as a flat picture does (parallax %.3f < %.3f)", r.Parallax, t.MinParallax)
	default:
		r.Passed = true
	}
	return r
}

// CheckBlink checks frames for at least one blink: eyes open, then
// closed, then open again (the landmarks' eye aspect ratio).
func CheckBlink(frames []face.Face, t ChallengeThresholds) ChallengeResult {
	t = t.withDefaults()
	var r ChallengeResult
	state := 0 // 0: waiting for open, 1: open, 2: closed after open
	for i := range frames {
		ear := (eyeAspect(&frames[i].Landmarks, 36) + eyeAspect(&frames[i].Landmarks, 42)) / 2
		switch {
		case ear >= t.Open && state == 2:
			r.Blinks++
			state = 1
		case ear >= t.Open:
			state = max(state, 1)
		case ear <= t.Closed && state == 1:
			state = 2
		}
	}
	r.Passed = r.Blinks > 0
	if !r.Passed {
		r.Reason = "no blink: eyes open, closed and open again"
	}
	return r
}

// Parallax is the root-mean-square distance between the landmarks of b
// and the best affine map of a's onto them, in units of the mean eye
// distance of the two faces: zero when b is any view (under a distant
// camera) of the same plane as a, larger the more the face moved in depth.
func Parallax(a, b *[face.NumLandmarks]face.Point) float64 {
	// Least squares for b ≈ M·(a, 1): the normal equations of the 3×3
	// system, solved once for x and once for y.
	var ata [3][3]float64
	var atx, aty [3]float64
	for i := range a {
		v := [3]float64{a[i].X, a[i].Y, 1}
		for j := range 3 {
			for k := range 3 {
				ata[j][k] += v[j] * v[k]
			}
			atx[j] += v[j] * b[i].X
			aty[j] += v[j] * b[i].Y
		}
	}
	inv, ok := invert3(ata)
	if !ok {
		return math.NaN()
	}
	var mx, my [3]float64
	for j := range 3 {
		for k := range 3 {
			mx[j] += inv[j][k] * atx[k]
			my[j] += inv[j][k] * aty[k]
		}
	}
	ss := 0.0
	for i := range a {
		px := mx[0]*a[i].X + mx[1]*a[i].Y + mx[2]
		py := my[0]*a[i].X + my[1]*a[i].Y + my[2]
		ss += (px-b[i].X)*(px-b[i].X) + (py-b[i].Y)*(py-b[i].Y)
	}
	eyes := func(p *[face.NumLandmarks]face.Point) float64 {
		l, r := eyeCentre(p, 36), eyeCentre(p, 42)
		return math.Hypot(r.X-l.X, r.Y-l.Y)
	}
	d := (eyes(a) + eyes(b)) / 2
	if d == 0 {
		return math.NaN()
	}
	return math.Sqrt(ss/float64(len(a))) / d
}
