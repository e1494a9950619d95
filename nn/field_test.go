package nn

import (
	"math/rand/v2"
	"testing"
)

// TestField: receptive fields through a stem, a pool, a SAME conv and a
// residual sum, worked by hand (rows and columns alike): 7×7 stride 2 valid
// → size 7, jump 2, centre of unit 0 at 3; 3×3 stride 2 valid max pool →
// 7 + 2·2 = 11, jump 4, centre 3 + 1·2 = 5; 3×3 SAME (pad 1) → 11 + 2·4 =
// 19, jump 4, centre 5 + (1 − 1)·4 = 5; the sum with the pool's output
// keeps the larger field, 19.
func TestField(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	stem, _ := NewConv2D(randTensor(rng, 7, 7, 3, 2), 2, Valid)
	conv, _ := NewConv2D(randTensor(rng, 3, 3, 2, 2), 1, Same)
	for _, g := range []*Graph{NewGraph(nil), NewInferenceGraph(nil)} {
		x := g.Input(randTensor(rng, 1, 39, 39, 3), false)
		a := g.Conv2D(x, stem)
		p := g.MaxPool(a, Window{KH: 3, KW: 3, Stride: 2, Mode: Valid})
		c := g.Conv2D(p, conv)
		s := g.AddReLUInPlace(c, p)
		for _, tc := range []struct {
			name  string
			v     *Var
			size  int
			jump  int
			start float64
		}{{"input", x, 1, 1, 0}, {"stem", a, 7, 2, 3}, {"pool", p, 11, 4, 5}, {"conv", c, 19, 4, 5}, {"sum", s, 19, 4, 5}} {
			f := tc.v.Field()
			for ax := 0; ax < 2; ax++ {
				if f.Size[ax] != tc.size || f.Jump[ax] != tc.jump || f.Start[ax] != tc.start {
					t.Errorf("inference %v, %s: field %+v, want size %d, jump %d, start %v", g.Inference(), tc.name, f, tc.size, tc.jump, tc.start)
					break
				}
			}
		}
	}
}
