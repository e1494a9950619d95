//go:build !amd64 || purego

package nn

// Without the assembly kernels add runs its Go loops and these are never
// called.

func add8(dst, a, b *float32, n int) {
	panic("nn: add8 called without an assembly kernel")
}

func addReLU8(dst, a, b *float32, n int) {
	panic("nn: addReLU8 called without an assembly kernel")
}

func prelu8(y, a *float32, rows, c int) {
	panic("nn: prelu8 called without an assembly kernel")
}
