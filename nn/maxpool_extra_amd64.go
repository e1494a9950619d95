//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// haveMax8 says whether the CPU can run the AVX2 pooling kernel; useMax8
// whether MaxPoolFast uses it (tests turn it off to check the Go loop).
var (
	haveMax8 = cpu.X86.HasAVX2
	useMax8  = haveMax8
)

// max2x2Row8 computes n output pixels of a 2×2 max pool from two input
// rows, eight channels at a time (c must be a multiple of 8): pixel i is the
// maximum of r0 and r1 at i*sstep and i*sstep + c. It is bit-identical to
// Go's builtin max. It is implemented in maxpool_extra_amd64.s.
//
//go:noescape
func max2x2Row8(dst, r0, r1 *float32, n, c, sstep int)
