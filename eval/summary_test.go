package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSummarize(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	d, s := randomPairs(rng, 1200, 0.03)
	fold := make([]int, len(d))
	for i := range fold {
		fold[i] = i % 10
	}
	sum, err := Summarize(d, s, fold)
	if err != nil {
		t.Fatal(err)
	}
	kf, _ := KFold(d, s, fold)
	pts, _ := ROC(d, s)
	tau, acc, _ := BestThreshold(d, s)
	matched, noFace := 0, 0
	for i := range d {
		if s[i] {
			matched++
		}
		if math.IsNaN(d[i]) {
			noFace++
		}
	}
	if sum.Pairs != 1200 || sum.Matched != matched || sum.NoFace != noFace || noFace == 0 {
		t.Errorf("counts: %+v; want %d matched, %d no face", sum, matched, noFace)
	}
	if sum.MeanAccuracy != kf.MeanAccuracy || sum.StdAccuracy != kf.StdAccuracy || sum.MeanThreshold != kf.MeanThreshold {
		t.Errorf("k-fold fields differ from KFold: %+v vs %+v", sum, kf)
	}
	if len(sum.Thresholds) != 10 || len(sum.FoldAccuracies) != 10 || sum.Thresholds[3] != kf.Folds[3].Threshold {
		t.Errorf("per-fold fields: %v %v", sum.Thresholds, sum.FoldAccuracies)
	}
	if sum.AUC != AUC(pts) || sum.EER != EER(pts) || sum.TARAtFAR1e3 != TARAtFAR(pts, 1e-3) || sum.TARAtFAR1e2 != TARAtFAR(pts, 1e-2) {
		t.Errorf("ROC fields differ: %+v", sum)
	}
	if sum.BestThreshold != tau || sum.BestAccuracy != acc {
		t.Errorf("best threshold %v/%v, want %v/%v", sum.BestThreshold, sum.BestAccuracy, tau, acc)
	}
	b, err := json.Marshal(sum)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pairs", "mean_accuracy", "std_accuracy", "auc", "eer", "tar_at_far_1e-3", "thresholds", "no_face"} {
		if _, ok := back[key]; !ok {
			t.Errorf("JSON lacks %q: %s", key, b)
		}
	}

	if _, err := Summarize(d, s, fold[:3]); err == nil {
		t.Error("short fold slice: no error")
	}
	if _, err := Summarize([]float64{1, 2}, []bool{true, true}, []int{0, 1}); err == nil {
		t.Error("one class: no error")
	}
}
