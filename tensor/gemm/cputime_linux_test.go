package gemm

import "syscall"

// cpuSeconds returns the CPU time (user + system) this process has used, so
// that benchmarks on a shared machine can also report a rate that does not
// count the time other processes held the CPU.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
