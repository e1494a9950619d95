package model

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/tensor"
)

var (
	lmMu   sync.Mutex
	lmNets = map[string]*LandmarkNet{}
)

func testLandmarkNet(t testing.TB, name string) *LandmarkNet {
	t.Helper()
	w := testWeights(t, name)
	lmMu.Lock()
	defer lmMu.Unlock()
	if n := lmNets[name]; n != nil {
		return n
	}
	n, err := NewLandmarkNet(w)
	if err != nil {
		t.Fatal(err)
	}
	if n.Tiny() != (name == LandmarkTinyName) {
		t.Fatalf("%s: Tiny() = %v", name, n.Tiny())
	}
	lmNets[name] = n
	return n
}

// TestLandmarkGolden runs both landmark nets on the oracle's synthetic
// 112×112 crop and compares every layer, the 136 raw outputs and the pixel
// landmarks with golden.json.
func TestLandmarkGolden(t *testing.T) {
	g := readGoldenNets(t)
	for _, c := range []struct {
		name   string
		golden goldenLandmarks
	}{
		{LandmarkName, g.Landmark68},
		{LandmarkTinyName, g.Landmark68Tiny},
	} {
		t.Run(c.name, func(t *testing.T) {
			net := testLandmarkNet(t, c.name)
			img := synthetic(LandmarkInput, LandmarkInput)
			x, _, _, err := imageDims(img)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*tensor.Tensor{"normalized": normalizeMean(nil, x, recognitionMean)}
			observe(t, got["normalized"], net.Graph, func(name string, v *tensor.Tensor) { got[name] = v.Clone() })
			checked := 0
			for _, l := range c.golden.Layers {
				name := l.Name
				if strings.HasPrefix(name, "fc(") {
					name = "fc"
				}
				v, ok := got[name]
				if !ok {
					t.Errorf("layer %s: not produced", l.Name)
					continue
				}
				checkLayer(t, l, v)
				checked++
			}
			if want := 2*len(net.blocks) + 3; checked != want {
				t.Errorf("checked %d layers, want %d", checked, want)
			}

			raw, err := net.Raw(nil, img)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.golden.Raw136) != 2*NumLandmarks {
				t.Fatalf("golden raw136 has %d values", len(c.golden.Raw136))
			}
			d := tensor.MaxAbsDiff(raw[:], toF32(c.golden.Raw136))
			if d > 1e-4 {
				t.Errorf("raw136 max |Δ| = %.3g", d)
			}
			pts, err := net.Landmarks(nil, img, Rect{0, 0, LandmarkInput, LandmarkInput})
			if err != nil {
				t.Fatal(err)
			}
			dPx := 0.0
			for i, p := range pts {
				q := c.golden.LandmarksPx[i]
				dPx = math.Max(dPx, math.Hypot(p.X-q[0], p.Y-q[1]))
			}
			if dPx > 0.01 {
				t.Errorf("landmarks max distance %.3g px", dPx)
			}
			t.Logf("raw136 max |Δ| %.2g, landmarks max distance %.2g px", d, dPx)
		})
	}
}

// TestLandmarkPoints checks the mapping from raw outputs to pixels on hand
// computed values: a 50×100 (w×h) crop sits in the 112 square scaled by
// 1.12 as 56×112 with 28 columns of padding on each side, and the points
// are shifted by the unfloored box origin.
func TestLandmarkPoints(t *testing.T) {
	var raw [2 * NumLandmarks]float32
	raw[0], raw[1] = 0.25, 0    // left edge of the face, top
	raw[2], raw[3] = 0.5, 0.5   // centre
	raw[4], raw[5] = 0.75, 1    // right edge, bottom
	raw[6], raw[7] = 0.125, 0.5 // in the left padding: negative relative x
	pts := landmarkPoints(&raw, 50, 100, 10.75, 20.5)
	want := []Point{{10.75, 20.5}, {35.75, 70.5}, {60.75, 120.5}, {-1.75, 70.5}}
	for i, w := range want {
		if math.Abs(pts[i].X-w.X) > 1e-5 || math.Abs(pts[i].Y-w.Y) > 1e-5 {
			t.Errorf("point %d = %+v, want %+v", i, pts[i], w)
		}
	}
	// A wide crop pads rows instead.
	raw[0], raw[1] = 0.5, 0.25
	pts = landmarkPoints(&raw, 100, 50, 0, 0)
	if math.Abs(pts[0].X-50) > 1e-5 || math.Abs(pts[0].Y) > 1e-5 {
		t.Errorf("wide crop: %+v, want {50 0}", pts[0])
	}
}

// TestLandmarksBadInput checks that impossible boxes and images are errors.
func TestLandmarksBadInput(t *testing.T) {
	net := testLandmarkNet(t, LandmarkTinyName)
	img := tensor.New(60, 80, 3)
	for _, c := range []struct {
		name string
		img  *tensor.Tensor
		box  Rect
	}{
		{"nil image", nil, Rect{0, 0, 10, 10}},
		{"gray image", tensor.New(60, 80, 1), Rect{0, 0, 10, 10}},
		{"box right of the image", img, Rect{90, 0, 10, 10}},
		{"box above the image", img, Rect{0, -30, 10, 10}},
		{"empty box", img, Rect{5, 5, 0, 10}},
		{"sub-pixel box", img, Rect{5, 5, 0.5, 0.5}},
		{"NaN box", img, Rect{math.NaN(), 0, 10, 10}},
	} {
		if _, err := net.Landmarks(nil, c.img, c.box); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := net.Raw(nil, tensor.New(0, 0, 3)); err == nil {
		t.Error("empty crop: no error")
	}
	// A box partly outside the image is clipped, not an error.
	if _, err := net.Landmarks(nil, img, Rect{-10, -10, 50, 50}); err != nil {
		t.Errorf("partly outside: %v", err)
	}
}

// benchmarkLandmarks times one face's landmarks (crop, resize to 112,
// network, mapping) on the 250×250 demo photo, with the box the oracle's
// tiny detector found there.
func benchmarkLandmarks(b *testing.B, name string) {
	net := testLandmarkNet(b, name)
	img := loadPNG(b, sharedtest.Path(b, "oracle", "testdata", "crops", "sample1_face0_250.png"))
	box := Rect{68.81134964103546, 96.68419048122387, 111.4782000687956, 93.77310762809348}
	var arena tensor.Arena
	b.ReportAllocs()
	for b.Loop() {
		arena.Reset()
		if _, err := net.Landmarks(&arena, img, box); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLandmarks68(b *testing.B)     { benchmarkLandmarks(b, LandmarkName) }
func BenchmarkLandmarks68Tiny(b *testing.B) { benchmarkLandmarks(b, LandmarkTinyName) }
