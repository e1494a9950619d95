package train

import (
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
)

// benchBatch times batch assembly from a warm in-memory cache, the steady
// state of training, and reports images per second.
func benchBatch(b *testing.B, d *Dataset, aug *Augment) {
	s, err := NewSampler(d.Counts(), SamplerConfig{P: 8, K: 4, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	// Warm the cache: one epoch touches every identity, a few every image.
	for range 4 * s.BatchesPerEpoch() {
		samples, _ := s.Next()
		if _, _, err := d.Batch(samples, nil, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		samples, _ := s.Next()
		if _, _, err := d.Batch(samples, aug, uint64(i)); err != nil {
			b.Fatal(err)
		}
		n += len(samples)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "images/s")
}

var benchAugment = &Augment{Mirror: true, Scale: 0.1, Shift: 0.05, Brightness: 0.1, Contrast: 0.2}

func BenchmarkBatchSynthetic96(b *testing.B) {
	root := makeFolder(b, map[string]int{"a": 6, "b": 6, "c": 6, "d": 6, "e": 6, "f": 6, "g": 6, "h": 6}, 120, 120)
	d, err := OpenDataset(DatasetConfig{Root: root, Size: 96, Aligned: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("plain", func(b *testing.B) { benchBatch(b, d, nil) })
	b.Run("augment", func(b *testing.B) { benchBatch(b, d, benchAugment) })
}

func BenchmarkBatchATT64(b *testing.B) {
	d, err := OpenDataset(DatasetConfig{Root: sharedtest.Path(b, "data", "att"), Size: 64, Aligned: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("plain", func(b *testing.B) { benchBatch(b, d, nil) })
	b.Run("augment", func(b *testing.B) { benchBatch(b, d, benchAugment) })
}
