package analysis

import (
	"math"
	"testing"

	"github.com/facerec/facerec/face"
)

// head3D is a synthetic head: poseModel's six points where the pose fit
// reads them, the other landmarks spread over the face at varied depths.
func head3D(flat bool) [face.NumLandmarks][3]float64 {
	var h [face.NumLandmarks][3]float64
	for i := range h {
		h[i] = [3]float64{-200 + float64(i%10)*45, 200 - float64(i/10)*60, -100 + 60*math.Sin(float64(i))}
	}
	for i, j := range poseLandmarks {
		h[j] = poseModel[i]
	}
	if flat {
		for i := range h {
			h[i][2] = 0
		}
	}
	return h
}

// view projects a head seen from a distant camera, the head turned by
// yaw degrees (about the vertical axis) and moved by (dx, dy).
func view(h [face.NumLandmarks][3]float64, yaw, dx, dy float64) face.Face {
	c, s := math.Cos(yaw*math.Pi/180), math.Sin(yaw*math.Pi/180)
	var f face.Face
	for i, p := range h {
		x := c*p[0] + s*p[2]
		f.Landmarks[i] = face.Point{X: 300 + dx + 0.3*x, Y: 300 + dy - 0.3*p[1]}
	}
	f.Box = face.Rect{X: 200 + dx, Y: 200 + dy, W: 200, H: 200}
	return f
}

func TestParallax(t *testing.T) {
	h := head3D(false)
	a := view(h, 0, 0, 0)
	// An affine map of the same points: no parallax.
	var b [face.NumLandmarks]face.Point
	for i, p := range a.Landmarks {
		b[i] = face.Point{X: 1.2*p.X + 0.3*p.Y + 7, Y: -0.1*p.X + 0.9*p.Y - 3}
	}
	if got := Parallax(&a.Landmarks, &b); got > 1e-9 {
		t.Errorf("parallax of an affine copy: %g", got)
	}
	turned := view(h, 25, 0, 0)
	if got := Parallax(&a.Landmarks, &turned.Landmarks); got < 0.05 {
		t.Errorf("parallax of a head turned 25°: %g", got)
	}
	flat := head3D(true)
	fa, fb := view(flat, 0, 0, 0), view(flat, 25, 0, 0)
	if got := Parallax(&fa.Landmarks, &fb.Landmarks); got > 1e-9 {
		t.Errorf("parallax of a turned plane: %g", got)
	}
	var same [face.NumLandmarks]face.Point
	if got := Parallax(&same, &same); !math.IsNaN(got) {
		t.Errorf("parallax of points in one place: %g, want NaN", got)
	}
}

func TestCheckTurn(t *testing.T) {
	h := head3D(false)
	frames := []face.Face{view(h, 0, 0, 0), view(h, 20, 5, 0), view(h, -20, -5, 2)}
	if r := CheckTurn(frames, ChallengeThresholds{}); !r.Passed || r.YawMax < 15 || r.YawMin > -15 {
		t.Errorf("a head turned both ways: %+v", r)
	}
	if r := CheckTurn(frames[:2], ChallengeThresholds{}); r.Passed {
		t.Errorf("two frames passed: %+v", r)
	}
	oneWay := []face.Face{view(h, 0, 0, 0), view(h, 20, 0, 0), view(h, 25, 0, 0)}
	if r := CheckTurn(oneWay, ChallengeThresholds{}); r.Passed {
		t.Errorf("a turn to one side passed: %+v", r)
	}
	// A photo of the head turned in front of the camera: a plane.
	flat := head3D(true)
	photo := []face.Face{view(flat, 0, 0, 0), view(flat, 35, 0, 0), view(flat, -35, 0, 0)}
	if r := CheckTurn(photo, ChallengeThresholds{}); r.Passed || r.Parallax > 1e-6 {
		t.Errorf("a turned plane passed: %+v", r)
	}
	still := []face.Face{view(h, 0, 0, 0), view(h, 0, 3, 1), view(h, 0, -2, 0)}
	if r := CheckTurn(still, ChallengeThresholds{}); r.Passed {
		t.Errorf("a still head passed: %+v", r)
	}
}

func TestCheckBlink(t *testing.T) {
	eyes := func(open float64) face.Face {
		var f face.Face
		for _, from := range []int{36, 42} {
			cx := 100.0
			if from == 42 {
				cx = 160
			}
			f.Landmarks[from] = face.Point{X: cx - 10, Y: 50}
			f.Landmarks[from+3] = face.Point{X: cx + 10, Y: 50}
			for k, dx := range []float64{-4, 4} {
				f.Landmarks[from+1+k] = face.Point{X: cx + dx, Y: 50 - 10*open}
				f.Landmarks[from+5-k] = face.Point{X: cx + dx, Y: 50 + 10*open}
			}
		}
		return f
	}
	// An eye aspect ratio of open·20/20 = open.
	if got := eyeAspect(&[]face.Face{eyes(0.3)}[0].Landmarks, 36); math.Abs(got-0.3) > 1e-9 {
		t.Fatalf("eye aspect %g, want 0.3", got)
	}
	for name, c := range map[string]struct {
		seq    []float64
		blinks int
	}{
		"one blink":         {[]float64{0.3, 0.3, 0.1, 0.05, 0.3}, 1},
		"two blinks":        {[]float64{0.3, 0.1, 0.3, 0.3, 0.1, 0.25}, 2},
		"never closed":      {[]float64{0.3, 0.25, 0.18, 0.3}, 0},
		"closed, opened":    {[]float64{0.1, 0.1, 0.3}, 0},
		"closed at the end": {[]float64{0.3, 0.1}, 0},
	} {
		var frames []face.Face
		for _, o := range c.seq {
			frames = append(frames, eyes(o))
		}
		r := CheckBlink(frames, ChallengeThresholds{})
		if r.Blinks != c.blinks || r.Passed != (c.blinks > 0) {
			t.Errorf("%s: %+v, want %d blinks", name, r, c.blinks)
		}
	}
}
