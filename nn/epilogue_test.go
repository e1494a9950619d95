package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// epilogueRef is the definition of the epilogue for one value.
func epilogueRef(v float32, b, s, h *float32, act Activation) float32 {
	if b != nil {
		v += *b
	}
	if s != nil {
		v = float32(v * *s)
	}
	if h != nil {
		v += *h
	}
	switch act {
	case ReLU:
		if v < 0 || v == 0 {
			v = 0 // +0, also for -0
		}
	case ReLU6:
		if v < 0 || v == 0 {
			v = 0
		}
		if v > 6 {
			v = 6
		}
	case Leaky:
		m := float32(v * 0.1)
		d := v - m
		if d < 0 || d == 0 {
			d = 0
		}
		v = d + m
	}
	return v
}

// TestAffineAct checks the epilogue (assembly kernel and Go code) bit for
// bit against its definition, for every activation, every combination of
// bias, scale and shift and channel counts with and without a remainder of
// eight, including NaN, infinities, signed zeros, denormals and values
// around the ReLU6 and leaky kinks.
func TestAffineAct(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range []int{8, 16, 24, 25, 32, 512, 5, 12, 1} {
		x := randTensor(r, 1, 3, 7, c)
		for i := range x.Data {
			x.Data[i] *= 4
		}
		sprinkleSpecials(r, x.Data, 5)
		var vecs [3][]float32
		for k := range vecs {
			vecs[k] = randTensor(r, c).Data
			for j := range vecs[k] {
				switch j % 4 {
				case 0:
					vecs[k][j] = float32(math.Copysign(0, -1))
				case 1:
					vecs[k][j] = 0
				}
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
				for i := range want.Data {
					var p [3]*float32
					for k := range p {
						if v[k] != nil {
							p[k] = &v[k][i%c]
						}
					}
					want.Data[i] = epilogueRef(want.Data[i], p[0], p[1], p[2], act)
				}
				for _, asm := range kernelChoices(t) {
					useAVX2 = asm
					got := x.Clone()
					affineAct(got.Data, c, v[0], v[1], v[2], act)
					sameBits(t, fmt.Sprintf("c=%d parts=%03b act=%d asm=%v", c, parts, act, asm), got, want)
				}
			}
		}
	}
}

func TestAffineActBadArgs(t *testing.T) {
	y := make([]float32, 32)
	mustPanic(t, "short bias", func() { affineAct(y, 8, make([]float32, 7), nil, nil, ReLU) })
	mustPanic(t, "short shift", func() { affineAct(y, 8, nil, nil, make([]float32, 4), Linear) })
	mustPanic(t, "unknown activation", func() { affineAct(y, 8, nil, nil, nil, Activation(9)) })
}

func TestLeakyIsMaxOfTenth(t *testing.T) {
	for _, v := range []float32{-3, -0.5, 0, 0.25, 7} {
		if got, want := leaky(v), max(v, v*0.1); math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("leaky(%v) = %v, want %v", v, got, want)
		}
	}
}

// BenchmarkAffineAct times the epilogue of a 1×1 convolution of the
// recognition net's size (37×37×64, bias, scale, shift and ReLU) and of
// the tiny detector's first layer (414×414×16, bias and leaky ReLU).
func BenchmarkAffineAct(b *testing.B) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range []struct {
		h, c  int
		parts int
		act   Activation
	}{{37, 64, 7, ReLU}, {414, 16, 1, Leaky}} {
		y := randTensor(r, s.h*s.h*s.c).Data
		// The loop applies the epilogue again and again to y: a scale below 1
		// keeps the values finite and away from denormals.
		var v [3][]float32
		for k := range v {
			if s.parts&(1<<k) != 0 {
				v[k] = randTensor(r, s.c).Data
			}
		}
		if v[1] != nil {
			for i := range v[1] {
				v[1][i] = 0.9
			}
		}
		for _, asm := range kernelChoices(b) {
			b.Run(fmt.Sprintf("%dx%dx%d_act%d_asm=%v", s.h, s.h, s.c, s.act, asm), func(b *testing.B) {
				useAVX2 = asm
				b.SetBytes(int64(4 * len(y)))
				for b.Loop() {
					affineAct(y, s.c, v[0], v[1], v[2], s.act)
				}
			})
		}
	}
}
