package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/facerec/facerec/tensor"
)

// DefaultContrastiveMargin is the contrastive margin m used when
// ContrastiveConfig.Margin is zero. Unit-length embeddings are at most 2
// apart and random ones about √2, so m = 1 pushes different identities
// apart until they are roughly as far as unrelated vectors.
const DefaultContrastiveMargin = 1.0

// Pair names two embeddings of a batch by index.
type Pair struct {
	I, J int
}

// AllPairs returns every pair i < j of a batch of b embeddings.
func AllPairs(b int) []Pair {
	pairs := make([]Pair, 0, max(b*(b-1)/2, 0))
	for i := 0; i < b; i++ {
		for j := i + 1; j < b; j++ {
			pairs = append(pairs, Pair{i, j})
		}
	}
	return pairs
}

// BalancedPairs returns every same-label pair of the batch followed by as
// many different-label pairs drawn at random without repetition (all of
// them if there are fewer). A P×K batch has far more different pairs than
// same ones; balancing keeps a pair loss from learning "always different".
func BalancedPairs(labels []int, rng *rand.Rand) ([]Pair, error) {
	if rng == nil {
		return nil, fmt.Errorf("balanced pairs: rng is nil")
	}
	var same, diff []Pair
	for i := range labels {
		for j := i + 1; j < len(labels); j++ {
			if labels[i] == labels[j] {
				same = append(same, Pair{i, j})
			} else {
				diff = append(diff, Pair{i, j})
			}
		}
	}
	// A partial Fisher–Yates shuffle picks len(same) of the different pairs.
	n := min(len(same), len(diff))
	for k := 0; k < n; k++ {
		r := k + rng.IntN(len(diff)-k)
		diff[k], diff[r] = diff[r], diff[k]
	}
	return append(same, diff[:n]...), nil
}

// checkPairs validates pairs against a batch of b embeddings.
func checkPairs(pairs []Pair, b int) error {
	for _, p := range pairs {
		if p.I < 0 || p.I >= b || p.J < 0 || p.J >= b || p.I == p.J {
			return fmt.Errorf("pair %v is not two different embeddings of a batch of %d", p, b)
		}
	}
	return nil
}

// PairStats describes the pairs behind one pair-loss evaluation.
type PairStats struct {
	// Pairs is the number of pairs; Same and Different split it by label.
	Pairs, Same, Different int
	// Active is the number of pairs with a non-zero loss.
	Active int
	// MeanSame and MeanDifferent are the mean Euclidean distances of the
	// same-label and different-label pairs.
	MeanSame, MeanDifferent float64
}

func (st *PairStats) finish() {
	if st.Same > 0 {
		st.MeanSame /= float64(st.Same)
	}
	if st.Different > 0 {
		st.MeanDifferent /= float64(st.Different)
	}
}

// ContrastiveConfig configures [ContrastiveLoss].
type ContrastiveConfig struct {
	// Margin is m; zero means DefaultContrastiveMargin. It must not be
	// negative.
	Margin float64
	// Pairs lists the pairs to use; nil means every pair of the batch
	// (see also BalancedPairs).
	Pairs []Pair
}

// ContrastiveLoss computes the contrastive loss of Hadsell, Chopra and
// LeCun over pairs of the embeddings e [B, D]: d² for a same-label pair and
// max(m − d, 0)² for a different-label pair, d being the Euclidean
// distance, averaged over the pairs; and its gradient dL/de [B, D].
//
// The gradient of max(m − d, 0)² through d = √(‖e_i − e_j‖²) has the
// direction (e_i − e_j)/d, which is undefined at d = 0: a different-label
// pair at exactly the same point gets a zero gradient (a valid
// subgradient) rather than a NaN. Same-label pairs use d² directly and
// need no square root.
func ContrastiveLoss(e *tensor.Tensor, labels []int, cfg ContrastiveConfig) (float64, *tensor.Tensor, PairStats, error) {
	var st PairStats
	b, d, err := checkEmbeddings(e, labels)
	if err != nil {
		return 0, nil, st, fmt.Errorf("contrastive loss: %w", err)
	}
	m := cfg.Margin
	switch {
	case m < 0:
		return 0, nil, st, fmt.Errorf("contrastive loss: negative margin %v", m)
	case m == 0:
		m = DefaultContrastiveMargin
	}
	pairs := cfg.Pairs
	if pairs == nil {
		pairs = AllPairs(b)
	}
	if err := checkPairs(pairs, b); err != nil {
		return 0, nil, st, fmt.Errorf("contrastive loss: %w", err)
	}
	grad := make([]float64, b*d)
	st.Pairs = len(pairs)
	if len(pairs) == 0 {
		return 0, toTensor(grad, b, d), st, nil
	}
	w := 1 / float64(len(pairs))
	var loss float64
	for _, p := range pairs {
		sq := sqDist(e.Data, d, p.I, p.J)
		dist := math.Sqrt(sq)
		if labels[p.I] == labels[p.J] {
			st.Same++
			st.MeanSame += dist
			if sq > 0 {
				st.Active++
			}
			loss += sq
			addScaledDiff(grad, e.Data, d, p.I, p.J, 2*w)
			addScaledDiff(grad, e.Data, d, p.J, p.I, 2*w)
			continue
		}
		st.Different++
		st.MeanDifferent += dist
		if dist >= m {
			continue
		}
		st.Active++
		loss += (m - dist) * (m - dist)
		if dist > 0 {
			s := -2 * (m - dist) / dist * w
			addScaledDiff(grad, e.Data, d, p.I, p.J, s)
			addScaledDiff(grad, e.Data, d, p.J, p.I, s)
		}
	}
	st.finish()
	return loss * w, toTensor(grad, b, d), st, nil
}

// sqDist returns ‖e_i − e_j‖² in float64.
func sqDist(e []float32, d, i, j int) float64 {
	ri, rj := e[i*d:(i+1)*d], e[j*d:(j+1)*d]
	var s float64
	for k, v := range ri {
		t := float64(v) - float64(rj[k])
		s += t * t
	}
	return s
}
