package optim_test

import (
	"fmt"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/tensor"
)

// A training step: record the forward pass on a graph, compute the loss,
// run Backward, let the optimizer update the parameters, zero the
// gradients. Here a dense layer learns to map x to 2x.
func Example() {
	w := tensor.From([]float32{0.5}, 1, 1)
	layer, err := nn.NewDense(w, []float32{0})
	if err != nil {
		panic(err)
	}
	params := layer.Params("fc.")
	opt := optim.NewAdam(optim.Cosine{Base: 0.1, Min: 0.001, Total: 300, Warmup: 10})
	x := tensor.From([]float32{1, -2, 3}, 3, 1)
	g := nn.NewGraph(new(tensor.Arena))
	var loss float32
	for range 300 {
		g.Reset()
		nn.ZeroGrads(params)
		y := g.Dense(g.Input(x, false), layer)
		// A squared-error loss computed outside the graph: L = Σ (y − 2x)²,
		// dL/dy = 2(y − 2x).
		dy := tensor.New(y.Value.Shape...)
		loss = 0
		for i, v := range y.Value.Data {
			d := v - 2*x.Data[i]
			loss += d * d
			dy.Data[i] = 2 * d
		}
		if err := g.BackwardFrom(y, dy); err != nil {
			panic(err)
		}
		if err := opt.Step(params); err != nil {
			panic(err)
		}
	}
	fmt.Printf("w = %.2f, loss < 1e-3: %v\n", layer.W.Data[0], loss < 1e-3)
	// Output: w = 2.00, loss < 1e-3: true
}
