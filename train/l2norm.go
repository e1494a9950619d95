package train

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/tensor"
)

// NormEpsilon is the smallest norm L2Normalize divides by. A row shorter
// than this (in practice an all-zero row) is divided by NormEpsilon instead
// of its norm, which keeps the output and the gradient finite.
const NormEpsilon = 1e-12

// L2Norm is the result of [L2Normalize]: the normalised rows and what the
// backward pass needs.
type L2Norm struct {
	// Out holds the input rows scaled to unit length, shape [B, D].
	Out *tensor.Tensor
	// norms holds each row's divisor, max(‖x‖, NormEpsilon).
	norms []float64
	// clamped marks rows whose norm was below NormEpsilon.
	clamped []bool
}

// L2Normalize scales each row of x [B, D] to unit Euclidean length,
// y = x / max(‖x‖, NormEpsilon). The triplet loss works on such embeddings,
// so that distances are bounded (0 ≤ ‖a−b‖² ≤ 4) and the margin has a fixed
// meaning.
func L2Normalize(x *tensor.Tensor) (*L2Norm, error) {
	b, d, err := checkEmbeddings(x, nil)
	if err != nil {
		return nil, fmt.Errorf("l2 normalize: %w", err)
	}
	n := &L2Norm{Out: tensor.New(b, d), norms: make([]float64, b), clamped: make([]bool, b)}
	for i := 0; i < b; i++ {
		row := x.Data[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		norm := math.Sqrt(s)
		if norm < NormEpsilon {
			norm = NormEpsilon
			n.clamped[i] = true
		}
		n.norms[i] = norm
		out := n.Out.Data[i*d : (i+1)*d]
		for k, v := range row {
			out[k] = float32(float64(v) / norm)
		}
	}
	return n, nil
}

// Backward returns dL/dx given dL/dy (shape [B, D]). For a row of norm
// r = ‖x‖ it is (dy − y (y·dy)) / r: the component of dy along y is
// removed because moving x along itself does not change y. Rows whose norm
// was clamped to NormEpsilon were divided by a constant, so their gradient
// is dy / NormEpsilon.
func (n *L2Norm) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if dy == nil || !tensor.SameShape(dy.Shape, n.Out.Shape) || len(dy.Data) != len(n.Out.Data) {
		var shape []int
		if dy != nil {
			shape = dy.Shape
		}
		return nil, fmt.Errorf("l2 normalize backward: gradient shape %v, want %v", shape, n.Out.Shape)
	}
	b, d := n.Out.Shape[0], n.Out.Shape[1]
	dx := tensor.New(b, d)
	for i := 0; i < b; i++ {
		y := n.Out.Data[i*d : (i+1)*d]
		g := dy.Data[i*d : (i+1)*d]
		out := dx.Data[i*d : (i+1)*d]
		var dot float64
		if !n.clamped[i] {
			for k := range y {
				dot += float64(y[k]) * float64(g[k])
			}
		}
		for k := range y {
			out[k] = float32((float64(g[k]) - float64(y[k])*dot) / n.norms[i])
		}
	}
	return dx, nil
}
