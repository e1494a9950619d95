package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestResizeBilinearPadded checks that ResizeBilinearPadded gives bit for
// bit ResizeBilinear of the padded image, shrinking and enlarging, with
// padding on any side.
func TestResizeBilinearPadded(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	cases := []struct {
		h, w   int
		p      Padding
		oh, ow int
	}{
		{250, 180, Padding{Right: 70}, 416, 416},          // tiny detector, tall photo
		{200, 250, Padding{Bottom: 50}, 512, 512},         // ssd, wide photo
		{97, 120, Padding{Top: 11, Bottom: 12}, 112, 112}, // landmarks: centred
		{1280, 1920, Padding{Bottom: 640}, 416, 416},      // a photo, shrunk
		{5, 3, Padding{1, 2, 3, 4}, 7, 13},                // all sides
		{1, 1, Padding{Right: 1}, 3, 3},
		{10, 10, Padding{}, 4, 4}, // no padding
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%d_%+v_to%dx%d", c.h, c.w, c.p, c.oh, c.ow)
		x := randTensor(r, 1, c.h, c.w, 3)
		want := ResizeBilinear(nil, PadSpatial(nil, x, c.p), c.oh, c.ow)
		got := ResizeBilinearPadded(nil, x, c.p, c.oh, c.ow)
		if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
		}
		for i := range want.Data {
			if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
				t.Fatalf("%s: element %d = %v, want %v", name, i, got.Data[i], want.Data[i])
			}
		}
	}
}

// TestSquarePadding checks SquarePadding against what PadToSquare does.
func TestSquarePadding(t *testing.T) {
	for _, hw := range [][2]int{{4, 1}, {1, 4}, {5, 5}, {120, 97}, {97, 120}, {2, 7}} {
		for _, centred := range []bool{false, true} {
			h, w := hw[0], hw[1]
			x := randTensor(rand.New(rand.NewPCG(25, 26)), 1, h, w, 2)
			want := PadToSquare(nil, x, centred)
			got := PadSpatial(nil, x, SquarePadding(h, w, centred))
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
				t.Errorf("%d×%d centred=%v: padding %+v disagrees with PadToSquare", h, w, centred, SquarePadding(h, w, centred))
			}
		}
	}
}

func benchmarkResize(b *testing.B, padded bool) {
	x := randTensor(rand.New(rand.NewPCG(27, 28)), 1, 250, 250, 3)
	var arena tensor.Arena
	for b.Loop() {
		if padded {
			ResizeBilinearPadded(&arena, x, Padding{}, 416, 416)
		} else {
			ResizeBilinear(&arena, x, 416, 416)
		}
		arena.Reset()
	}
}

// The tiny detector's input: a 250×250 photo enlarged to 416×416.
func BenchmarkResizeBilinear250to416(b *testing.B)       { benchmarkResize(b, false) }
func BenchmarkResizeBilinearPadded250to416(b *testing.B) { benchmarkResize(b, true) }
