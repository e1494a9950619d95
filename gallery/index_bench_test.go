package gallery

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/facerec/facerec/tensor/vec"
)

// benchIndexes caches the synthetic indexes across the repeated runs of a
// sub-benchmark: building the 1M one takes seconds.
var benchIndexes = map[int]*searchIndex{}

// benchIndex returns an index of n random unit-norm descriptors, one face
// per person (the scan cost does not depend on how faces group).
func benchIndex(b *testing.B, n int) *searchIndex {
	if x, ok := benchIndexes[n]; ok {
		return x
	}
	rng := rand.New(rand.NewPCG(uint64(n), 40))
	x := newIndex(testDim)
	for i := range n {
		f := indexFace(int64(i+1), fmt.Sprintf("%016x", i), randDescriptor(rng))
		if err := x.Add(f); err != nil {
			b.Fatal(err)
		}
	}
	benchIndexes[n] = x
	return x
}

// BenchmarkSearch times a top-5 search over n faces. ms/search is the
// latency of one query; GB/s is descriptor data scanned per second, to
// compare with BenchmarkMemoryBandwidth, the machine's bound.
func BenchmarkSearch(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{{"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run(c.name, func(b *testing.B) {
			if testing.Short() && c.n > 100_000 {
				b.Skip("skipping the 1M-face index in short mode")
			}
			x := benchIndex(b, c.n)
			rng := rand.New(rand.NewPCG(41, 41))
			queries := make([][]float32, 64)
			for i := range queries {
				queries[i] = randDescriptor(rng)
			}
			bytes := int64(c.n) * testDim * 4
			b.SetBytes(bytes)
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if m := x.Search(queries[i%len(queries)], 5); len(m) != 5 {
					b.Fatalf("%d matches", len(m))
				}
				i++
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e3, "ms/search")
			b.ReportMetric(float64(bytes)/sec/1e9, "GB/s")
		})
	}
}

// bandwidthBytes is the size of the buffer BenchmarkMemoryBandwidth reads:
// far beyond any cache, like the descriptors of a million faces.
const bandwidthBytes = 512 << 20

// BenchmarkMemoryBandwidth measures the bound a full scan cannot beat: how
// fast this machine streams 512 MiB from memory. "sum" adds the words up in
// plain Go, "simd" reads them with the vector kernels (vec.Dot of the
// buffer with itself, one stream), each in one goroutine and in GOMAXPROCS
// goroutines (Search splits large scans that way); "copy" is the built-in
// copy, whose GB/s counts bytes read plus bytes written. The buffers are
// written first: untouched pages all map the kernel's zero page, which
// reads at cache speed.
func BenchmarkMemoryBandwidth(b *testing.B) {
	if testing.Short() {
		b.Skip("skipping the 512 MiB buffers in short mode")
	}
	words := make([]uint64, bandwidthBytes/8)
	for i := range words {
		words[i] = uint64(i)
	}
	floats := make([]float32, bandwidthBytes/4)
	for i := range floats {
		floats[i] = float32(i % 1000)
	}
	report := func(b *testing.B, traffic int64) {
		b.SetBytes(bandwidthBytes)
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(traffic)/sec/1e9, "GB/s")
	}
	var sink uint64
	var fsink float32
	for _, p := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("sum/%d", p), func(b *testing.B) {
			sums := make([]uint64, p)
			for b.Loop() {
				var wg sync.WaitGroup
				for w := range p {
					part := words[len(words)*w/p : len(words)*(w+1)/p]
					wg.Go(func() { sums[w] = sum(part) })
				}
				wg.Wait()
			}
			sink += sums[0]
			report(b, bandwidthBytes)
		})
		b.Run(fmt.Sprintf("simd/%d", p), func(b *testing.B) {
			sums := make([]float32, p)
			for b.Loop() {
				var wg sync.WaitGroup
				for w := range p {
					part := floats[len(floats)*w/p : len(floats)*(w+1)/p]
					wg.Go(func() { sums[w] = vec.Dot(part, part) })
				}
				wg.Wait()
			}
			fsink += sums[0]
			report(b, bandwidthBytes)
		})
	}
	b.Run("copy", func(b *testing.B) {
		dst := make([]uint64, len(words))
		for b.Loop() {
			copy(dst, words)
		}
		report(b, 2*bandwidthBytes)
	})
	_, _ = sink, fsink
}

// sum adds up words with eight independent accumulators, so the loop is
// bound by loads, not by the latency of the additions.
func sum(words []uint64) uint64 {
	var s [8]uint64
	i := 0
	for ; i+8 <= len(words); i += 8 {
		w := (*[8]uint64)(words[i : i+8])
		s[0] += w[0]
		s[1] += w[1]
		s[2] += w[2]
		s[3] += w[3]
		s[4] += w[4]
		s[5] += w[5]
		s[6] += w[6]
		s[7] += w[7]
	}
	for ; i < len(words); i++ {
		s[0] += words[i]
	}
	return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7]
}
