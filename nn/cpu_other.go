//go:build !amd64 || purego

package nn

// This build has no assembly kernels: every op runs its portable Go code.
var haveAVX2, useAVX2 = false, false
