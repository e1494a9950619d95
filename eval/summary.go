package eval

import (
	"fmt"
	"math"
)

// Summary is the JSON-friendly outcome of a verification run under the
// k-fold protocol. Its numbers are finite whenever the distances are
// below about 1e308 in magnitude, so it marshals to JSON.
type Summary struct {
	// Pairs, Matched and NoFace count all pairs, the matched ones, and
	// those without a distance (NaN), which are included and scored as
	// errors.
	Pairs   int `json:"pairs"`
	Matched int `json:"matched"`
	NoFace  int `json:"no_face"`
	// MeanAccuracy and StdAccuracy are the k-fold accuracy mean and
	// population standard deviation (see [FoldResult]).
	MeanAccuracy float64 `json:"mean_accuracy"`
	StdAccuracy  float64 `json:"std_accuracy"`
	// FoldAccuracies and Thresholds are the per-fold accuracies and the
	// thresholds chosen on the other folds, in fold order.
	FoldAccuracies []float64 `json:"fold_accuracies"`
	Thresholds     []float64 `json:"thresholds"`
	// MeanThreshold is the mean of Thresholds.
	MeanThreshold float64 `json:"mean_threshold"`
	// BestThreshold and BestAccuracy are the threshold chosen on all pairs
	// together and its (optimistic, in-sample) accuracy.
	BestThreshold float64 `json:"best_threshold"`
	BestAccuracy  float64 `json:"best_accuracy"`
	// AUC, EER, TARAtFAR1e3 and TARAtFAR1e2 describe the ROC curve of all
	// pairs together (see [AUC], [EER] and [TARAtFAR]).
	AUC         float64 `json:"auc"`
	EER         float64 `json:"eer"`
	TARAtFAR1e3 float64 `json:"tar_at_far_1e-3"`
	TARAtFAR1e2 float64 `json:"tar_at_far_1e-2"`
}

// Summarize evaluates verification distances (smaller means "same") with
// the k-fold protocol of [KFold] and the ROC metrics over all pairs.
// Both classes and at least two folds must be present.
func Summarize(distances []float64, same []bool, fold []int) (Summary, error) {
	points, err := ROC(distances, same)
	if err != nil {
		return Summary{}, fmt.Errorf("summarize: %w", err)
	}
	kf, err := KFold(distances, same, fold)
	if err != nil {
		return Summary{}, fmt.Errorf("summarize: %w", err)
	}
	tau, acc, err := BestThreshold(distances, same)
	if err != nil {
		return Summary{}, fmt.Errorf("summarize: %w", err)
	}
	s := Summary{
		Pairs:         len(distances),
		MeanAccuracy:  kf.MeanAccuracy,
		StdAccuracy:   kf.StdAccuracy,
		MeanThreshold: kf.MeanThreshold,
		BestThreshold: tau,
		BestAccuracy:  acc,
		AUC:           AUC(points),
		EER:           EER(points),
		TARAtFAR1e3:   TARAtFAR(points, 1e-3),
		TARAtFAR1e2:   TARAtFAR(points, 1e-2),
	}
	for i, d := range distances {
		if same[i] {
			s.Matched++
		}
		if math.IsNaN(d) {
			s.NoFace++
		}
	}
	for _, f := range kf.Folds {
		s.FoldAccuracies = append(s.FoldAccuracies, f.Accuracy)
		s.Thresholds = append(s.Thresholds, f.Threshold)
	}
	return s, nil
}
