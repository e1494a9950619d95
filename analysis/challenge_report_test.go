package analysis

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// tilt renders x as a flat print turned by deg degrees about its vertical
// axis, seen by a camera at dist image widths: a perspective view, with a
// grey background where the print does not reach.
func tilt(x *tensor.Tensor, deg, dist float64) *tensor.Tensor {
	h, w := x.Shape[0], x.Shape[1]
	out := tensor.New(h, w, 3)
	c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
	d := dist * float64(w) // the camera's distance = its focal length
	for v := 0; v < h; v++ {
		for u := 0; u < w; u++ {
			// Output pixel (u, v), centred, back to the print's (px, py):
			// u = d·px·c/(d + px·s), v = d·py/(d + px·s).
			uc, vc := float64(u)-float64(w)/2, float64(v)-float64(h)/2
			den := d*c - uc*s
			px := uc * d / den
			py := vc * (d + px*s) / d
			sx, sy := px+float64(w)/2, py+float64(h)/2
			var acc [3]float64
			if den > 0 && sx >= 0 && sx <= float64(w-1) && sy >= 0 && sy <= float64(h-1) {
				bilinear(&acc, x, sx, sy)
			} else {
				acc = [3]float64{110, 110, 110}
			}
			for k := range 3 {
				out.Data[(v*w+u)*3+k] = float32(acc[k])
			}
		}
	}
	return out
}

func bilinear(acc *[3]float64, x *tensor.Tensor, fx, fy float64) {
	w, h := x.Shape[1], x.Shape[0]
	x0, y0 := int(fx), int(fy)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	ax, ay := fx-float64(x0), fy-float64(y0)
	for k := range 3 {
		at := func(yy, xx int) float64 { return float64(x.Data[(yy*w+xx)*3+k]) }
		acc[k] = (at(y0, x0)*(1-ax)+at(y0, x1)*ax)*(1-ay) + (at(y1, x0)*(1-ax)+at(y1, x1)*ax)*ay
	}
}

// TestChallengeReport measures the turn check on what there is here: the
// AT&T people, photographed with their heads turned (ten photos each: the
// two most turned are the "frames", a real head's motion), against LFW
// photos printed and turned ±30° in front of a camera two widths away (a
// flat print's motion). A measurement: FACEREC_CHALLENGE_REPORT=1.
func TestChallengeReport(t *testing.T) {
	if os.Getenv("FACEREC_CHALLENGE_REPORT") == "" {
		t.Skip("a measurement: set FACEREC_CHALLENGE_REPORT=1")
	}
	ctx := context.Background()
	dir, err := registry.Dir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := face.Load(ctx, dir, face.DefaultOptions(), nil)
	if err != nil {
		t.Skip(err)
	}
	att := filepath.Join("..", "..", "shared", "data", "att")
	if _, err := os.Stat(att); err != nil {
		t.Skipf("needs AT&T: %v", err)
	}
	var genuine, prints []ChallengeResult
	for s := 1; s <= 40; s++ {
		var frames []face.Face
		for i := 1; i <= 10; i++ {
			img, _, err := photo.DecodeFile(filepath.Join(att, fmt.Sprintf("s%d", s), fmt.Sprintf("%d.pgm", i)), photo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if f, err := p.DetectSubject(ctx, img); err == nil {
				frames = append(frames, f)
			}
		}
		if len(frames) < 3 {
			continue
		}
		// The most frontal photo first: the challenge starts facing the camera.
		sort.Slice(frames, func(i, j int) bool {
			return math.Abs(PoseFromLandmarks(&frames[i].Landmarks).Yaw) < math.Abs(PoseFromLandmarks(&frames[j].Landmarks).Yaw)
		})
		genuine = append(genuine, CheckTurn(frames, ChallengeThresholds{}))
	}
	for _, path := range lfwSample(t, 0, 40) {
		img, _, err := photo.DecodeFile(path, photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x := photo.ImageTensor(img)
		var frames []face.Face
		for _, deg := range []float64{0, 30, -30} {
			im, err := photo.FromTensor(tilt(x, deg, 2))
			if err != nil {
				t.Fatal(err)
			}
			if f, err := p.DetectSubject(ctx, im); err == nil {
				frames = append(frames, f)
			}
		}
		if len(frames) == 3 {
			prints = append(prints, CheckTurn(frames, ChallengeThresholds{}))
		}
	}
	for _, set := range []struct {
		name string
		rs   []ChallengeResult
	}{{"AT&T heads (the ten photos of a person)", genuine}, {"LFW prints turned ±30°", prints}} {
		var par, swing []float64
		passed, turned := 0, 0
		for _, r := range set.rs {
			par = append(par, r.Parallax)
			swing = append(swing, math.Min(r.YawMax, -r.YawMin))
			if r.Passed {
				passed++
			}
			if r.YawMax >= DefaultChallenge.MinTurn && -r.YawMin >= DefaultChallenge.MinTurn {
				turned++
			}
		}
		sort.Float64s(par)
		sort.Float64s(swing)
		q := func(x []float64, f float64) float64 { return x[min(int(f*float64(len(x))), len(x)-1)] }
		t.Logf("%s: %d; turned ≥ %.0f° each way %d; passed %d; parallax min %.3f, 10%% %.3f, median %.3f, 90%% %.3f, max %.3f; smaller side of the turn median %.1f°",
			set.name, len(set.rs), DefaultChallenge.MinTurn, turned, passed, par[0], q(par, 0.1), q(par, 0.5), q(par, 0.9), par[len(par)-1], q(swing, 0.5))
	}
}
