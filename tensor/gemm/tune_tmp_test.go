package gemm

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func threadCPU() float64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

// TestTune prints GFLOP/s per thread-CPU-second: TUNE=pattern go test -run TestTune -v
func TestTune(t *testing.T) {
	pat := os.Getenv("TUNE")
	if pat == "" {
		t.Skip()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, kern := range kernels[:2] {
		if v := os.Getenv("TUNE_DIRECT"); v != "" {
			kern.directM, _ = strconv.Atoi(v)
		}
		if v := os.Getenv("TUNE_KC"); v != "" {
			kern.kc, _ = strconv.Atoi(v)
		}
		if v := os.Getenv("TUNE_NC"); v != "" {
			kern.nc, _ = strconv.Atoi(v)
		}
		if v := os.Getenv("TUNE_COPYA"); v != "" {
			copyAPanels, _ = strconv.Atoi(v)
		}
		if v := os.Getenv("TUNE_K"); v != "" && v != kern.name {
			continue
		}
		for _, s := range append(benchShapes, [3]int{256, 256, 2048}, [3]int{1024, 1024, 1024}, [3]int{300, 2000, 3000}) {
			m, k, n := s[0], s[1], s[2]
			for _, mode := range []string{"mm", "packed", "ta", "tb"} {
				name := fmt.Sprintf("%s/%s/%dx%dx%d", mode, kern.name, m, k, n)
				if !strings.Contains(name, pat) && pat != "all" {
					continue
				}
				x, y, z := benchOperands(m, k, n)
				p := packWith(kern, k, n, y, n)
				dy := make([]float32, m*n)
				dw := make([]float32, k*n)
				dx := make([]float32, m*k)
				f := func() {
					if mode == "ta" {
						run(kern, k, n, m, x, 1, k, bMatrix{b: dy, ld: n}, dw, n, false)
					} else if mode == "tb" {
						run(kern, m, k, n, dy, n, 1, bMatrix{b: y, ld: n, trans: true}, dx, k, false)
					} else if mode == "mm" {
						run(kern, m, n, k, x, k, 1, bMatrix{b: y, ld: n}, z, n, false)
					} else {
						runPacked(m, x, k, p, 0, n, z, n, false)
					}
				}
				flops := 2 * float64(m*n*k)
				iters := int(2e8/flops) + 1
				best := 0.0
				for rep := 0; rep < 7; rep++ {
					t0 := threadCPU()
					for i := 0; i < iters; i++ {
						f()
					}
					g := flops * float64(iters) / (threadCPU() - t0) / 1e9
					best = max(best, g)
				}
				fmt.Printf("%-40s %6.1f\n", name, best)
			}
		}
	}
}
