//go:build amd64 && !purego

package nn

//go:generate go run conv_extra_gen.go

import "golang.org/x/sys/cpu"

// haveConvC3 says whether the CPU can run the AVX2+FMA kernels of
// Conv2D.ForwardFast; useConvC3 whether ForwardFast uses them (tests turn it
// off to check the fallback).
var (
	haveConvC3 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useConvC3  = haveConvC3
)

// conv3x3c3x16 and conv3x3c3x32 compute n output pixels of a 3×3
// convolution of a 3-channel image into 16 or 32 channels:
// dst[i*cout+co] = Σ src[ky*rowStride + i*sstep + kx*3 + ci]·w[((3ky+kx)*3+ci)*cout + co],
// with rowStride and sstep in floats. They are in conv_extra_amd64.s.
//
//go:noescape
func conv3x3c3x16(dst, src, w *float32, n, sstep, rowStride int)

//go:noescape
func conv3x3c3x32(dst, src, w *float32, n, sstep, rowStride int)
