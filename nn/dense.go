package nn

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
	"github.com/facerec/facerec/tensor/gemm"
)

// Dense is a fully connected layer y = act(x·W + Bias) with W [in, out].
type Dense struct {
	In, Out int
	W       *tensor.Tensor // [In, Out]
	Bias    []float32      // optional, len Out
	Act     Activation
	Frozen  bool // W and Bias are constants to the graph, as Conv2D.Frozen

	params []*Param // W and Bias as trainable Params, made on demand
}

// NewDense makes a dense layer from a weight matrix [in, out] and an
// optional bias.
func NewDense(w *tensor.Tensor, bias []float32) (*Dense, error) {
	if len(w.Shape) != 2 {
		return nil, fmt.Errorf("nn: dense weights must be [in, out], got %v", w.Shape)
	}
	if bias != nil && len(bias) != w.Shape[1] {
		return nil, fmt.Errorf("nn: dense bias has %d values for %d outputs", len(bias), w.Shape[1])
	}
	return &Dense{In: w.Shape[0], Out: w.Shape[1], W: w, Bias: bias}, nil
}

// Forward maps x [N, In] (or any shape whose trailing size is In) to [N, Out].
func (d *Dense) Forward(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	if x.Len()%d.In != 0 {
		panic(fmt.Sprintf("nn: dense expects %d inputs, got %v", d.In, x.Shape))
	}
	n := x.Len() / d.In
	out := arena.NewUninit(n, d.Out)
	gemm.MatMul(n, d.Out, d.In, x.Data, d.In, d.W.Data, d.Out, out.Data, d.Out, false)
	affineAct(out.Data, d.Out, d.Bias, nil, nil, d.Act)
	return out
}
