//go:build !amd64 || purego

package nn

// There is no assembly pooling kernel here.
var haveMax8, useMax8 = false, false

func max2x2Row8(dst, r0, r1 *float32, n, c, sstep int) {
	panic("nn: max2x2Row8 called without an assembly kernel")
}
