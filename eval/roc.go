package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ROCPoint is one operating point of a verification ROC curve.
type ROCPoint struct {
	// Threshold is the distance cut: the point accepts every pair whose
	// distance is ≤ Threshold. The same point is reached by the strict rule
	// d < τ of [Accuracy] for any τ above Threshold and at or below the
	// next point's Threshold.
	Threshold float64
	// TAR is the true accept rate (true positive rate): the fraction of
	// matched pairs accepted.
	TAR float64
	// FAR is the false accept rate (false positive rate): the fraction of
	// mismatched pairs accepted.
	FAR float64
}

// scored is a pair reduced to what the metrics need.
type scored struct {
	d    float64
	same bool
}

// effective returns the distance a pair is ranked by: its own, or for a
// no-face pair (NaN) the worst value for its label, +Inf for a matched
// pair and −Inf for a mismatched one (see the package documentation).
func effective(d float64, same bool) float64 {
	if !math.IsNaN(d) {
		return d
	}
	if same {
		return math.Inf(1)
	}
	return math.Inf(-1)
}

// sortScored orders pairs by increasing distance. No distance may be NaN.
func sortScored(pairs []scored) {
	slices.SortFunc(pairs, func(a, b scored) int { return cmp.Compare(a.d, b.d) })
}

// checkLengths rejects empty or mismatched inputs.
func checkLengths(distances []float64, same []bool) error {
	if len(distances) != len(same) {
		return fmt.Errorf("%d distances but %d labels", len(distances), len(same))
	}
	if len(distances) == 0 {
		return errors.New("no pairs")
	}
	return nil
}

// classCounts returns the number of matched and mismatched pairs.
func classCounts(same []bool) (nSame, nDiff int) {
	for _, s := range same {
		if s {
			nSame++
		}
	}
	return nSame, len(same) - nSame
}

// ROC returns the ROC curve of the verification scores, where a smaller
// distance means "same". The first point is the origin {−Inf, 0, 0}, which
// accepts nothing; after it comes one point per distinct distance, in
// increasing order, so pairs with equal distances always move together
// and the last point is (FAR 1, TAR 1). No-face pairs (NaN distances) are
// ranked as +Inf when matched and −Inf when mismatched, so they pull the
// curve down. Both classes must be present.
func ROC(distances []float64, same []bool) ([]ROCPoint, error) {
	if err := checkLengths(distances, same); err != nil {
		return nil, fmt.Errorf("roc: %w", err)
	}
	nSame, nDiff := classCounts(same)
	if nSame == 0 || nDiff == 0 {
		return nil, fmt.Errorf("roc: need both matched and mismatched pairs, have %d and %d", nSame, nDiff)
	}
	pairs := make([]scored, len(distances))
	for i, d := range distances {
		pairs[i] = scored{effective(d, same[i]), same[i]}
	}
	sortScored(pairs)

	points := make([]ROCPoint, 1, len(pairs)+1)
	points[0] = ROCPoint{Threshold: math.Inf(-1)}
	tp, fp := 0, 0
	for i := 0; i < len(pairs); {
		v := pairs[i].d
		for ; i < len(pairs) && pairs[i].d == v; i++ {
			if pairs[i].same {
				tp++
			} else {
				fp++
			}
		}
		points = append(points, ROCPoint{
			Threshold: v,
			TAR:       float64(tp) / float64(nSame),
			FAR:       float64(fp) / float64(nDiff),
		})
	}
	return points, nil
}

// AUC returns the area under an ROC curve by the trapezoid rule over all
// its points. For a curve from [ROC] this equals the Mann-Whitney
// statistic P(d_diff > d_same) + ½·P(d_diff = d_same), taken over all
// (matched, mismatched) pairs of pairs. It returns NaN for a curve with
// fewer than two points.
func AUC(points []ROCPoint) float64 {
	if len(points) < 2 {
		return math.NaN()
	}
	area := 0.0
	for k := 1; k < len(points); k++ {
		p, q := points[k-1], points[k]
		area += (q.FAR - p.FAR) * (q.TAR + p.TAR) / 2
	}
	return area
}

// EER returns the equal error rate: the FAR at which FAR equals the false
// reject rate 1 − TAR. The ROC curve is read as the polyline through its
// points, and the EER is where that polyline crosses the line
// TAR = 1 − FAR, found by linear interpolation between the two points
// that straddle it. Because FAR + TAR − 1 never decreases along a curve
// from [ROC], the crossing is unique. It returns NaN for a curve with
// fewer than two points or one that never reaches the line.
func EER(points []ROCPoint) float64 {
	if len(points) < 2 {
		return math.NaN()
	}
	g := func(p ROCPoint) float64 { return p.FAR + p.TAR - 1 }
	for k, q := range points {
		gq := g(q)
		if gq < 0 {
			continue
		}
		if gq == 0 || k == 0 {
			return q.FAR
		}
		p := points[k-1]
		gp := g(p)
		t := -gp / (gq - gp)
		return p.FAR + t*(q.FAR-p.FAR)
	}
	return math.NaN()
}

// TARAtFAR returns the highest TAR among the curve's points whose FAR is at
// most far. It does not interpolate between points: the answer is an
// operating point that a real threshold achieves, which is the
// conservative reading used by most face verification benchmarks. It
// returns 0 when no point qualifies.
func TARAtFAR(points []ROCPoint, far float64) float64 {
	best := 0.0
	for _, p := range points {
		if p.FAR <= far && p.TAR > best {
			best = p.TAR
		}
	}
	return best
}

// Accuracy returns the fraction of pairs classified correctly by the rule
// "same if d < tau" (strictly less). A no-face pair (NaN distance) is
// counted as wrong whatever its label.
func Accuracy(distances []float64, same []bool, tau float64) (float64, error) {
	if err := checkLengths(distances, same); err != nil {
		return 0, fmt.Errorf("accuracy: %w", err)
	}
	if math.IsNaN(tau) {
		return 0, errors.New("accuracy: threshold is NaN")
	}
	correct := 0
	for i, d := range distances {
		if !math.IsNaN(d) && (d < tau) == same[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(distances)), nil
}
