package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// BestThreshold returns the threshold τ that maximises the accuracy of the
// rule "same if d < τ" on the given pairs, and that accuracy.
//
// The candidates are one value below the smallest finite distance, the
// midpoint between each two consecutive distinct finite distances, and one
// value above the largest; every other τ gives the same decisions as one
// of them. When several candidates reach the best accuracy the smallest τ
// wins, which is deterministic and favours a lower false accept rate.
//
// No-face pairs (NaN distances) count as errors at every τ, so they lower
// the accuracy but never move τ. Infinite distances are accepted as they
// are (−Inf is always accepted, +Inf never). With no finite distance at
// all every τ is equivalent and 0 is returned.
func BestThreshold(distances []float64, same []bool) (tau, acc float64, err error) {
	if err := checkLengths(distances, same); err != nil {
		return 0, 0, fmt.Errorf("best threshold: %w", err)
	}
	tau, correct := bestThreshold(distances, same, nil)
	return tau, float64(correct) / float64(len(distances)), nil
}

// bestThreshold implements BestThreshold on the pairs listed in idx, or on
// all pairs when idx is nil, and returns τ and the number of correct pairs.
func bestThreshold(distances []float64, same []bool, idx []int) (float64, int) {
	var pairs []scored
	add := func(i int) {
		if d := distances[i]; !math.IsNaN(d) {
			pairs = append(pairs, scored{d, same[i]})
		}
	}
	if idx == nil {
		for i := range distances {
			add(i)
		}
	} else {
		for _, i := range idx {
			add(i)
		}
	}
	sortScored(pairs)

	diffTotal := 0
	for _, p := range pairs {
		if !p.same {
			diffTotal++
		}
	}
	// Sweep the candidates in increasing order. sameAcc and diffAcc count
	// the pairs accepted by the current candidate.
	sameAcc, diffAcc := 0, 0
	i := 0
	for ; i < len(pairs) && math.IsInf(pairs[i].d, -1); i++ {
		if pairs[i].same {
			sameAcc++
		} else {
			diffAcc++
		}
	}
	if i == len(pairs) || math.IsInf(pairs[i].d, 1) {
		return 0, sameAcc + diffTotal - diffAcc
	}
	bestTau := below(pairs[i].d)
	bestCorrect := sameAcc + diffTotal - diffAcc
	for i < len(pairs) && !math.IsInf(pairs[i].d, 1) {
		v := pairs[i].d
		for ; i < len(pairs) && pairs[i].d == v; i++ {
			if pairs[i].same {
				sameAcc++
			} else {
				diffAcc++
			}
		}
		if c := sameAcc + diffTotal - diffAcc; c > bestCorrect {
			bestCorrect = c
			if i < len(pairs) && !math.IsInf(pairs[i].d, 1) {
				bestTau = between(v, pairs[i].d)
			} else {
				bestTau = above(v)
			}
		}
	}
	return bestTau, bestCorrect
}

// below returns a threshold that accepts no distance ≥ v under d < τ.
func below(v float64) float64 {
	if t := v - 1; t < v {
		return t
	}
	return v // v itself already rejects v; only huge |v| gets here
}

// above returns a threshold that accepts every distance ≤ v under d < τ.
func above(v float64) float64 {
	if t := v + 1; t > v {
		return t
	}
	return math.Nextafter(v, math.Inf(1))
}

// between returns a threshold in (a, b] for a < b: their midpoint, or b
// itself when a and b are adjacent floats and no midpoint exists.
func between(a, b float64) float64 {
	m := a/2 + b/2 // halves first so that huge values cannot overflow
	if m <= a || m > b {
		return b
	}
	return m
}

// FoldScore is the outcome of one held-out fold.
type FoldScore struct {
	// Fold is the fold identifier as given to the k-fold function.
	Fold int
	// Pairs is the number of pairs in the fold.
	Pairs int
	// Threshold is the distance threshold chosen on the other folds, or
	// NaN for decision rules that are not a distance threshold.
	Threshold float64
	// Accuracy is the fraction of the fold's pairs classified correctly.
	Accuracy float64
}

// FoldResult summarises a k-fold evaluation.
type FoldResult struct {
	// Folds holds one score per fold, in increasing fold order.
	Folds []FoldScore
	// MeanAccuracy is the mean of the per-fold accuracies.
	MeanAccuracy float64
	// StdAccuracy is the population standard deviation (divide by k, as
	// numpy.std and most published LFW code compute it) of the per-fold
	// accuracies.
	StdAccuracy float64
	// MeanThreshold is the mean of the per-fold thresholds (NaN for rules
	// without one).
	MeanThreshold float64
}

// Rule is a decision rule fitted on the training folds of one split.
type Rule struct {
	// Decide judges pair i, an index into the caller's data. ok is false
	// when the rule cannot judge the pair (no face was found); such a pair
	// counts as an error whatever its label.
	Decide func(i int) (same, ok bool)
	// Threshold is the distance threshold the rule applies, or NaN when the
	// rule is not a distance threshold. It is reported per fold.
	Threshold float64
}

// Fitter fits a decision rule on the pairs whose indices are given. It is
// the pluggable part of [KFoldWith].
type Fitter func(train []int) (Rule, error)

// KFold runs the LFW k-fold protocol on distances, where a smaller
// distance means "same": for each fold f, τ_f is chosen by
// [BestThreshold] on all pairs not in f, and the accuracy of "same if
// d < τ_f" is measured on f. fold gives each pair's fold identifier
// (any integers; there must be at least two distinct ones). No-face pairs
// (NaN distances) stay in every count as errors.
func KFold(distances []float64, same []bool, fold []int) (FoldResult, error) {
	if err := checkLengths(distances, same); err != nil {
		return FoldResult{}, fmt.Errorf("k-fold: %w", err)
	}
	fit := func(train []int) (Rule, error) {
		tau, _ := bestThreshold(distances, same, train)
		return Rule{
			Decide: func(i int) (bool, bool) {
				d := distances[i]
				return d < tau, !math.IsNaN(d)
			},
			Threshold: tau,
		}, nil
	}
	return KFoldWith(same, fold, fit)
}

// KFoldWith runs the k-fold protocol with any decision rule: for each fold
// it calls fit with the indices of the pairs in all other folds and scores
// the returned rule on the held-out fold. same holds the true labels and
// fold the fold identifier of each pair.
func KFoldWith(same []bool, fold []int, fit Fitter) (FoldResult, error) {
	if len(same) != len(fold) {
		return FoldResult{}, fmt.Errorf("k-fold: %d labels but %d fold indices", len(same), len(fold))
	}
	if len(same) == 0 {
		return FoldResult{}, errors.New("k-fold: no pairs")
	}
	if fit == nil {
		return FoldResult{}, errors.New("k-fold: nil fitter")
	}
	members := map[int][]int{}
	for i, f := range fold {
		members[f] = append(members[f], i)
	}
	if len(members) < 2 {
		return FoldResult{}, fmt.Errorf("k-fold: need at least two folds, have %d", len(members))
	}
	ids := make([]int, 0, len(members))
	for f := range members {
		ids = append(ids, f)
	}
	sort.Ints(ids)

	var res FoldResult
	train := make([]int, 0, len(same))
	for _, f := range ids {
		train = train[:0]
		for i, g := range fold {
			if g != f {
				train = append(train, i)
			}
		}
		rule, err := fit(train)
		if err != nil {
			return FoldResult{}, fmt.Errorf("k-fold: fold %d: %w", f, err)
		}
		if rule.Decide == nil {
			return FoldResult{}, fmt.Errorf("k-fold: fold %d: fitter returned a rule without Decide", f)
		}
		correct := 0
		for _, i := range members[f] {
			if s, ok := rule.Decide(i); ok && s == same[i] {
				correct++
			}
		}
		res.Folds = append(res.Folds, FoldScore{
			Fold:      f,
			Pairs:     len(members[f]),
			Threshold: rule.Threshold,
			Accuracy:  float64(correct) / float64(len(members[f])),
		})
	}
	k := float64(len(res.Folds))
	for _, s := range res.Folds {
		res.MeanAccuracy += s.Accuracy
		res.MeanThreshold += s.Threshold
	}
	res.MeanAccuracy /= k
	res.MeanThreshold /= k
	for _, s := range res.Folds {
		d := s.Accuracy - res.MeanAccuracy
		res.StdAccuracy += d * d
	}
	res.StdAccuracy = math.Sqrt(res.StdAccuracy / k)
	return res, nil
}
