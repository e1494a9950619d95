//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// haveDW8 says whether the CPU can run the AVX2+FMA row kernel; useDW8
// whether ForwardFast uses it (tests turn it off to check the Go loops).
var (
	haveDW8 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useDW8  = haveDW8
)

// dw3x3Row8 computes n output pixels of one row of a 3×3 depthwise
// convolution from three input rows, eight channels at a time (c must be a
// multiple of 8): dst[i*c+ch] = Σ r_ky[i*sstep + kx*c + ch]·w[(3ky+kx)*c + ch].
// It is implemented in depthwise_fast_amd64.s.
//
//go:noescape
func dw3x3Row8(dst, r0, r1, r2, w *float32, n, c, sstep int)

// dw3x3Px8 is dw3x3Row8 computed pixel by pixel (all channels of a pixel,
// then the next), which reads memory sequentially when c is large.
//
//go:noescape
func dw3x3Px8(dst, r0, r1, r2, w *float32, n, c, sstep int)
