package nn

//go:generate go run -C asm . -kernels elementwise -out ../elementwise_amd64.s -stubs ../elementwise_amd64.go -pkg nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// Activate applies act to every value of x, in place.
func Activate(x *tensor.Tensor, act Activation) {
	affineAct(x.Data, len(x.Data), nil, nil, nil, act)
}

// ChannelAffine sets x = ((x + bias)·scale) + shift along the last
// dimension, in place, each step rounded to float32; nil slices are
// skipped.
func ChannelAffine(x *tensor.Tensor, bias, scale, shift []float32) {
	c := x.Dim(-1)
	for _, s := range [][]float32{bias, scale, shift} {
		if s != nil && len(s) != c {
			panic(fmt.Sprintf("nn: %d per-channel values for %d channels", len(s), c))
		}
	}
	affineAct(x.Data, c, bias, scale, shift, Linear)
}

// AddInPlace sets dst += src elementwise; the shapes must be equal.
func AddInPlace(dst, src *tensor.Tensor) {
	checkSameShape(dst, src)
	add(dst.Data, dst.Data, src.Data, false)
}

// Add returns a + b elementwise in a new tensor from arena.
func Add(arena *tensor.Arena, a, b *tensor.Tensor) *tensor.Tensor {
	checkSameShape(a, b)
	out := arena.NewUninit(a.Shape...)
	add(out.Data, a.Data, b.Data, false)
	return out
}

// AddReLUInPlace sets dst = max(dst + src, 0) elementwise, in one pass
// instead of AddInPlace followed by Activate. The shapes must be equal.
func AddReLUInPlace(dst, src *tensor.Tensor) {
	checkSameShape(dst, src)
	add(dst.Data, dst.Data, src.Data, true)
}

// AddReLU returns max(a + b, 0) elementwise in a new tensor from arena.
func AddReLU(arena *tensor.Arena, a, b *tensor.Tensor) *tensor.Tensor {
	checkSameShape(a, b)
	out := arena.NewUninit(a.Shape...)
	add(out.Data, a.Data, b.Data, true)
	return out
}

func checkSameShape(a, b *tensor.Tensor) {
	if !tensor.SameShape(a.Shape, b.Shape) {
		panic(fmt.Sprintf("nn: add %v and %v", a.Shape, b.Shape))
	}
}

// add sets dst = a + b, or max(a + b, 0) when relu is set; dst may be a or
// b. On amd64 with AVX2 an assembly kernel does blocks of eight values, Go
// the rest, with the same bits.
func add(dst, a, b []float32, relu bool) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		if relu {
			addReLU8(&dst[0], &a[0], &b[0], i)
		} else {
			add8(&dst[0], &a[0], &b[0], i)
		}
	}
	if relu {
		for ; i < n; i++ {
			dst[i] = max(a[i]+b[i], 0)
		}
		return
	}
	for ; i < n; i++ {
		dst[i] = a[i] + b[i]
	}
}
