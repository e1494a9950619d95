//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// haveAVX2 says whether the CPU runs the assembly kernels, which need AVX2
// and FMA; useAVX2 whether the ops use them (tests turn it off to compare
// the portable code with them).
var (
	haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAVX2  = haveAVX2
)
