package analysis

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/facerec/facerec/photo"
)

// TestPoseAgreementReport compares the pose network with the landmarks'
// estimate on N LFW photos (no pose labels exist here, so agreement is
// all that can be measured): the correlation of each angle, in each
// channel order. A measurement: it runs only with FACEREC_POSE_REPORT=N.
func TestPoseAgreementReport(t *testing.T) {
	var n int
	if _, err := fmt.Sscan(os.Getenv("FACEREC_POSE_REPORT"), &n); err != nil || n < 2 {
		t.Skip("a measurement: set FACEREC_POSE_REPORT=N to run it on N LFW photos")
	}
	ctx, p, a := reportModels(t, Options{Pose: true})
	defer func(o bool) { poseBGR = o }(poseBGR)
	var lm [3][]float64
	var net [2][3][]float64
	for _, path := range lfwSample(t, 0, n) {
		img, _, err := photo.DecodeFile(path, photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := p.DetectSubject(ctx, img)
		if err != nil {
			continue
		}
		x := photo.ImageTensor(img)
		l := PoseFromLandmarks(&f.Landmarks)
		for k, v := range []float64{l.Yaw, l.Pitch, l.Roll} {
			lm[k] = append(lm[k], v)
		}
		for o, order := range []bool{false, true} {
			poseBGR = order
			q, err := a.pose(ctx, x, &f)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range []float64{q.Yaw, q.Pitch, q.Roll} {
				net[o][k] = append(net[o][k], v)
			}
		}
	}
	for o, name := range []string{"RGB", "BGR"} {
		for k, angle := range []string{"yaw", "pitch", "roll"} {
			t.Logf("%s %s: correlation with the landmarks %.3f over %d faces; sd landmarks %.1f°, network %.1f°; mean |difference| %.1f°",
				name, angle, corr(lm[k], net[o][k]), len(lm[k]), sd(lm[k]), sd(net[o][k]), meanAbsDiff(lm[k], net[o][k]))
		}
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func sd(x []float64) float64 {
	m, s := mean(x), 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)))
}

func corr(a, b []float64) float64 {
	ma, mb, s := mean(a), mean(b), 0.0
	for i := range a {
		s += (a[i] - ma) * (b[i] - mb)
	}
	return s / float64(len(a)) / (sd(a) * sd(b))
}

func meanAbsDiff(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += math.Abs(a[i] - b[i])
	}
	return s / float64(len(a))
}
