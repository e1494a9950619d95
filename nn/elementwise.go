package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// leakySlope is tfjs's 0.1 as a float32 (0.10000000149011612).
const leakySlope float32 = 0.1

// channelAffine applies y = ((y + bias) * scale) + shift per channel, in
// place, over rows of c values; nil slices are skipped. The three separate
// float32 roundings match the reference networks bit for bit.
func channelAffine(y []float32, c int, bias, scale, shift []float32) {
	affineAct(y, c, bias, scale, shift, Linear)
}

// affineAct is channelAffine followed by an activation, in one pass over y
// (the epilogue of every convolution, so it is worth keeping tight).
func affineAct(y []float32, c int, bias, scale, shift []float32, act Activation) {
	if bias != nil && scale != nil && shift != nil && (act == Linear || act == ReLU) {
		bias, scale, shift = bias[:c], scale[:c], shift[:c]
		for i := 0; i+c <= len(y); i += c {
			row := y[i : i+c : i+c]
			for j := range row {
				v := ((row[j] + bias[j]) * scale[j]) + shift[j]
				if act == ReLU && v < 0 {
					v = 0
				}
				row[j] = v
			}
		}
		return
	}
	for i := 0; i+c <= len(y); i += c {
		row := y[i : i+c : i+c]
		if bias != nil {
			bias := bias[:c]
			for j := range row {
				row[j] += bias[j]
			}
		}
		if scale != nil {
			scale := scale[:c]
			for j := range row {
				row[j] *= scale[j]
			}
		}
		if shift != nil {
			shift := shift[:c]
			for j := range row {
				row[j] += shift[j]
			}
		}
	}
	activate(y, act)
}

// activate applies an activation in place.
func activate(y []float32, act Activation) {
	switch act {
	case ReLU:
		for i, v := range y {
			if v < 0 {
				y[i] = 0
			}
		}
	case ReLU6:
		for i, v := range y {
			y[i] = min(max(v, 0), 6)
		}
	case Leaky:
		for i, v := range y {
			y[i] = leaky(v)
		}
	}
}

// leaky is tfjs's leaky ReLU as face-api writes it: relu(t - m) + m with
// m = 0.1t. It equals max(t, 0.1t) up to the last bit.
func leaky(t float32) float32 {
	m := t * leakySlope
	return max(t-m, 0) + m
}

// ReLUInPlace sets negative values of x to zero.
func ReLUInPlace(x *tensor.Tensor) { activate(x.Data, ReLU) }

// Activate applies act to x in place.
func Activate(x *tensor.Tensor, act Activation) { activate(x.Data, act) }

// ChannelAffine applies x = ((x + bias) * scale) + shift along the last
// dimension, in place; nil slices are skipped.
func ChannelAffine(x *tensor.Tensor, bias, scale, shift []float32) {
	c := x.Dim(-1)
	for _, s := range [][]float32{bias, scale, shift} {
		if s != nil && len(s) != c {
			panic(fmt.Sprintf("nn: %d per-channel values for %d channels", len(s), c))
		}
	}
	channelAffine(x.Data, c, bias, scale, shift)
}

// AddInPlace sets dst += src elementwise; the shapes must be equal.
func AddInPlace(dst, src *tensor.Tensor) {
	if !tensor.SameShape(dst.Shape, src.Shape) {
		panic(fmt.Sprintf("nn: add %v and %v", dst.Shape, src.Shape))
	}
	s := src.Data[:len(dst.Data)]
	for i := range dst.Data {
		dst.Data[i] += s[i]
	}
}

// Add returns a + b elementwise in a new tensor from arena.
func Add(arena *tensor.Arena, a, b *tensor.Tensor) *tensor.Tensor {
	out := arena.NewUninit(a.Shape...)
	copy(out.Data, a.Data)
	AddInPlace(out, b)
	return out
}
