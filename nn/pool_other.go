//go:build !amd64 || purego

package nn

// Without the assembly kernels maxPool2x2 runs its Go loop and this is
// never called.

func max2x2Row8(dst, r0, r1 *float32, n, c, sstep int) {
	panic("nn: max2x2Row8 called without an assembly kernel")
}
