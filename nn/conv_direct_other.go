//go:build !amd64 || purego

package nn

// Without the assembly kernels Conv2D.direct is false and these are never
// called.

func conv3x3c3x16(dst, src, w *float32, n, sstep, rowStride int) {
	panic("nn: conv3x3c3x16 called without an assembly kernel")
}

func conv3x3c3x32(dst, src, w *float32, n, sstep, rowStride int) {
	panic("nn: conv3x3c3x32 called without an assembly kernel")
}
