package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// naiveResize is tfjs's cpu resizeBilinear written out plainly: for every
// output value, the four input values around r·H/oh, c·W/ow and two
// rounds of linear interpolation in float64.
func naiveResize(x *tensor.Tensor, oh, ow int) *tensor.Tensor {
	n, h, w, c := dims4(x)
	out := tensor.New(n, oh, ow, c)
	at := func(b, y, xx, ch int) float64 { return float64(x.Data[((b*h+y)*w+xx)*c+ch]) }
	for b := 0; b < n; b++ {
		for r := 0; r < oh; r++ {
			sy := float64(h) / float64(oh) * float64(r)
			y0, y1 := max(0, int(math.Floor(sy))), min(h-1, int(math.Ceil(sy)))
			fy := sy - float64(y0)
			for col := 0; col < ow; col++ {
				sx := float64(w) / float64(ow) * float64(col)
				x0, x1 := max(0, int(math.Floor(sx))), min(w-1, int(math.Ceil(sx)))
				fx := sx - float64(x0)
				for ch := 0; ch < c; ch++ {
					top := at(b, y0, x0, ch) + float64((at(b, y0, x1, ch)-at(b, y0, x0, ch))*fx)
					bottom := at(b, y1, x0, ch) + float64((at(b, y1, x1, ch)-at(b, y1, x0, ch))*fx)
					out.Data[((b*oh+r)*ow+col)*c+ch] = float32(top + float64((bottom-top)*fy))
				}
			}
		}
	}
	return out
}

func TestResizeBilinearTfjs(t *testing.T) {
	// 1×2 → 1×4: scale 0.5, samples at x = 0, 0.5, 1, 1.5 (clamped to the
	// last column): 10, 15, 20, 20. No half-pixel offset.
	x := tensor.From([]float32{10, 20}, 1, 1, 2, 1)
	if got := ResizeBilinear(nil, x, 1, 4).Data; fmt.Sprint(got) != "[10 15 20 20]" {
		t.Fatalf("got %v", got)
	}
}

// TestResizeBilinear checks ResizeBilinear bit for bit against naiveResize,
// and ResizeBilinearPadded against ResizeBilinear of the padded image,
// shrinking and enlarging, with padding on any side, RGB and not.
func TestResizeBilinear(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	cases := []struct {
		h, w, c int
		p       Padding
		oh, ow  int
	}{
		{250, 180, 3, Padding{Right: 70}, 416, 416},          // tiny detector, tall photo
		{200, 250, 3, Padding{Bottom: 50}, 512, 512},         // ssd, wide photo
		{97, 120, 3, Padding{Top: 11, Bottom: 12}, 112, 112}, // landmarks: centred
		{1280, 1920, 3, Padding{Bottom: 640}, 416, 416},      // a photo, shrunk
		{5, 3, 3, Padding{1, 2, 3, 4}, 7, 13},                // all sides
		{5, 3, 2, Padding{1, 2, 3, 4}, 7, 13},
		{1, 1, 3, Padding{Right: 1}, 3, 3},
		{10, 10, 4, Padding{}, 4, 4}, // no padding
		{9, 7, 1, Padding{}, 20, 3},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%dx%d_%+v_to%dx%d", c.h, c.w, c.c, c.p, c.oh, c.ow)
		x := randTensor(r, 1, c.h, c.w, c.c)
		padded := PadSpatial(nil, x, c.p)
		want := naiveResize(padded, c.oh, c.ow)
		sameBits(t, name+" unpadded", ResizeBilinear(nil, padded, c.oh, c.ow), want)
		sameBits(t, name+" padded", ResizeBilinearPadded(nil, x, c.p, c.oh, c.ow), want)
	}
	mustPanic(t, "negative padding", func() { ResizeBilinearPadded(nil, tensor.New(1, 2, 2, 3), Padding{Top: -1}, 4, 4) })
}

func TestPadToSquare(t *testing.T) {
	x := tensor.New(1, 1, 4, 1)
	for i := range x.Data {
		x.Data[i] = 1
	}
	// diff 3: centred puts round(1.5)=2 rows after, 1 before.
	got := PadToSquare(nil, x, true)
	want := "[0 0 0 0 1 1 1 1 0 0 0 0 0 0 0 0]"
	if got.Shape[1] != 4 || fmt.Sprint(got.Data) != want {
		t.Fatalf("centred: %v %v", got.Shape, got.Data)
	}
	got = PadToSquare(nil, x, false)
	if fmt.Sprint(got.Data[:4]) != "[1 1 1 1]" {
		t.Fatalf("end: %v", got.Data)
	}
}

func TestSquarePadding(t *testing.T) {
	for _, c := range []struct {
		h, w    int
		centred bool
		want    Padding
	}{
		{4, 1, true, Padding{Left: 1, Right: 2}},
		{4, 1, false, Padding{Right: 3}},
		{1, 4, true, Padding{Top: 1, Bottom: 2}},
		{97, 120, true, Padding{Top: 11, Bottom: 12}},
		{120, 97, false, Padding{Right: 23}},
		{5, 5, true, Padding{}},
	} {
		if got := SquarePadding(c.h, c.w, c.centred); got != c.want {
			t.Errorf("%d×%d centred=%v: %+v, want %+v", c.h, c.w, c.centred, got, c.want)
		}
	}
}

// BenchmarkResizeBilinear times the tiny detector's input: a 250×250 photo
// enlarged to 416×416, and a 1920×1280 photo padded and shrunk to it.
func BenchmarkResizeBilinear(b *testing.B) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, s := range []struct{ h, w int }{{250, 250}, {1280, 1920}} {
		x := randTensor(r, 1, s.h, s.w, 3)
		p := SquarePadding(s.h, s.w, false)
		b.Run(fmt.Sprintf("%dx%d", s.h, s.w), func(b *testing.B) {
			var arena tensor.Arena
			for b.Loop() {
				ResizeBilinearPadded(&arena, x, p, 416, 416)
				arena.Reset()
			}
		})
	}
}
