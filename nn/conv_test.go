package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestConv2DMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		n, h, w, cin, k, cout, stride int
		mode                          PadMode
	}{
		{1, 7, 7, 3, 3, 5, 1, Same},
		{1, 7, 7, 3, 3, 5, 2, Same},
		{2, 9, 8, 4, 3, 17, 2, Valid},
		{1, 150, 150, 3, 7, 32, 2, Valid},
		{1, 35, 35, 32, 3, 32, 1, Same},
		{1, 8, 8, 8, 1, 13, 1, Valid},     // plain GEMM path
		{1, 64, 64, 8, 1, 1024, 1, Valid}, // plain GEMM path, wide
		{3, 5, 6, 7, 1, 9, 2, Same},       // 1×1 strided
		{1, 4, 4, 16, 3, 16, 2, Valid},    // 4 → 1
		{1, 13, 11, 5, 5, 3, 3, Same},
		{1, 2, 2, 3, 3, 4, 1, Same},    // kernel larger than the image
		{1, 9, 9, 3, 3, 16, 2, Same},   // the direct kernel's shapes
		{2, 10, 7, 3, 3, 32, 1, Valid}, // the direct kernel's shapes
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%dx%dx%d_k%d_s%d_%v_to%d", c.n, c.h, c.w, c.cin, c.k, c.stride, c.mode, c.cout)
		x := randTensor(r, c.n, c.h, c.w, c.cin)
		w := randTensor(r, c.k, c.k, c.cin, c.cout)
		conv, err := NewConv2D(w, c.stride, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		_, _, pad := conv.OutSize(c.h, c.w)
		want, shape := naiveConv(x, w, c.stride, pad, false)
		for _, asm := range kernelChoices(t) {
			useAVX2 = asm
			var arena tensor.Arena
			for round := 0; round < 2; round++ { // the second round reuses the arena
				got := conv.Forward(&arena, x)
				closeTo(t, fmt.Sprintf("%s asm=%v", name, asm), got, want, shape, 1e-4)
				arena.Reset()
			}
		}
	}
}

func TestSamePaddingIsTensorFlows(t *testing.T) {
	// in=112, k=3, s=2: out 56, total pad 1, all of it at the end.
	win := Window{KH: 3, KW: 3, Stride: 2, Mode: Same}
	oh, ow, p := win.OutSize(112, 112)
	if oh != 56 || ow != 56 || p != (Padding{0, 1, 0, 1}) {
		t.Fatalf("got %d×%d %+v", oh, ow, p)
	}
	// 207 with a 2×2/2 pool: out 104, one padded row at the bottom.
	win = Window{KH: 2, KW: 2, Stride: 2, Mode: Same}
	if oh, _, p = win.OutSize(207, 207); oh != 104 || p.Top != 0 || p.Bottom != 1 {
		t.Fatalf("got %d %+v", oh, p)
	}
}

// TestWindowLargerThanInput checks that a VALID window that does not fit
// gives an empty output rather than a made-up pixel or a panic.
func TestWindowLargerThanInput(t *testing.T) {
	win := Window{KH: 3, KW: 3, Stride: 2, Mode: Valid}
	if oh, ow, _ := win.OutSize(2, 5); oh != 0 || ow != 2 {
		t.Fatalf("2×5 input: %d×%d output, want 0×2", oh, ow)
	}
	conv, err := NewConv2D(tensor.New(3, 3, 3, 16), 2, Valid)
	if err != nil {
		t.Fatal(err)
	}
	for _, asm := range kernelChoices(t) {
		useAVX2 = asm
		if got := conv.Forward(nil, tensor.New(1, 2, 5, 3)); !tensor.SameShape(got.Shape, []int{1, 0, 2, 16}) {
			t.Errorf("asm=%v: conv output %v", asm, got.Shape)
		}
	}
}

func TestConv2DEpilogue(t *testing.T) {
	x := tensor.From([]float32{1, -2}, 1, 1, 1, 2)
	w := tensor.From([]float32{1, 0, 0, 1}, 1, 1, 2, 2) // identity
	conv, _ := NewConv2D(w, 1, Valid)
	conv.Bias = []float32{1, 1}
	conv.Scale = []float32{2, 3}
	conv.Shift = []float32{-1, 0}
	conv.Act = ReLU
	got := conv.Forward(nil, x)
	// ((1+1)*2)-1 = 3; ((-2+1)*3)+0 = -3 → 0
	if got.Data[0] != 3 || got.Data[1] != 0 {
		t.Fatalf("got %v", got.Data)
	}
	conv.Bias = []float32{1}
	mustPanic(t, "short bias", func() { conv.Forward(nil, x) })
}

// TestConvDirect checks the direct kernel of 3×3 convolutions of RGB
// images against the im2col + GEMM path and the float64 definition, with
// every padding case and the epilogue.
func TestConvDirect(t *testing.T) {
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
		{8, 8, 24, 1, Same, Padding{}},  // 24 outputs: the GEMM path
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
		choices := kernelChoices(t)
		useAVX2 = false
		want := conv.Forward(nil, x) // im2col + GEMM
		for _, asm := range choices {
			useAVX2 = asm
			if direct := asm && c.cout%16 == 0; conv.direct() != direct {
				t.Fatalf("%s asm=%v: direct() = %v, want %v", name, asm, conv.direct(), direct)
			}
			var arena tensor.Arena
			for round := 0; round < 2; round++ { // the second round reuses (dirty) arena memory
				got := conv.Forward(&arena, x)
				if !tensor.SameShape(got.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
				}
				if d := tensor.MaxAbsDiff(got.Data, want.Data); d > 1e-5 {
					t.Fatalf("%s asm=%v: max |Δ| vs im2col + GEMM = %g", name, asm, d)
				}
				arena.Reset()
			}
		}
		conv.Bias, conv.Act = nil, Linear
		_, _, pad := conv.OutSize(c.h, c.w)
		ref, shape := naiveConv(x, w, c.stride, pad, false)
		closeTo(t, name, conv.Forward(nil, x), ref, shape, 1e-5)
	}
}

// BenchmarkConv3x3RGB times the tiny detector's first layer, 416×416×3 →
// 16 with bias and leaky ReLU, computed directly (where the CPU allows) and
// by im2col + GEMM.
func BenchmarkConv3x3RGB(b *testing.B) {
	r := rand.New(rand.NewPCG(19, 20))
	x := randTensor(r, 1, 416, 416, 3)
	conv, err := NewConv2D(randTensor(r, 3, 3, 3, 16), 1, Valid)
	if err != nil {
		b.Fatal(err)
	}
	conv.Bias, conv.Act = randTensor(r, 16).Data, Leaky
	oh, ow, pad := conv.OutSize(416, 416)
	var arena tensor.Arena
	b.Run("direct", func(b *testing.B) {
		if !conv.direct() {
			b.Skip("no direct kernel on this CPU")
		}
		for b.Loop() {
			conv.Forward(&arena, x)
			arena.Reset()
		}
	})
	b.Run("gemm", func(b *testing.B) {
		for b.Loop() {
			conv.forwardGEMM(&arena, arena.NewUninit(1, oh, ow, 16), x, pad)
			arena.Reset()
		}
	})
}

// BenchmarkConv1x1 times a pointwise layer of the ssd backbone, 32×32×512 →
// 512 with an affine epilogue and ReLU6.
func BenchmarkConv1x1(b *testing.B) {
	r := rand.New(rand.NewPCG(21, 22))
	x := randTensor(r, 1, 32, 32, 512)
	conv, err := NewConv2D(randTensor(r, 1, 1, 512, 512), 1, Same)
	if err != nil {
		b.Fatal(err)
	}
	conv.Bias, conv.Act = randTensor(r, 512).Data, ReLU6
	var arena tensor.Arena
	for b.Loop() {
		conv.Forward(&arena, x)
		arena.Reset()
	}
}
