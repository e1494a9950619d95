//go:build !amd64 || purego

package vec

// archKernels returns no assembly kernels: this build has only the generic one.
func archKernels() []*kernel { return nil }
