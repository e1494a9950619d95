package train

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/tensor"
)

// checkEmbeddings validates a [B, D] embedding matrix and, when labels is
// not nil, its labels. It returns B and D.
func checkEmbeddings(e *tensor.Tensor, labels []int) (b, d int, err error) {
	if e == nil {
		return 0, 0, fmt.Errorf("embeddings are nil")
	}
	if len(e.Shape) != 2 || e.Shape[0] < 0 || e.Shape[1] <= 0 {
		return 0, 0, fmt.Errorf("embeddings have shape %v, want [B, D] with D > 0", e.Shape)
	}
	b, d = e.Shape[0], e.Shape[1]
	if len(e.Data) != b*d {
		return 0, 0, fmt.Errorf("embeddings hold %d values, shape %v needs %d", len(e.Data), e.Shape, b*d)
	}
	for i, v := range e.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, 0, fmt.Errorf("embedding %d component %d is %v", i/d, i%d, v)
		}
	}
	if labels != nil && len(labels) != b {
		return 0, 0, fmt.Errorf("%d labels for %d embeddings", len(labels), b)
	}
	return b, d, nil
}

// sqDistances returns the B×B matrix of squared Euclidean distances
// between the rows of e, computed from differences in float64 so that
// near-duplicate rows give a distance near zero and never a negative one.
func sqDistances(e []float32, b, d int) []float64 {
	dist := make([]float64, b*b)
	for i := 0; i < b; i++ {
		ri := e[i*d : (i+1)*d]
		for j := i + 1; j < b; j++ {
			rj := e[j*d : (j+1)*d]
			var s float64
			for k, v := range ri {
				t := float64(v) - float64(rj[k])
				s += t * t
			}
			dist[i*b+j] = s
			dist[j*b+i] = s
		}
	}
	return dist
}

// addScaledDiff adds s·(e_i − e_j) to row i of g (all [B, D] row-major).
func addScaledDiff(g []float64, e []float32, d, i, j int, s float64) {
	gi := g[i*d : (i+1)*d]
	ri := e[i*d : (i+1)*d]
	rj := e[j*d : (j+1)*d]
	for k := range gi {
		gi[k] += s * (float64(ri[k]) - float64(rj[k]))
	}
}

// toTensor converts a float64 gradient buffer to a float32 tensor.
func toTensor(g []float64, shape ...int) *tensor.Tensor {
	out := tensor.New(shape...)
	for i, v := range g {
		out.Data[i] = float32(v)
	}
	return out
}
