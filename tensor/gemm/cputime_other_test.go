//go:build !linux

package gemm

// cpuSeconds is not measured on this OS; benchmarks then report wall-clock
// rates only.
func cpuSeconds() float64 { return 0 }
