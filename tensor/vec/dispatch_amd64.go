//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// archKernels returns the assembly kernels this CPU (and its OS, which must
// save the wider registers) supports, best first.
func archKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}

// avx512Kernel works on 16 float32 per zmm register; the partial last chunk
// of a row is read with a k-register mask.
var avx512Kernel = &kernel{
	name: "avx512",
	squaredL2: func(q, rows []float32, dim int, out []float32) {
		sqL2avx512(&q[0], &rows[0], len(out), 4*dim, dim/16, tail16(dim), &out[0])
	},
	dot: func(a, b []float32) float32 {
		return dotavx512(&a[0], &b[0], len(a)/16, tail16(len(a)))
	},
	dotI8: dotI8avx2Or, // AVX-512 CPUs have AVX2; int8 rows are bandwidth-bound either way
}

// dotI8avx2Or runs the AVX2 kernel when dim is a multiple of 8, the
// descriptor sizes facerec has (128, 512), else the generic loop.
func dotI8avx2Or(q []float32, rows []int8, dim int, out []float32) {
	if dim%8 != 0 {
		dotI8Generic(q, rows, dim, out)
		return
	}
	dotI8avx2(&q[0], &rows[0], len(out), dim, &out[0])
}

// tail16 is the k-register mask of the last dim%16 lanes.
func tail16(dim int) uint16 { return uint16(1)<<(dim%16) - 1 }

// avx2Kernel works on 8 float32 per ymm register; the partial last chunk is
// read with VMASKMOVPS.
var avx2Kernel = &kernel{
	name: "avx2",
	squaredL2: func(q, rows []float32, dim int, out []float32) {
		sqL2avx2(&q[0], &rows[0], len(out), 4*dim, dim/8, tail8(dim), &out[0])
	},
	dot: func(a, b []float32) float32 {
		return dotavx2(&a[0], &b[0], len(a)/8, tail8(len(a)))
	},
	dotI8: dotI8avx2Or,
}

// avx2Masks is read by VMASKMOVPS: the 8 lanes starting at avx2Masks[8-r]
// have their sign bit set for the first r lanes only.
var avx2Masks = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// tail8 is the VMASKMOVPS lane mask of the last dim%8 lanes, or nil when
// there are none.
func tail8(dim int) *int32 {
	r := dim % 8
	if r == 0 {
		return nil
	}
	return &avx2Masks[8-r]
}
