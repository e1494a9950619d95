//go:build !amd64 || purego

package nn

// Without the assembly kernels row3x3 runs row3x3Go and these are never
// called.

func dw3x3Row8(dst, r0, r1, r2, w *float32, n, c, sstep int) {
	panic("nn: dw3x3Row8 called without an assembly kernel")
}

func dw3x3Px8(dst, r0, r1, r2, w *float32, n, c, sstep int) {
	panic("nn: dw3x3Px8 called without an assembly kernel")
}
