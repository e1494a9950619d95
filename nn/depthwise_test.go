package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestDepthwiseMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{3, 5} {
		for _, stride := range []int{1, 2} {
			for _, mode := range []PadMode{Same, Valid} {
				x := randTensor(r, 2, 9, 10, 8)
				w := randTensor(r, k, k, 8, 1)
				d, err := NewDepthwiseConv2D(w, stride, mode)
				if err != nil {
					t.Fatal(err)
				}
				_, _, pad := d.OutSize(9, 10)
				want, shape := naiveConv(x, w, stride, pad, true)
				for _, asm := range kernelChoices(t) {
					useAVX2 = asm
					closeTo(t, fmt.Sprintf("k%d_s%d_%v asm=%v", k, stride, mode, asm), d.Forward(nil, x), want, shape, 1e-5)
				}
			}
		}
	}
}

// TestDepthwise3x3 checks the row-wise 3×3 path (Go loops and assembly
// kernels) against depthwiseGeneric, over strides, paddings, odd sizes, an
// image narrower than the kernel and the epilogue.
func TestDepthwise3x3(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		n, h, w, c, stride int
		mode               PadMode
		pad                Padding
	}{
		{1, 9, 10, 6, 1, Same, Padding{}},
		{2, 9, 10, 6, 2, Same, Padding{}},
		{1, 9, 10, 6, 1, Valid, Padding{}},
		{1, 9, 10, 6, 2, Valid, Padding{}},
		{1, 112, 112, 32, 2, Same, Padding{}}, // landmark net: pad only at the end
		{1, 207, 207, 16, 1, Same, Padding{}}, // tiny detector
		{1, 7, 7, 256, 1, Same, Padding{}},
		{1, 2, 1, 5, 1, Same, Padding{}},                   // narrower than the kernel
		{1, 5, 6, 3, 1, Explicit, Padding{3, 0, 0, 3}},     // a row with no kernel row inside
		{1, 8, 8, 17, 3, Explicit, Padding{1, 2, 2, 1}},    // odd stride and channels
		{1, 6, 5, 4, 2, Explicit, Padding{0, 0, 1, 0}},     // left-only padding
		{1, 16, 16, 1024, 1, Same, Padding{}},              // ssd's widest
		{1, 32, 32, 512, 2, Same, Padding{}},               // ssd stride 2
		{1, 3, 3, 8, 1, Explicit, Padding{10, 10, 10, 10}}, // all padding around
		{1, 1, 4, 8, 1, Valid, Padding{}},                  // no output row
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%dx%dx%d_s%d_%v_%v", c.n, c.h, c.w, c.c, c.stride, c.mode, c.pad)
		x := randTensor(r, c.n, c.h, c.w, c.c)
		w := randTensor(r, 3, 3, c.c, 1)
		d, err := NewDepthwiseConv2D(w, c.stride, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		d.Pad = c.pad
		d.Bias = randTensor(r, c.c).Data
		d.Scale = randTensor(r, c.c).Data
		d.Shift = randTensor(r, c.c).Data
		d.Act = ReLU6

		oh, ow, pad := d.OutSize(c.h, c.w)
		want := tensor.New(c.n, oh, ow, c.c)
		depthwiseGeneric(want, x, d.Window, pad, w.Data)
		affineActGo(want.Data, c.c, 0, d.Bias, d.Scale, d.Shift, d.Act)
		for _, asm := range kernelChoices(t) {
			useAVX2 = asm
			var arena tensor.Arena
			for round := 0; round < 2; round++ { // the second round reuses (dirty) arena memory
				got := d.Forward(&arena, x)
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
				}
				// The Go loops sum as depthwiseGeneric does; the FMA kernels
				// round less.
				if diff := tensor.MaxAbsDiff(got.Data, want.Data); diff > 1e-5 {
					t.Fatalf("%s asm=%v round %d: max |Δ| vs depthwiseGeneric = %g", name, asm, round, diff)
				}
				arena.Reset()
			}
		}
	}
}

func TestDepthwiseBadInput(t *testing.T) {
	if _, err := NewDepthwiseConv2D(tensor.New(3, 3, 4, 2), 1, Same); err == nil {
		t.Error("channel multiplier 2: no error")
	}
	if _, err := NewDepthwiseConv2D(tensor.New(3, 3, 4, 1), 0, Same); err == nil {
		t.Error("stride 0: no error")
	}
	d, err := NewDepthwiseConv2D(tensor.New(3, 3, 4, 1), 1, Same)
	if err != nil {
		t.Fatal(err)
	}
	mustPanic(t, "wrong channels", func() { d.Forward(nil, tensor.New(1, 5, 5, 3)) })
}

// BenchmarkDepthwise times the 3×3 depthwise layers of the tiny detector
// (207×207×16), the landmark net (56×56×32) and the ssd (32×32×512, stride
// 2), with the portable loops and the assembly kernels.
func BenchmarkDepthwise(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ h, c, stride int }{{207, 16, 1}, {56, 32, 1}, {32, 512, 2}} {
		x := randTensor(r, 1, s.h, s.h, s.c)
		d, err := NewDepthwiseConv2D(randTensor(r, 3, 3, s.c, 1), s.stride, Same)
		if err != nil {
			b.Fatal(err)
		}
		for _, asm := range kernelChoices(b) {
			b.Run(fmt.Sprintf("%dx%dx%d_s%d_asm=%v", s.h, s.h, s.c, s.stride, asm), func(b *testing.B) {
				useAVX2 = asm
				var arena tensor.Arena
				b.ReportAllocs()
				for b.Loop() {
					d.Forward(&arena, x)
					arena.Reset()
				}
			})
		}
	}
}
