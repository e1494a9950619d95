package train

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTripletLoss times one loss and gradient on a P=8 × K=4 batch of
// 128-D unit embeddings, the size the CPU training loop uses.
func BenchmarkTripletLoss(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	e := randEmbeddings(rng, 32, 128, true)
	labels := make([]int, 32)
	for i := range labels {
		labels[i] = i / 4
	}
	for m := BatchAll; m <= RandomTriplets; m++ {
		b.Run(m.String(), func(b *testing.B) {
			cfg := TripletConfig{Mining: m, Rand: rand.New(rand.NewPCG(2, 2))}
			for b.Loop() {
				if _, _, _, err := TripletLoss(e, labels, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
