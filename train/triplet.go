package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// DefaultMargin is the triplet margin α used when TripletConfig.Margin is
// zero: FaceNet's value for unit-length embeddings.
const DefaultMargin = 0.2

// Mining chooses which triplets of a batch the triplet loss uses.
type Mining int

const (
	// BatchAll uses every valid triplet (a, p, n): a ≠ p with the same
	// label, n with a different label.
	BatchAll Mining = iota
	// BatchHard uses one triplet per anchor: its hardest positive (largest
	// d(a,p)) and hardest negative (smallest d(a,n)) (Hermans et al. 2017).
	BatchHard
	// SemiHard uses, per (a, p) pair, the hardest semi-hard negative: the n
	// with the smallest d(a,n) among those with d(a,p) < d(a,n) < d(a,p)+α
	// (FaceNet). Pairs without one are skipped, or use the hardest negative
	// when TripletConfig.SemiHardFallback is set.
	SemiHard
	// RandomTriplets uses one random valid triplet per anchor. It is the
	// baseline that shows why mining matters: most random triplets already
	// satisfy the margin and contribute nothing.
	RandomTriplets
)

// String returns the name used on command lines and in logs.
func (m Mining) String() string {
	switch m {
	case BatchAll:
		return "batch-all"
	case BatchHard:
		return "batch-hard"
	case SemiHard:
		return "semi-hard"
	case RandomTriplets:
		return "random"
	}
	return fmt.Sprintf("Mining(%d)", int(m))
}

// ParseMining returns the Mining named s ("batch-all", "batch-hard",
// "semi-hard" or "random").
func ParseMining(s string) (Mining, error) {
	for m := BatchAll; m <= RandomTriplets; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mining strategy %q (want batch-all, batch-hard, semi-hard or random)", s)
}

// Reduction says what the triplet losses are averaged over.
type Reduction int

const (
	// ReduceAuto is MeanActive for BatchAll and MeanAll for the other
	// strategies. Batch-all mines mostly easy triplets whose loss is zero;
	// averaging over all of them would shrink the gradient as the net
	// improves, so it is averaged over the active ones (Hermans et al.).
	ReduceAuto Reduction = iota
	// MeanAll averages over every mined triplet.
	MeanAll
	// MeanActive averages over the triplets with a non-zero loss; the
	// count is treated as a constant in the gradient (it is piecewise
	// constant in the embeddings).
	MeanActive
)

// TripletConfig configures [TripletLoss].
type TripletConfig struct {
	// Margin is α; zero means DefaultMargin. It must not be negative.
	Margin float64
	// Mining chooses the triplets.
	Mining Mining
	// Reduction chooses what the loss is averaged over.
	Reduction Reduction
	// SemiHardFallback makes SemiHard use the hardest negative for a
	// (a, p) pair that has no semi-hard one instead of skipping the pair.
	// Skipping is the default because hardest negatives early in training
	// can collapse the embedding (FaceNet §3.2).
	SemiHardFallback bool
	// Rand draws the RandomTriplets triplets; it is required for that
	// strategy and unused by the others. Seed it for reproducible runs.
	Rand *rand.Rand
	// KeepTriplets records the mined triplets in TripletStats.Mined.
	KeepTriplets bool
	// Soft replaces the hinge by the soft margin ln(1 + exp(‖a−p‖² −
	// ‖a−n‖²)) (Hermans et al.): it never reaches zero, so satisfied
	// triplets keep pulling a little instead of going silent. The margin
	// then only decides which triplets count as active. The loss is the
	// mean over every mined triplet (Reduction is ignored).
	Soft bool
	// Euclidean measures d(a,p) and d(a,n) as Euclidean distances ‖a−p‖
	// instead of squared ones (Hermans et al.). The squared distance's
	// gradient 2(a−p) vanishes as the embeddings draw together, so a batch
	// whose points have all collapsed onto one is a stationary point that
	// hard mining, which always picks the nearest negative, drives towards;
	// the Euclidean distance's gradient (a−p)/‖a−p‖ keeps unit length
	// however close the points are. That does not remove the pull towards
	// the collapse (the loss still falls as all distances shrink; see
	// model.EmbedNetConfig.EmbeddingBN, which does). The margin is then in
	// units of distance.
	Euclidean bool
}

// Triplet is one mined triplet: indices of the anchor, the positive and
// the negative in the batch.
type Triplet struct {
	A, P, N int
}

// TripletStats describes the triplets behind one loss evaluation.
type TripletStats struct {
	// Triplets is the number of mined triplets.
	Triplets int
	// Active is the number of mined triplets with a non-zero loss.
	Active int
	// ActiveFraction is Active / Triplets (0 when none was mined).
	ActiveFraction float64
	// MeanPos and MeanNeg are the mean squared distances d(a,p) and d(a,n)
	// over the mined triplets, in the units of the margin.
	MeanPos, MeanNeg float64
	// Mined holds the triplets when TripletConfig.KeepTriplets is set.
	Mined []Triplet
}

// TripletLoss computes the triplet loss max(‖a−p‖² − ‖a−n‖² + α, 0) (or
// with the Euclidean distances, see TripletConfig.Euclidean) over
// triplets mined online from the embeddings e [B, D] and their identity
// labels, and its gradient dL/de [B, D]. Embeddings are normally
// L2-normalised first (the networks end with nn.Graph.L2Normalize). A batch without any valid
// triplet (fewer than two labels, or no label with two samples) gives a
// zero loss and gradient, not an error.
func TripletLoss(e *tensor.Tensor, labels []int, cfg TripletConfig) (float64, *tensor.Tensor, TripletStats, error) {
	var st TripletStats
	b, d, err := checkEmbeddings(e, labels)
	if err != nil {
		return 0, nil, st, fmt.Errorf("triplet loss: %w", err)
	}
	alpha := cfg.Margin
	switch {
	case alpha < 0:
		return 0, nil, st, fmt.Errorf("triplet loss: negative margin %v", alpha)
	case alpha == 0:
		alpha = DefaultMargin
	}
	if cfg.Mining < BatchAll || cfg.Mining > RandomTriplets {
		return 0, nil, st, fmt.Errorf("triplet loss: unknown mining %v", cfg.Mining)
	}
	if cfg.Mining == RandomTriplets && cfg.Rand == nil {
		return 0, nil, st, fmt.Errorf("triplet loss: random mining needs TripletConfig.Rand")
	}
	red := cfg.Reduction
	if red == ReduceAuto {
		red = MeanAll
		if cfg.Mining == BatchAll && !cfg.Soft {
			red = MeanActive
		}
	}
	if cfg.Soft {
		red = MeanAll
	}
	if red != MeanAll && red != MeanActive {
		return 0, nil, st, fmt.Errorf("triplet loss: unknown reduction %d", red)
	}

	dist := sqDistances(e.Data, b, d)
	if cfg.Euclidean {
		for i, v := range dist {
			dist[i] = math.Sqrt(v)
		}
	}
	var mined []Triplet
	emit := func(a, p, n int) { mined = append(mined, Triplet{a, p, n}) }
	switch cfg.Mining {
	case BatchAll:
		for a := 0; a < b; a++ {
			for p := 0; p < b; p++ {
				if p == a || labels[p] != labels[a] {
					continue
				}
				for n := 0; n < b; n++ {
					if labels[n] != labels[a] {
						emit(a, p, n)
					}
				}
			}
		}
	case BatchHard:
		for a := 0; a < b; a++ {
			p, n := -1, -1
			for j := 0; j < b; j++ {
				switch {
				case j == a:
				case labels[j] == labels[a]:
					if p < 0 || dist[a*b+j] > dist[a*b+p] {
						p = j
					}
				default:
					if n < 0 || dist[a*b+j] < dist[a*b+n] {
						n = j
					}
				}
			}
			if p >= 0 && n >= 0 {
				emit(a, p, n)
			}
		}
	case SemiHard:
		for a := 0; a < b; a++ {
			for p := 0; p < b; p++ {
				if p == a || labels[p] != labels[a] {
					continue
				}
				dap := dist[a*b+p]
				semi, hard := -1, -1
				for n := 0; n < b; n++ {
					if labels[n] == labels[a] {
						continue
					}
					dan := dist[a*b+n]
					if hard < 0 || dan < dist[a*b+hard] {
						hard = n
					}
					if dan > dap && dan < dap+alpha && (semi < 0 || dan < dist[a*b+semi]) {
						semi = n
					}
				}
				switch {
				case semi >= 0:
					emit(a, p, semi)
				case hard >= 0 && cfg.SemiHardFallback:
					emit(a, p, hard)
				}
			}
		}
	case RandomTriplets:
		pos := make([]int, 0, b)
		neg := make([]int, 0, b)
		for a := 0; a < b; a++ {
			pos, neg = pos[:0], neg[:0]
			for j := 0; j < b; j++ {
				switch {
				case j == a:
				case labels[j] == labels[a]:
					pos = append(pos, j)
				default:
					neg = append(neg, j)
				}
			}
			if len(pos) > 0 && len(neg) > 0 {
				emit(a, pos[cfg.Rand.IntN(len(pos))], neg[cfg.Rand.IntN(len(neg))])
			}
		}
	}

	st.Triplets = len(mined)
	losses := make([]float64, len(mined))
	slopes := make([]float64, len(mined)) // ∂loss/∂(d(a,p) − d(a,n))
	for i, t := range mined {
		dap, dan := dist[t.A*b+t.P], dist[t.A*b+t.N]
		st.MeanPos += dap
		st.MeanNeg += dan
		l := dap - dan + alpha
		if l > 0 {
			st.Active++
		}
		switch {
		case cfg.Soft:
			losses[i], slopes[i] = nn.Softplus(dap-dan), nn.Sigmoid(dap-dan)
		case l > 0:
			losses[i], slopes[i] = l, 1
		}
	}
	if cfg.KeepTriplets {
		st.Mined = mined
	}
	grad := make([]float64, b*d)
	if st.Triplets == 0 {
		return 0, toTensor(grad, b, d), st, nil
	}
	st.ActiveFraction = float64(st.Active) / float64(st.Triplets)
	st.MeanPos /= float64(st.Triplets)
	st.MeanNeg /= float64(st.Triplets)
	count := st.Triplets
	if red == MeanActive {
		count = st.Active
	}
	if count == 0 {
		return 0, toTensor(grad, b, d), st, nil
	}
	w := 1 / float64(count)
	var loss float64
	for i, t := range mined {
		loss += losses[i]
		if slopes[i] == 0 {
			continue
		}
		// ∂/∂a (‖a−p‖² − ‖a−n‖²) = 2(a−p) − 2(a−n); ∂/∂p = −2(a−p); ∂/∂n = 2(a−n).
		// Euclidean: ∂‖a−p‖/∂a = (a−p)/‖a−p‖, zero where the points coincide.
		cp, cn := 2*w*slopes[i], 2*w*slopes[i]
		if cfg.Euclidean {
			cp, cn = w*slopes[i]*inv(dist[t.A*b+t.P]), w*slopes[i]*inv(dist[t.A*b+t.N])
		}
		addScaledDiff(grad, e.Data, d, t.A, t.P, cp)
		addScaledDiff(grad, e.Data, d, t.A, t.N, -cn)
		addScaledDiff(grad, e.Data, d, t.P, t.A, cp)
		addScaledDiff(grad, e.Data, d, t.N, t.A, -cn)
	}
	return loss * w, toTensor(grad, b, d), st, nil
}

// inv is 1/x, or 0 for a distance too small to give a direction.
func inv(x float64) float64 {
	if x < 1e-9 {
		return 0
	}
	return 1 / x
}
