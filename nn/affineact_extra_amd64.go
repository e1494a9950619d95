//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// haveAffineAct8 says whether the CPU can run the AVX2 kernel of
// AffineActInPlace; useAffineAct8 whether it is used (tests turn it off).
var (
	haveAffineAct8 = cpu.X86.HasAVX2
	useAffineAct8  = haveAffineAct8
)

// affineAct8 sets x = act(((x + bias)·scale) + shift) over n rows of c
// channels (c a multiple of 8), doing only the steps whose bit is set in
// parts (1 bias, 2 scale, 4 shift), bit-identical to the Go code. It is in
// affineact_extra_amd64.s.
//
//go:noescape
func affineAct8(x, bias, scale, shift *float32, n, c, parts, act int)
