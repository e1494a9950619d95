package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestPooling(t *testing.T) {
	// 3×3 single channel, values 1..9.
	x := tensor.From([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 3, 3, 1)
	// 2×2 stride 2 SAME: windows {1,2,4,5} {3,6} {7,8} {9}.
	win := Window{KH: 2, KW: 2, Stride: 2, Mode: Same}
	if got := MaxPool(nil, x, win).Data; fmt.Sprint(got) != "[5 6 8 9]" {
		t.Errorf("max pool SAME = %v", got)
	}
	if got := AvgPool(nil, x, win).Data; fmt.Sprint(got) != "[3 4.5 7.5 9]" {
		t.Errorf("avg pool SAME = %v (padding must not count)", got)
	}
	// VALID drops the last odd row and column.
	win.Mode = Valid
	if got := AvgPool(nil, x, win).Data; fmt.Sprint(got) != "[3]" {
		t.Errorf("avg pool VALID = %v", got)
	}
	if got := MaxPool(nil, x, Window{KH: 3, KW: 3, Stride: 2, Mode: Valid}).Data; fmt.Sprint(got) != "[9]" {
		t.Errorf("3×3 max pool VALID = %v", got)
	}
	if got := GlobalAvgPool(nil, x).Data; got[0] != 5 {
		t.Errorf("global avg = %v", got)
	}
	mustPanic(t, "stride 0", func() { MaxPool(nil, x, Window{KH: 2, KW: 2}) })
}

// TestMaxPool2x2 compares the 2×2 path of MaxPool (Go loop and assembly
// kernel) with the generic pool bit for bit over strides, padding modes and
// odd sizes, including NaN and signed zeros.
func TestMaxPool2x2(t *testing.T) {
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
		{1, 6, 9, 8, Window{KH: 2, KW: 2, Stride: 3, Mode: Explicit, Pad: Padding{1, 0, 2, 0}}},
		{1, 1, 1, 5, Window{KH: 2, KW: 2, Stride: 2, Mode: Same}},
		{1, 1, 5, 8, Window{KH: 2, KW: 2, Stride: 2, Mode: Valid}}, // no output row
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
		want := pool(nil, x, c.win, true)
		for _, asm := range kernelChoices(t) {
			useAVX2 = asm
			var arena tensor.Arena
			for round := 0; round < 2; round++ { // the second round reuses (dirty) arena memory
				sameBits(t, fmt.Sprintf("%s asm=%v", name, asm), MaxPool(&arena, x, c.win), want)
				arena.Reset()
			}
		}
	}
}

// BenchmarkMaxPool times the tiny detector's first pool, 2×2 stride 2 on
// 414×414×16, and the recognition net's 3×3 stride 2 pool on 73×73×32.
func BenchmarkMaxPool(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range []struct {
		h, c int
		win  Window
	}{
		{414, 16, Window{KH: 2, KW: 2, Stride: 2, Mode: Same}},
		{73, 32, Window{KH: 3, KW: 3, Stride: 2, Mode: Valid}},
	} {
		x := randTensor(r, 1, s.h, s.h, s.c)
		for _, asm := range kernelChoices(b) {
			b.Run(fmt.Sprintf("%dx%dx%d_k%d_asm=%v", s.h, s.h, s.c, s.win.KH, asm), func(b *testing.B) {
				useAVX2 = asm
				var arena tensor.Arena
				for b.Loop() {
					MaxPool(&arena, x, s.win)
					arena.Reset()
				}
			})
		}
	}
}
