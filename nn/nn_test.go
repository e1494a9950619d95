package nn

import (
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

// kernelChoices lists the values of useAVX2 to test: the portable Go code
// and, where the CPU has them, the assembly kernels. It restores useAVX2
// when the test ends.
func kernelChoices(t testing.TB) []bool {
	saved := useAVX2
	t.Cleanup(func() { useAVX2 = saved })
	if !haveAVX2 {
		return []bool{false}
	}
	return []bool{false, true}
}

// naiveConv is the textbook definition with TensorFlow padding, in float64.
func naiveConv(x, w *tensor.Tensor, stride int, pad Padding, depthwise bool) ([]float64, []int) {
	n, h, wd, cin := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	kh, kw := w.Shape[0], w.Shape[1]
	cout := w.Shape[3]
	if depthwise {
		cout = cin
	}
	oh := outLen(h+pad.Top+pad.Bottom, kh, stride)
	ow := outLen(wd+pad.Left+pad.Right, kw, stride)
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

// closeTo checks got against float64 values within a relative tolerance.
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

// sameBits checks that got and want hold the same float32 values bit for
// bit (which tells -0 from +0), any NaN matching any NaN.
func sameBits(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
	}
	for i, w := range want.Data {
		g := got.Data[i]
		if g != g && w != w {
			continue
		}
		if !sameOrFlushed(g, w) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, g, w)
		}
	}
}

// sameOrFlushed reports whether got has want's bits, or is a zero where want
// is a zero or subnormal: the assembly kernels run with subnormals flushed
// to zero (MXCSR's DAZ and FTZ, see the generator in asm), which is the one
// way they may differ from the Go loops.
func sameOrFlushed(got, want float32) bool {
	if math.Float32bits(got) == math.Float32bits(want) {
		return true
	}
	return got == 0 && math.Abs(float64(want)) < 0x1p-126
}

// specials are values that the elementwise kernels must treat as Go does.
var specials = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
	0, float32(math.Copysign(0, -1)), 6, 6.0000005, 5.9999995, -6,
	-1e-30, 1e-30, 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32,
}

// sprinkleSpecials overwrites about a third of x, at random places, with
// special values, and every every-th value with -0, so that every lane and
// unrolled block of a kernel meets them (and -0 meets -0 in sums when every
// is the same for both operands).
func sprinkleSpecials(r *rand.Rand, x []float32, every int) {
	for i := range x {
		switch {
		case i%every == 0:
			x[i] = float32(math.Copysign(0, -1))
		case r.IntN(3) == 0:
			x[i] = specials[r.IntN(len(specials))]
		}
	}
}

// mustPanic checks that f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}
