package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// AffineActInPlace sets x = act(((x + bias)·scale) + shift) along the last
// dimension in one pass; any of bias, scale and shift may be nil (that step
// is skipped). The result is bit for bit that of ChannelAffine followed by
// Activate, which take two or more passes of scalar code (and a
// compare-and-branch ReLU that mispredicts on mixed signs); on amd64 with
// AVX2 an assembly kernel does eight channels at a time when the channel
// count allows.
func AffineActInPlace(x *tensor.Tensor, bias, scale, shift []float32, act Activation) {
	c := x.Dim(-1)
	for _, s := range [][]float32{bias, scale, shift} {
		if s != nil && len(s) != c {
			panic(fmt.Sprintf("nn: %d per-channel values for %d channels", len(s), c))
		}
	}
	if act < Linear || act > Leaky {
		panic(fmt.Sprintf("nn: unknown activation %d", act))
	}
	affineActFast(x.Data, c, bias, scale, shift, act)
}

// affineActFast is AffineActInPlace on a slice of rows of c values.
func affineActFast(y []float32, c int, bias, scale, shift []float32, act Activation) {
	if !useAffineAct8 || c%8 != 0 || len(y) < c {
		channelAffine(y, c, bias, scale, shift)
		activate(y, act)
		return
	}
	// Pointers for the absent vectors are never read; any valid one will do.
	parts := 0
	p := [3]*float32{&y[0], &y[0], &y[0]}
	for i, s := range [][]float32{bias, scale, shift} {
		if s != nil {
			parts |= 1 << i
			p[i] = &s[0]
		}
	}
	affineAct8(&y[0], p[0], p[1], p[2], len(y)/c, c, parts, int(act))
}
