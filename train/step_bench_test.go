package train

import (
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/tensor"
)

// BenchmarkTrainStep times whole training steps of EmbedNet (forward,
// loss, backward, AdamW update; both cores, as the training loop runs
// them) on a P=8 × K=4 batch and reports training images per second.
// Batch assembly is timed separately (BenchmarkBatch*).
func BenchmarkTrainStep(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  model.EmbedNetConfig
		loss string
	}{
		{"lfw-64rgb-32to256", model.DefaultEmbedNetConfig(), LossTriplet},
		{"att-64grey-16to128", model.EmbedNetConfig{Kind: model.KindScratch, Input: 64, Channels: 1, Widths: []int{16, 32, 64, 128}, Blocks: 1, Dim: 128}, LossTriplet},
		{"att-64grey-16to128-binary", model.EmbedNetConfig{Kind: model.KindScratch, Input: 64, Channels: 1, Widths: []int{16, 32, 64, 128}, Blocks: 1, Dim: 128}, LossBinary},
	} {
		b.Run(tc.name, func(b *testing.B) {
			net, err := model.NewEmbedNet(tc.cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			cfg := Config{Loss: tc.loss, Mining: BatchAll, Epochs: 1, Out: b.TempDir()}
			if err := cfg.defaults(); err != nil {
				b.Fatal(err)
			}
			st, err := newStepper(cfg, net, optim.NewAdamW(optim.Constant(1e-3), 5e-4))
			if err != nil {
				b.Fatal(err)
			}
			const p, k = 8, 4
			rng := rand.New(rand.NewPCG(1, 2))
			x := tensor.New(p*k, tc.cfg.Input, tc.cfg.Input, tc.cfg.Channels)
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			labels := make([]int, p*k)
			for i := range labels {
				labels[i] = i / k
			}
			n := 0
			for b.Loop() {
				if _, _, err := st.step(x, labels); err != nil {
					b.Fatal(err)
				}
				n += p * k
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
