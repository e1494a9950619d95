package analysis

import (
	"math"

	"github.com/facerec/facerec/face"
)

// Pose is the head's orientation in degrees, estimated from the 68
// landmarks: Yaw > 0 when the nose points to the image's right (the
// person turns to their left), Pitch > 0 when the face looks up, Roll > 0
// when the head tilts counter-clockwise as the image shows it. A frontal
// face is near (0, 0, 0).
type Pose struct {
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
}

// poseModel is a generic head in arbitrary units (x to the image's right,
// y up, z towards the camera): the nose tip (landmark 30), the chin (8),
// the outer eye corners (36, 45) and the mouth corners (48, 54). Only the
// ratios matter: the fit is up to scale.
var poseModel = [6][3]float64{
	{0, 0, 0}, {0, -330, -65}, {-225, 170, -135}, {225, 170, -135}, {-150, -150, -125}, {150, -150, -125},
}

var poseLandmarks = [6]int{30, 8, 36, 45, 48, 54}

// PoseFromLandmarks fits poseModel to the face's points under a scaled
// orthographic camera (a face is small against its distance to the
// camera) and returns the rotation's angles. It needs no network, and it
// is as good as the landmarks: on a profile, where the landmark net
// guesses the hidden side, the yaw is underestimated.
func PoseFromLandmarks(pts *[face.NumLandmarks]face.Point) Pose {
	var mx [3]float64
	var mu [2]float64
	for i, j := range poseLandmarks {
		for k := range 3 {
			mx[k] += poseModel[i][k] / 6
		}
		mu[0] += pts[j].X / 6
		mu[1] -= pts[j].Y / 6 // image y grows downwards
	}
	// M (2×3) = (uᵀX)(XᵀX)⁻¹ on the centred points.
	var xtx [3][3]float64
	var utx [2][3]float64
	for i, j := range poseLandmarks {
		var x [3]float64
		for k := range 3 {
			x[k] = poseModel[i][k] - mx[k]
		}
		u := [2]float64{pts[j].X - mu[0], -pts[j].Y - mu[1]}
		for a := range 3 {
			for b := range 3 {
				xtx[a][b] += x[a] * x[b]
			}
			utx[0][a] += u[0] * x[a]
			utx[1][a] += u[1] * x[a]
		}
	}
	inv, ok := invert3(xtx)
	if !ok {
		return Pose{}
	}
	var r [3][3]float64
	for row := range 2 {
		for b := range 3 {
			for a := range 3 {
				r[row][b] += utx[row][a] * inv[a][b]
			}
		}
	}
	// The rows of a scaled rotation: make them orthonormal (symmetric
	// Gram-Schmidt, so neither axis is favoured), the third their cross
	// product.
	r1, r2 := unit(r[0]), unit(r[1])
	d := dot(r1, r2) / 2
	for k := range 3 {
		r1[k], r2[k] = r1[k]-d*r2[k], r2[k]-d*r1[k]
	}
	r1, r2 = unit(r1), unit(r2)
	r3 := [3]float64{r1[1]*r2[2] - r1[2]*r2[1], r1[2]*r2[0] - r1[0]*r2[2], r1[0]*r2[1] - r1[1]*r2[0]}
	// R = Rz(roll)·Ry(yaw)·Rx(−pitch): the camera sees the model rotated.
	deg := 180 / math.Pi
	yaw := -math.Asin(max(-1, min(1, r3[0])))
	alpha := math.Atan2(r3[1], r3[2])
	roll := math.Atan2(r2[0], r1[0])
	if math.IsNaN(yaw + alpha + roll) {
		return Pose{}
	}
	return Pose{Yaw: yaw * deg, Pitch: -alpha * deg, Roll: roll * deg}
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func unit(a [3]float64) [3]float64 {
	n := math.Sqrt(dot(a, a))
	if n == 0 {
		return a
	}
	return [3]float64{a[0] / n, a[1] / n, a[2] / n}
}

// invert3 inverts a 3×3 matrix; ok is false when it is singular.
func invert3(m [3][3]float64) (inv [3][3]float64, ok bool) {
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	if math.Abs(det) < 1e-12 {
		return inv, false
	}
	for i := range 3 {
		for j := range 3 {
			// The cofactor of (j, i), over the determinant.
			a, b := (j+1)%3, (j+2)%3
			c, d := (i+1)%3, (i+2)%3
			inv[i][j] = (m[a][c]*m[b][d] - m[a][d]*m[b][c]) / det
		}
	}
	return inv, true
}
