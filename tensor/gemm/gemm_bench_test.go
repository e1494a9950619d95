package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchShapes are (M, K, N) of facerec's convolutions lowered to GEMM
// (M = output pixels, K = kh*kw*Cin, N = Cout): the recognition network,
// then the detector, then a square reference.
var benchShapes = [][3]int{
	{5184, 147, 32}, {1225, 288, 32}, {289, 288, 64}, {289, 576, 64},
	{64, 576, 128}, {64, 1152, 128}, {9, 1152, 256}, {16, 2304, 256}, {1, 2304, 256},
	{43264, 16, 32}, {10816, 32, 64}, {2704, 64, 128}, {676, 128, 256}, {169, 256, 512}, {169, 512, 25},
	{512, 512, 512},
}

func benchOperands(m, k, n int) (a, b, c []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	return randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
}

// reportFlops reports the rate of b's loop of m×k×n multiplications, which
// began when the process had used cpu0 seconds of CPU: GFLOP/s by the wall
// clock and, where CPU time is measured, cpuGFLOP/s per second of CPU time
// used by the process (all its threads). On an otherwise idle machine the
// two agree for one thread; on a shared one the second is the steadier.
func reportFlops(b *testing.B, cpu0 float64, m, k, n int) {
	flops := 2 * float64(m) * float64(k) * float64(n) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpu0; cpu0 > 0 && cpu > 0 {
		b.ReportMetric(flops/cpu/1e9, "cpuGFLOP/s")
	}
}

// BenchmarkMatMul times C = A·B for every kernel and shape (B packed on
// every call, as MatMul does).
func BenchmarkMatMul(b *testing.B) {
	for _, kern := range kernels {
		for _, s := range benchShapes {
			m, k, n := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kern.name, m, k, n), func(b *testing.B) {
				x, y, z := benchOperands(m, k, n)
				cpu0 := cpuSeconds()
				for b.Loop() {
					run(kern, m, n, k, x, k, 1, bMatrix{b: y, ld: n}, z, n, false)
				}
				reportFlops(b, cpu0, m, k, n)
			})
		}
	}
}

// BenchmarkMatMulPacked times C = A·B with B packed beforehand, as
// inference does with its weights.
func BenchmarkMatMulPacked(b *testing.B) {
	for _, kern := range kernels {
		for _, s := range benchShapes {
			m, k, n := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kern.name, m, k, n), func(b *testing.B) {
				x, y, z := benchOperands(m, k, n)
				p := packWith(kern, k, n, y, n)
				cpu0 := cpuSeconds()
				for b.Loop() {
					runPacked(m, x, k, p, 0, n, z, n, false)
				}
				reportFlops(b, cpu0, m, k, n)
			})
		}
	}
}

// BenchmarkMatMulTA times the weight gradient of a convolution, dW = Xᵀ·dY
// with X the M×K im2col rows and dY the M×N output gradient, using the
// dispatched kernel.
func BenchmarkMatMulTA(b *testing.B) {
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%s/%dx%dx%d", Kernel(), m, k, n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x, dy, dw := randSlice(r, m*k), randSlice(r, m*n), make([]float32, k*n)
			cpu0 := cpuSeconds()
			for b.Loop() {
				MatMulTA(k, n, m, x, k, dy, n, dw, n, false)
			}
			reportFlops(b, cpu0, m, k, n)
		})
	}
}

// BenchmarkMatMulTB times the input gradient of a convolution, dX = dY·Wᵀ
// with W the K×N weights, using the dispatched kernel.
func BenchmarkMatMulTB(b *testing.B) {
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%s/%dx%dx%d", Kernel(), m, k, n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			dy, w, dx := randSlice(r, m*n), randSlice(r, k*n), make([]float32, m*k)
			cpu0 := cpuSeconds()
			for b.Loop() {
				MatMulTB(m, k, n, dy, n, w, n, dx, k, false)
			}
			reportFlops(b, cpu0, m, k, n)
		})
	}
}

// BenchmarkMatMulParallel times MatMulParallel and MatMulPackedParallel
// with the dispatched kernel and one worker per GOMAXPROCS.
func BenchmarkMatMulParallel(b *testing.B) {
	for _, packed := range []bool{false, true} {
		for _, s := range benchShapes {
			m, k, n := s[0], s[1], s[2]
			name := "MatMul"
			if packed {
				name = "Packed"
			}
			b.Run(fmt.Sprintf("%s/%s/%dx%dx%d", name, Kernel(), m, k, n), func(b *testing.B) {
				x, y, z := benchOperands(m, k, n)
				p := PackB(k, n, y, n)
				workers := runtime.GOMAXPROCS(0)
				cpu0 := cpuSeconds()
				for b.Loop() {
					if packed {
						MatMulPackedParallel(workers, m, x, k, p, z, n, false)
					} else {
						MatMulParallel(workers, m, n, k, x, k, y, n, z, n, false)
					}
				}
				reportFlops(b, cpu0, m, k, n)
			})
		}
	}
}
