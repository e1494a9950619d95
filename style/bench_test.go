package style

import (
	"context"
	"fmt"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// BenchmarkStyleStep is one L-BFGS step of style transfer (the command's
// default layers and weights, the SSD backbone) on a G of 256 and 512
// pixels (longest side, 3:2): ns/op is the time per step, line search
// included. The network runs one image, and the engine splits most work
// over cores by batch: run it with -cpu 1,2 to see what a second core
// gives (docs/style.md).
func BenchmarkStyleStep(b *testing.B) { benchStyleStep(b, testSSD(b)) }

// BenchmarkStyleStepCenterNet is BenchmarkStyleStep with centernet's
// backbone (skipped when it is not installed).
func BenchmarkStyleStepCenterNet(b *testing.B) { benchStyleStep(b, testCenterNet(b)) }

func benchStyleStep(b *testing.B, net FeatureNet) {
	for _, size := range []int{256, 512} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			content := Pixels(Resize(checker(96, 12), size))
			c, err := NewCost(Config{Net: net, ContentWeight: 0.01, StyleWeight: 1e4, TVWeight: 0.01}, crop32(content),
				[]*tensor.Tensor{Pixels(Resize(stripesImage(size), size))}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			res, err := c.Optimize(context.Background(), Options{Iterations: b.N})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if len(res.Steps) > 0 {
				b.ReportMetric(float64(res.Steps[len(res.Steps)-1].Evals)/float64(len(res.Steps)), "evals/step")
			}
		})
	}
}

// crop32 cuts a 3:2 landscape G out of a square image.
func crop32(t *tensor.Tensor) *tensor.Tensor {
	h, w := t.Shape[0], t.Shape[1]
	nh := w * 2 / 3
	out := tensor.New(nh, w, 3)
	off := (h - nh) / 2
	copy(out.Data, t.Data[off*w*3:(off+nh)*w*3])
	return out
}
