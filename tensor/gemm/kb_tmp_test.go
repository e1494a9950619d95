package gemm

import (
	"fmt"
	"testing"
)

func BenchmarkTileTmp(b *testing.B) {
	for _, kern := range kernels {
		for _, kc := range []int{64, 256, 512} {
			b.Run(fmt.Sprintf("%s/kc=%d", kern.name, kc), func(b *testing.B) {
				a := make([]float32, kern.mr*kc)
				bb := make([]float32, kc*kern.nr)
				c := make([]float32, kern.mr*kern.nr)
				for b.Loop() {
					kern.tile(kern.mr, kern.nr, kc, a, kc, 1, bb, kern.nr, c, kern.nr, false)
				}
				b.ReportMetric(2*float64(kern.mr*kern.nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
