package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestMaxPoolFastMatchesMaxPool compares MaxPoolFast with MaxPool bit for
// bit over strides, padding modes and odd sizes, including NaN and signed
// zeros.
func TestMaxPoolFastMatchesMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		n, h, w, c int
		win        Window
	}{
		{1, 414, 414, 16, Window{KH: 2, KW: 2, Stride: 2, Mode: Same}},
		{1, 207, 207, 32, Window{KH: 2, KW: 2, Stride: 2, Mode: Same}}, // odd: padded row and column
		{1, 13, 13, 512, Window{KH: 2, KW: 2, Stride: 1, Mode: Same}},  // stride 1: pad at the end
		{2, 7, 6, 3, Window{KH: 2, KW: 2, Stride: 2, Mode: Valid}},
		{1, 5, 5, 4, Window{KH: 2, KW: 2, Stride: 2, Mode: Explicit, Pad: Padding{1, 1, 1, 1}}},
		{1, 4, 4, 2, Window{KH: 2, KW: 2, Stride: 1, Mode: Explicit, Pad: Padding{3, 0, 0, 3}}}, // windows fully in the padding
		{1, 1, 1, 5, Window{KH: 2, KW: 2, Stride: 2, Mode: Same}},
		{1, 9, 9, 3, Window{KH: 3, KW: 3, Stride: 2, Mode: Valid}}, // falls back
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%dx%dx%d_%+v", c.n, c.h, c.w, c.c, c.win)
		x := randTensor(r, c.n, c.h, c.w, c.c)
		x.Data[0], x.Data[1] = float32(math.NaN()), float32(math.Copysign(0, -1))
		if len(x.Data) > 5 {
			x.Data[5] = 0
		}
		want := MaxPool(nil, x, c.win)
		var arena tensor.Arena
		for round := 0; round < 2; round++ {
			got := MaxPoolFast(&arena, x, c.win)
			if !tensor.SameShape(got.Shape, want.Shape) {
				t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
			}
			for i := range want.Data {
				g, w := got.Data[i], want.Data[i]
				bothNaN := g != g && w != w
				if !bothNaN && math.Float32bits(g) != math.Float32bits(w) { // bits: tells -0 from +0
					t.Fatalf("%s: element %d = %v, want %v", name, i, got.Data[i], want.Data[i])
				}
			}
			arena.Reset()
		}
	}
}

func benchmarkMaxPool(b *testing.B, fast bool) {
	r := rand.New(rand.NewPCG(13, 14))
	x := randTensor(r, 1, 414, 414, 16)
	win := Window{KH: 2, KW: 2, Stride: 2, Mode: Same}
	var arena tensor.Arena
	for b.Loop() {
		if fast {
			MaxPoolFast(&arena, x, win)
		} else {
			MaxPool(&arena, x, win)
		}
		arena.Reset()
	}
}

// The tiny detector's first pool.
func BenchmarkMaxPool414x16(b *testing.B)     { benchmarkMaxPool(b, false) }
func BenchmarkMaxPoolFast414x16(b *testing.B) { benchmarkMaxPool(b, true) }
