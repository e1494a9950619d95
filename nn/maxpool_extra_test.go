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
	defer func(v bool) { useMax8 = v }(useMax8)
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
		// A NaN, and signed zeros meeting in one window: channel 1 has -0,
		// +0, -0, -0 (max +0), channel 2 four -0 (max -0).
		negZero := float32(math.Copysign(0, -1))
		x.Data[0] = float32(math.NaN())
		if c.h >= 2 && c.w >= 2 && c.c >= 3 {
			at := func(y, xx, ch int) *float32 { return &x.Data[(y*c.w+xx)*c.c+ch] }
			*at(0, 0, 1), *at(0, 1, 1), *at(1, 0, 1), *at(1, 1, 1) = negZero, 0, negZero, negZero
			*at(0, 0, 2), *at(0, 1, 2), *at(1, 0, 2), *at(1, 1, 2) = negZero, negZero, negZero, negZero
		}
		want := MaxPool(nil, x, c.win)
		asms := []bool{false}
		if haveMax8 {
			asms = append(asms, true)
		}
		for _, asm := range asms {
			useMax8 = asm
			checkMaxPool(t, fmt.Sprintf("%s asm=%v", name, asm), x, c.win, want)
		}
	}
}

func checkMaxPool(t *testing.T, name string, x *tensor.Tensor, win Window, want *tensor.Tensor) {
	t.Helper()
	var arena tensor.Arena
	for round := 0; round < 2; round++ { // the second round reuses (dirty) arena memory
		got := MaxPoolFast(&arena, x, win)
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
