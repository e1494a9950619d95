package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestDepthwiseFastMatchesForward checks ForwardFast against Forward (the
// same sums in the same order) and the float64 definition, over strides,
// paddings, odd sizes, an image narrower than the kernel and the epilogue.
func TestDepthwiseFastMatchesForward(t *testing.T) {
	defer func(v bool) { useDW8 = v }(useDW8)
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

		want := d.Forward(nil, x)
		for _, asm := range kernelChoices() {
			useDW8 = asm
			var arena tensor.Arena
			for round := 0; round < 2; round++ { // the second round reuses (dirty) arena memory
				got := d.ForwardFast(&arena, x)
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
				}
				// The Go loops sum as Forward does; the FMA kernel rounds less.
				tol := 0.0
				if asm {
					tol = 1e-5
				}
				if diff := tensor.MaxAbsDiff(got.Data, want.Data); diff > tol {
					t.Fatalf("%s asm=%v round %d: max |Δ| vs Forward = %g", name, asm, round, diff)
				}
				arena.Reset()
			}
		}

		// And the definition, without the epilogue.
		d.Bias, d.Scale, d.Shift, d.Act = nil, nil, nil, Linear
		_, _, pad := d.OutSize(c.h, c.w)
		ref, shape := naiveConv(x, w, c.stride, pad, true)
		for _, asm := range kernelChoices() {
			useDW8 = asm
			closeTo(t, fmt.Sprintf("%s asm=%v", name, asm), d.ForwardFast(nil, x), ref, shape, 1e-5)
		}
	}
}

// kernelChoices lists the values of useDW8 to test: the portable loops and,
// where the CPU has it, the assembly kernel. It restores useDW8 at the end
// of the test.
func kernelChoices() []bool {
	if !haveDW8 {
		return []bool{false}
	}
	return []bool{false, true}
}

// TestDepthwiseFastOtherKernel checks that non-3×3 kernels still work (they
// take Forward's path).
func TestDepthwiseFastOtherKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randTensor(r, 1, 8, 9, 4)
	w := randTensor(r, 5, 5, 4, 1)
	d, err := NewDepthwiseConv2D(w, 2, Same)
	if err != nil {
		t.Fatal(err)
	}
	if diff := tensor.MaxAbsDiff(d.ForwardFast(nil, x).Data, d.Forward(nil, x).Data); diff != 0 {
		t.Fatalf("max |Δ| = %g", diff)
	}
}

func benchmarkDepthwise(b *testing.B, h, c, stride int, fast bool) {
	r := rand.New(rand.NewPCG(9, 10))
	x := randTensor(r, 1, h, h, c)
	d, err := NewDepthwiseConv2D(randTensor(r, 3, 3, c, 1), stride, Same)
	if err != nil {
		b.Fatal(err)
	}
	var arena tensor.Arena
	b.ReportAllocs()
	for b.Loop() {
		if fast {
			d.ForwardFast(&arena, x)
		} else {
			d.Forward(&arena, x)
		}
		arena.Reset()
	}
}

// The tiny detector's first and the landmark net's first separable layers.
func BenchmarkDepthwise207x16(b *testing.B)       { benchmarkDepthwise(b, 207, 16, 1, false) }
func BenchmarkDepthwiseFast207x16(b *testing.B)   { benchmarkDepthwise(b, 207, 16, 1, true) }
func BenchmarkDepthwise56x32(b *testing.B)        { benchmarkDepthwise(b, 56, 32, 1, false) }
func BenchmarkDepthwiseFast56x32(b *testing.B)    { benchmarkDepthwise(b, 56, 32, 1, true) }
func BenchmarkDepthwise32x512s2(b *testing.B)     { benchmarkDepthwise(b, 32, 512, 2, false) }
func BenchmarkDepthwiseFast32x512s2(b *testing.B) { benchmarkDepthwise(b, 32, 512, 2, true) }
