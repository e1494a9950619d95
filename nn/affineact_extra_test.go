package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestAffineActInPlace checks AffineActInPlace bit for bit against
// ChannelAffine + Activate, for every activation and every combination of
// bias, scale and shift, including NaN, infinities, signed zeros and values
// around the ReLU6 and leaky kinks.
func TestAffineActInPlace(t *testing.T) {
	defer func(v bool) { useAffineAct8 = v }(useAffineAct8)
	r := rand.New(rand.NewPCG(21, 22))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		0, float32(math.Copysign(0, -1)), 6, 6.0000005, -1e-30, 1e-30, 5.9999995}
	for _, c := range []int{8, 16, 32, 512, 5} {
		x := randTensor(r, 1, 3, 7, c)
		for i := range x.Data {
			x.Data[i] *= 4
		}
		copy(x.Data, special)
		var vecs [3][]float32
		for k := range vecs {
			vecs[k] = randTensor(r, c).Data
			vecs[k][0] = 0
			if c > 1 {
				vecs[k][1] = float32(math.Copysign(0, -1))
			}
		}
		for parts := 0; parts < 8; parts++ {
			var v [3][]float32
			for k := range v {
				if parts&(1<<k) != 0 {
					v[k] = vecs[k]
				}
			}
			for _, act := range []Activation{Linear, ReLU, ReLU6, Leaky} {
				want := x.Clone()
				ChannelAffine(want, v[0], v[1], v[2])
				Activate(want, act)
				for _, asm := range []bool{false, haveAffineAct8} {
					useAffineAct8 = asm
					got := x.Clone()
					AffineActInPlace(got, v[0], v[1], v[2], act)
					for i := range want.Data {
						g, w := got.Data[i], want.Data[i]
						if !(g != g && w != w) && math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("%s: element %d of %v = %v, want %v",
								fmt.Sprintf("c=%d parts=%03b act=%d asm=%v", c, parts, act, asm), i, x.Data[i], g, w)
						}
					}
				}
			}
		}
	}
}

func TestAffineActInPlaceBadArgs(t *testing.T) {
	for _, f := range []func(){
		func() { AffineActInPlace(tensor.New(1, 2, 2, 8), make([]float32, 7), nil, nil, ReLU) },
		func() { AffineActInPlace(tensor.New(1, 2, 2, 8), nil, nil, make([]float32, 9), ReLU) },
		func() { AffineActInPlace(tensor.New(1, 2, 2, 8), nil, nil, nil, Activation(9)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}
