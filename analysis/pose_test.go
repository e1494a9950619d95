package analysis

import (
	"math"
	"testing"

	"github.com/facerec/facerec/face"
)

// project places poseModel's points, rotated by yaw, pitch and roll in the
// conventions of Pose, in an image (y down) at scale s around (200, 200).
func project(yaw, pitch, roll, s float64) *[face.NumLandmarks]face.Point {
	rad := math.Pi / 180
	// R = Rz(roll)·Ry(yaw)·Rx(α) with α = −pitch (see
	// PoseFromLandmarks).
	b, a, g := yaw*rad, -pitch*rad, roll*rad
	rx := [3][3]float64{{1, 0, 0}, {0, math.Cos(a), -math.Sin(a)}, {0, math.Sin(a), math.Cos(a)}}
	ry := [3][3]float64{{math.Cos(b), 0, math.Sin(b)}, {0, 1, 0}, {-math.Sin(b), 0, math.Cos(b)}}
	rz := [3][3]float64{{math.Cos(g), -math.Sin(g), 0}, {math.Sin(g), math.Cos(g), 0}, {0, 0, 1}}
	mul := func(p, q [3][3]float64) (r [3][3]float64) {
		for i := range 3 {
			for j := range 3 {
				for k := range 3 {
					r[i][j] += p[i][k] * q[k][j]
				}
			}
		}
		return r
	}
	r := mul(rz, mul(ry, rx))
	var pts [face.NumLandmarks]face.Point
	for i, j := range poseLandmarks {
		m := poseModel[i]
		x := r[0][0]*m[0] + r[0][1]*m[1] + r[0][2]*m[2]
		y := r[1][0]*m[0] + r[1][1]*m[1] + r[1][2]*m[2]
		pts[j] = face.Point{X: 200 + s*x, Y: 200 - s*y}
	}
	return &pts
}

func TestPoseRecoversRotation(t *testing.T) {
	for _, c := range [][3]float64{{0, 0, 0}, {30, 0, 0}, {-25, 10, 5}, {10, -20, -15}, {0, 0, 40}, {45, 15, -10}} {
		got := PoseFromLandmarks(project(c[0], c[1], c[2], 0.3))
		if math.Abs(got.Yaw-c[0]) > 0.5 || math.Abs(got.Pitch-c[1]) > 0.5 || math.Abs(got.Roll-c[2]) > 0.5 {
			t.Errorf("pose %v: recovered %+v", c, got)
		}
	}
	// What the signs mean in the image: a positive yaw moves the nose tip
	// to the right of the eyes' midpoint, a positive roll (counter-clockwise
	// on screen) raises the eye on the image's right.
	p := project(20, 0, 0, 1)
	if mid := (p[36].X + p[45].X) / 2; p[30].X <= mid {
		t.Errorf("yaw 20: nose at x %g, eyes' midpoint %g", p[30].X, mid)
	}
	p = project(0, 0, 20, 1)
	if p[45].Y >= p[36].Y {
		t.Errorf("roll 20: right-hand eye corner at y %g, left-hand %g", p[45].Y, p[36].Y)
	}
	// Degenerate points give a zero pose, not NaN.
	var same [face.NumLandmarks]face.Point
	if got := PoseFromLandmarks(&same); got != (Pose{}) {
		t.Errorf("all points in one place: %+v", got)
	}
}
