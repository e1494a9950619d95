package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestAdd checks Add, AddInPlace, AddReLU and AddReLUInPlace (assembly
// kernels and Go loops) bit for bit against their definition, on lengths
// with and without a remainder of eight, with special values.
func TestAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, shape := range [][]int{{1, 5, 7, 9}, {1, 4, 4, 32}, {3}, {1, 1, 1, 133}} {
		a := randTensor(r, shape...)
		b := randTensor(r, shape...)
		sprinkleSpecials(r, a.Data, 5)
		sprinkleSpecials(r, b.Data, 5)
		sum, relu := a.Clone(), a.Clone()
		for i := range sum.Data {
			sum.Data[i] = a.Data[i] + b.Data[i]
			relu.Data[i] = epilogueRef(sum.Data[i], nil, nil, nil, ReLU)
		}
		for _, asm := range kernelChoices(t) {
			useAVX2 = asm
			name := fmt.Sprintf("%v asm=%v", shape, asm)
			sameBits(t, "Add "+name, Add(nil, a, b), sum)
			sameBits(t, "AddReLU "+name, AddReLU(nil, a, b), relu)
			dst := a.Clone()
			AddInPlace(dst, b)
			sameBits(t, "AddInPlace "+name, dst, sum)
			dst = a.Clone()
			AddReLUInPlace(dst, b)
			sameBits(t, "AddReLUInPlace "+name, dst, relu)
		}
	}
	a := tensor.New(1, 5, 7, 9)
	mustPanic(t, "AddInPlace of mismatched shapes", func() { AddInPlace(a, tensor.New(1, 5, 7, 8)) })
	mustPanic(t, "AddReLU of mismatched shapes", func() { AddReLU(nil, a, tensor.New(1, 5, 9, 7)) })
}

// TestActivateAndChannelAffine checks the exported forms of the epilogue.
func TestActivateAndChannelAffine(t *testing.T) {
	x := tensor.From([]float32{-1, 2, 7, -8, 0.5, 3}, 1, 1, 2, 3)
	y := x.Clone()
	Activate(y, ReLU6)
	if fmt.Sprint(y.Data) != "[0 2 6 0 0.5 3]" {
		t.Errorf("ReLU6: %v", y.Data)
	}
	y = x.Clone()
	ChannelAffine(y, []float32{1, 1, 1}, []float32{2, 3, 4}, nil)
	if fmt.Sprint(y.Data) != "[0 9 32 -14 4.5 16]" {
		t.Errorf("affine: %v", y.Data)
	}
	mustPanic(t, "ChannelAffine with 2 values for 3 channels", func() { ChannelAffine(y, []float32{1, 2}, nil, nil) })
}

// BenchmarkAddReLU times a residual sum of the landmark net, 56×56×32.
func BenchmarkAddReLU(b *testing.B) {
	r := rand.New(rand.NewPCG(25, 26))
	x := randTensor(r, 1, 56, 56, 32)
	y := randTensor(r, 1, 56, 56, 32)
	for _, asm := range kernelChoices(b) {
		b.Run(fmt.Sprintf("asm=%v", asm), func(b *testing.B) {
			useAVX2 = asm
			b.SetBytes(int64(4 * x.Len()))
			var arena tensor.Arena
			for b.Loop() {
				AddReLU(&arena, x, y)
				arena.Reset()
			}
		})
	}
}
