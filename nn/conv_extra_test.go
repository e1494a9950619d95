package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestConvFastMatchesForward checks Conv2D.ForwardFast against Forward and
// the float64 definition on the layer shapes it accelerates (and some it
// must hand to Forward), with every padding case.
func TestConvFastMatchesForward(t *testing.T) {
	defer func(v bool) { useConvC3 = v }(useConvC3)
	r := rand.New(rand.NewPCG(17, 18))
	cases := []struct {
		h, w, cout, stride int
		mode               PadMode
		pad                Padding
	}{
		{416, 416, 16, 1, Valid, Padding{}}, // tiny detector conv0
		{112, 112, 32, 2, Same, Padding{}},  // landmark dense0: pad at the end
		{64, 64, 32, 2, Same, Padding{}},    // ssd conv_0, smaller
		{9, 11, 16, 1, Same, Padding{}},     // padding on every side
		{9, 11, 32, 3, Same, Padding{}},
		{7, 10, 16, 2, Valid, Padding{}}, // odd pixel counts: the one-pixel tail
		{5, 6, 16, 1, Explicit, Padding{2, 0, 3, 0}},
		{2, 2, 16, 1, Same, Padding{}},  // smaller than the kernel: all border
		{3, 3, 32, 1, Valid, Padding{}}, // a single pixel
		{8, 8, 24, 1, Same, Padding{}},  // 24 outputs: Forward's path
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%d_to%d_s%d_%v_%v", c.h, c.w, c.cout, c.stride, c.mode, c.pad)
		x := randTensor(r, 2, c.h, c.w, 3)
		w := randTensor(r, 3, 3, 3, c.cout)
		conv, err := NewConv2D(w, c.stride, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		conv.Pad = c.pad
		conv.Bias = randTensor(r, c.cout).Data
		conv.Act = ReLU6
		want := conv.Forward(nil, x)
		for _, fast := range []bool{false, haveConvC3} {
			useConvC3 = fast
			var arena tensor.Arena
			for round := 0; round < 2; round++ { // the second round reuses (dirty) arena memory
				got := conv.ForwardFast(&arena, x)
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
				}
				if d := tensor.MaxAbsDiff(got.Data, want.Data); d > 1e-5 {
					t.Fatalf("%s fast=%v: max |Δ| vs Forward = %g", name, fast, d)
				}
				arena.Reset()
			}
		}
		conv.Bias, conv.Act = nil, Linear
		_, _, pad := conv.OutSize(c.h, c.w)
		ref, shape := naiveConv(x, w, c.stride, pad, false)
		useConvC3 = haveConvC3
		closeTo(t, name, conv.ForwardFast(nil, x), ref, shape, 1e-5)
	}
}

func benchmarkConvC3(b *testing.B, fast bool) {
	r := rand.New(rand.NewPCG(19, 20))
	x := randTensor(r, 1, 416, 416, 3)
	conv, err := NewConv2D(randTensor(r, 3, 3, 3, 16), 1, Valid)
	if err != nil {
		b.Fatal(err)
	}
	var arena tensor.Arena
	for b.Loop() {
		if fast {
			conv.ForwardFast(&arena, x)
		} else {
			conv.Forward(&arena, x)
		}
		arena.Reset()
	}
}

// The tiny detector's first layer.
func BenchmarkConv416x3to16(b *testing.B)     { benchmarkConvC3(b, false) }
func BenchmarkConvFast416x3to16(b *testing.B) { benchmarkConvC3(b, true) }
