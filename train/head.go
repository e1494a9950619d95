package train

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// BinaryHead is the verification head of the classic Siamese network
// (Koch et al. 2015): the probability that embeddings x and y show the same
// identity is ŷ = σ(Σ_k W_k |x_k − y_k| + B). It is trained end to end with
// the embedding network through [BinaryHead.Loss].
type BinaryHead struct {
	// W weighs each component's absolute difference; it has the
	// embeddings' dimension D.
	W []float32
	// B is the bias.
	B float32
}

// NewBinaryHead returns a head for D-dimensional embeddings with
// W_k = −1/√D and B = 1. For unit-length random embeddings Σ|x_k − y_k| is
// about 1.1·√D, so the initial logit is near zero: the head starts unsure
// rather than saturated, and its gradient reaches the embeddings from the
// first step (with W = 0 it would not).
func NewBinaryHead(d int) (*BinaryHead, error) {
	if d <= 0 {
		return nil, fmt.Errorf("new binary head: dimension %d must be positive", d)
	}
	h := &BinaryHead{W: make([]float32, d), B: 1}
	w := float32(-1 / math.Sqrt(float64(d)))
	for k := range h.W {
		h.W[k] = w
	}
	return h, nil
}

// logit returns Σ_k W_k |x_k − y_k| + B in float64.
func (h *BinaryHead) logit(x, y []float32) float64 {
	z := float64(h.B)
	for k, w := range h.W {
		z += float64(w) * math.Abs(float64(x[k])-float64(y[k]))
	}
	return z
}

// Score returns ŷ, the probability that x and y show the same identity.
func (h *BinaryHead) Score(x, y []float32) (float64, error) {
	if len(x) != len(h.W) || len(y) != len(h.W) {
		return 0, fmt.Errorf("binary head score: embeddings of length %d and %d, want %d", len(x), len(y), len(h.W))
	}
	return nn.Sigmoid(h.logit(x, y)), nil
}

// HeadGrad holds the gradients of [BinaryHead.Loss].
type HeadGrad struct {
	// E is dL/dE, shape [B, D].
	E *tensor.Tensor
	// W and B are dL/dW and dL/dB, the head's own parameter gradients.
	W []float32
	B float32
}

// Loss computes the mean binary cross-entropy of the head over pairs of
// the embeddings e [B, D] (target 1 for a same-label pair, 0 otherwise;
// nil pairs means every pair of the batch, though [BalancedPairs] is
// usually what is wanted), and its gradients with respect to the
// embeddings and to the head's parameters. Stats.Active counts the
// misclassified pairs (ŷ on the wrong side of ½).
//
// The cross-entropy is computed from the logit z as softplus(−z) for
// target 1 and softplus(z) for target 0, which never takes the log of 0;
// its derivative is σ(z) − target. The derivative of |x_k − y_k| at 0 is
// taken to be 0.
func (h *BinaryHead) Loss(e *tensor.Tensor, labels []int, pairs []Pair) (float64, HeadGrad, PairStats, error) {
	var st PairStats
	b, d, err := checkEmbeddings(e, labels)
	if err != nil {
		return 0, HeadGrad{}, st, fmt.Errorf("binary head loss: %w", err)
	}
	if d != len(h.W) {
		return 0, HeadGrad{}, st, fmt.Errorf("binary head loss: embeddings of dimension %d, head has %d", d, len(h.W))
	}
	if pairs == nil {
		pairs = AllPairs(b)
	}
	if err := checkPairs(pairs, b); err != nil {
		return 0, HeadGrad{}, st, fmt.Errorf("binary head loss: %w", err)
	}
	ge := make([]float64, b*d)
	gw := make([]float64, d)
	var gb, loss float64
	st.Pairs = len(pairs)
	w := 1 / float64(max(len(pairs), 1))
	for _, p := range pairs {
		x, y := e.Data[p.I*d:(p.I+1)*d], e.Data[p.J*d:(p.J+1)*d]
		z := h.logit(x, y)
		dist := math.Sqrt(sqDist(e.Data, d, p.I, p.J))
		var target float64
		if labels[p.I] == labels[p.J] {
			target = 1
			st.Same++
			st.MeanSame += dist
			loss += nn.Softplus(-z)
			if z <= 0 {
				st.Active++
			}
		} else {
			st.Different++
			st.MeanDifferent += dist
			loss += nn.Softplus(z)
			if z > 0 {
				st.Active++
			}
		}
		dz := (nn.Sigmoid(z) - target) * w
		gb += dz
		gi, gj := ge[p.I*d:(p.I+1)*d], ge[p.J*d:(p.J+1)*d]
		for k := range x {
			diff := float64(x[k]) - float64(y[k])
			gw[k] += dz * math.Abs(diff)
			var sign float64
			switch {
			case diff > 0:
				sign = 1
			case diff < 0:
				sign = -1
			}
			g := dz * float64(h.W[k]) * sign
			gi[k] += g
			gj[k] -= g
		}
	}
	st.finish()
	grad := HeadGrad{E: toTensor(ge, b, d), W: make([]float32, d), B: float32(gb)}
	for k, v := range gw {
		grad.W[k] = float32(v)
	}
	return loss * w, grad, st, nil
}
