package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

// naiveConv is the textbook definition with TensorFlow padding, in float64.
func naiveConv(x, w *tensor.Tensor, stride int, pad Padding, depthwise bool) ([]float64, []int) {
	n, h, wd, cin := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	kh, kw := w.Shape[0], w.Shape[1]
	cout := w.Shape[3]
	if depthwise {
		cout = cin
	}
	oh := (h+pad.Top+pad.Bottom-kh)/stride + 1
	ow := (wd+pad.Left+pad.Right-kw)/stride + 1
	out := make([]float64, n*oh*ow*cout)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for co := 0; co < cout; co++ {
					s := 0.0
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := oy*stride+ky-pad.Top, ox*stride+kx-pad.Left
							if iy < 0 || iy >= h || ix < 0 || ix >= wd {
								continue
							}
							if depthwise {
								s += float64(x.Data[((b*h+iy)*wd+ix)*cin+co]) * float64(w.Data[(ky*kw+kx)*cin+co])
								continue
							}
							for ci := 0; ci < cin; ci++ {
								s += float64(x.Data[((b*h+iy)*wd+ix)*cin+ci]) * float64(w.Data[((ky*kw+kx)*cin+ci)*cout+co])
							}
						}
					}
					out[((b*oh+oy)*ow+ox)*cout+co] = s
				}
			}
		}
	}
	return out, []int{n, oh, ow, cout}
}

func closeTo(t *testing.T, name string, got *tensor.Tensor, want []float64, shape []int, tol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape, shape)
	}
	for i, w := range want {
		if d := math.Abs(float64(got.Data[i]) - w); d > tol*(1+math.Abs(w)) || math.IsNaN(d) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, got.Data[i], w)
		}
	}
}

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
		{1, 8, 8, 8, 1, 13, 1, Valid},  // plain GEMM path
		{3, 5, 6, 7, 1, 9, 2, Same},    // 1×1 strided
		{1, 4, 4, 16, 3, 16, 2, Valid}, // 4 → 1
		{1, 13, 11, 5, 5, 3, 3, Same},
		{1, 2, 2, 3, 3, 4, 1, Same}, // kernel larger than the image
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
		var arena tensor.Arena
		for round := 0; round < 2; round++ { // the second round reuses the arena
			got := conv.Forward(&arena, x)
			closeTo(t, name, got, want, shape, 1e-4)
			arena.Reset()
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
}

func TestDepthwiseMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, stride := range []int{1, 2} {
		for _, mode := range []PadMode{Same, Valid} {
			x := randTensor(r, 2, 9, 10, 6)
			w := randTensor(r, 3, 3, 6, 1)
			d, err := NewDepthwiseConv2D(w, stride, mode)
			if err != nil {
				t.Fatal(err)
			}
			_, _, pad := d.OutSize(9, 10)
			want, shape := naiveConv(x, w, stride, pad, true)
			closeTo(t, fmt.Sprintf("s%d_%v", stride, mode), d.Forward(nil, x), want, shape, 1e-5)
		}
	}
}

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
	if got := GlobalAvgPool(nil, x).Data; got[0] != 5 {
		t.Errorf("global avg = %v", got)
	}
}

func TestResizeBilinearTfjs(t *testing.T) {
	// 1×2 → 1×4: scale 0.5, samples at x = 0, 0.5, 1, 1.5 (clamped to the
	// last column): 10, 15, 20, 20. No half-pixel offset.
	x := tensor.From([]float32{10, 20}, 1, 1, 2, 1)
	if got := ResizeBilinear(nil, x, 1, 4).Data; fmt.Sprint(got) != "[10 15 20 20]" {
		t.Fatalf("got %v", got)
	}
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

func TestLeakyIsMaxOfTenth(t *testing.T) {
	for _, v := range []float32{-3, -0.5, 0, 0.25, 7} {
		if got, want := leaky(v), max(v, v*0.1); math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("leaky(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestDenseAndConcat(t *testing.T) {
	w := tensor.From([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	d, err := NewDense(w, []float32{1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Forward(nil, tensor.From([]float32{1, 1, 2, 0}, 2, 2))
	if fmt.Sprint(got.Data) != "[6 8 10 3 5 7]" {
		t.Fatalf("dense = %v", got.Data)
	}
	a := tensor.From([]float32{1, 2}, 1, 1, 2, 1)
	b := tensor.From([]float32{3, 4, 5, 6}, 1, 1, 2, 2)
	if got := ConcatChannels(nil, a, b).Data; fmt.Sprint(got) != "[1 3 4 2 5 6]" {
		t.Fatalf("concat = %v", got)
	}
	if got := PadChannels(nil, a, 1).Data; fmt.Sprint(got) != "[1 0 2 0]" {
		t.Fatalf("pad channels = %v", got)
	}
}
