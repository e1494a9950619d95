//go:build amd64 && !purego

package gemm

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

// avx512Kernel uses 12×32 tiles: 24 zmm accumulators, two zmm for a row of
// B, and A broadcast from memory by the FMAs themselves.
var avx512Kernel = &kernel{
	name:    "avx512",
	mr:      12,
	nr:      32,
	kc:      384,
	nc:      512,
	directM: 24,
	tile:    avx512Tile,
}

// kern512 holds the AVX-512 kernels by row count: kern512[h-1] does h rows.
var kern512 = [...]func(k int, a *float32, rsa, csa int, b *float32, bs int, c *float32, ldc int, mask uint32, acc bool){
	kern512x1, kern512x2, kern512x3, kern512x4, kern512x5, kern512x6,
	kern512x7, kern512x8, kern512x9, kern512x10, kern512x11, kern512x12,
}

func avx512Tile(mr, nr, kc int, a []float32, rsa, csa int, b []float32, bs int, c []float32, ldc int, acc bool) {
	// The store mask enables columns 0..nr-1: bits 0-15 for the first zmm of
	// the row, bits 16-31 for the second.
	mask := uint32(uint64(1)<<nr - 1)
	kern512[mr-1](kc, &a[0], 4*rsa, 4*csa, &b[0], 4*bs, &c[0], 4*ldc, mask, acc)
}

// avx2Kernel uses 6×16 tiles: 12 ymm accumulators, two for a row of B and
// two for broadcasts of A.
var avx2Kernel = &kernel{
	name:    "avx2",
	mr:      6,
	nr:      16,
	kc:      384,
	nc:      512,
	directM: 12,
	tile:    avx2Tile,
}

var kern256 = [...]func(k int, a *float32, rsa, csa int, b *float32, bs int, c *float32, ldc int, mask *int32, acc bool){
	kern256x1, kern256x2, kern256x3, kern256x4, kern256x5, kern256x6,
}

// avx2Masks is read by VMASKMOVPS for ragged tiles: the 16 lanes starting
// at avx2Masks[16-nr] have their sign bit set for the first nr columns only.
var avx2Masks = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

func avx2Tile(mr, nr, kc int, a []float32, rsa, csa int, b []float32, bs int, c []float32, ldc int, acc bool) {
	var mask *int32
	if nr < 16 {
		mask = &avx2Masks[16-nr]
	}
	kern256[mr-1](kc, &a[0], 4*rsa, 4*csa, &b[0], 4*bs, &c[0], 4*ldc, mask, acc)
}
