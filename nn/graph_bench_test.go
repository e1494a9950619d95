package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// benchNet is a small ResNet-style embedding network for 64×64 RGB input:
// a 3×3/2 stem to 32 channels with batch norm and ReLU, a 2×2 max pool,
// a residual block at 32 channels (16×16), a 3×3/2 conv to 64 channels, a
// residual block at 64 (8×8), global average pooling and a 128-d dense
// embedding, L2-normalised.
type benchNet struct {
	convs  []*Conv2D
	bns    []*BatchNorm
	fc     *Dense
	params []*Param
}

func newBenchNet(b testing.TB) *benchNet {
	rng := rand.New(rand.NewPCG(1, 1))
	net := &benchNet{}
	for i, s := range [][5]int{{3, 3, 3, 32, 2}, {3, 3, 32, 32, 1}, {3, 3, 32, 32, 1}, {3, 3, 32, 64, 2}, {3, 3, 64, 64, 1}, {3, 3, 64, 64, 1}} {
		w := randTensor(rng, s[0], s[1], s[2], s[3])
		scale := float32(math.Sqrt(2 / float64(s[0]*s[1]*s[2])))
		for j := range w.Data {
			w.Data[j] *= scale
		}
		c, err := NewConv2D(w, s[4], Same)
		if err != nil {
			b.Fatal(err)
		}
		bn, err := NewBatchNorm(s[3])
		if err != nil {
			b.Fatal(err)
		}
		net.convs = append(net.convs, c)
		net.bns = append(net.bns, bn)
		net.params = append(net.params, c.Params(fmt.Sprintf("conv%d.", i))...)
		net.params = append(net.params, bn.Params(fmt.Sprintf("bn%d.", i))...)
	}
	fc, err := NewDense(randTensor(rng, 64, 128), make([]float32, 128))
	if err != nil {
		b.Fatal(err)
	}
	net.fc = fc
	net.params = append(net.params, fc.Params("fc.")...)
	return net
}

func (n *benchNet) forward(g *Graph, x *Var) *Var {
	layer := func(h *Var, i int) *Var { return g.BatchNorm(g.Conv2D(h, n.convs[i]), n.bns[i], true) }
	h := g.ReLU(layer(x, 0))
	h = g.MaxPool(h, Window{KH: 2, KW: 2, Stride: 2, Mode: Same})
	h = g.ReLU(g.Add(h, layer(g.ReLU(layer(h, 1)), 2)))
	h = g.ReLU(layer(h, 3))
	h = g.ReLU(g.Add(h, layer(g.ReLU(layer(h, 4)), 5)))
	return g.L2Normalize(g.Dense(g.GlobalAvgPool(h), n.fc))
}

// BenchmarkTrainStep times one training step (forward and backward, no
// optimizer update) of benchNet on a batch of 32 64×64 images, with the
// batch split over 1 and 2 goroutines, and reports images per second.
func BenchmarkTrainStep(b *testing.B) {
	const batch = 32
	rng := rand.New(rand.NewPCG(2, 2))
	x := randTensor(rng, batch, 64, 64, 3)
	seed := randTensor(rng, batch, 128)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			net := newBenchNet(b)
			g := NewGraph(new(tensor.Arena))
			g.Workers = workers
			for b.Loop() {
				g.Reset()
				ZeroGrads(net.params)
				y := net.forward(g, g.Input(x, false))
				if err := g.BackwardFrom(y, seed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
