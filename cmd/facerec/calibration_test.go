package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/tensor"
)

// siteModel is a descriptor model without a shipped calibration.
type siteModel struct{}

func (siteModel) ID() string          { return "site-test/1" }
func (siteModel) Dim() int            { return 4 }
func (siteModel) Metric() face.Metric { return face.Euclidean }
func (siteModel) Threshold() float64  { return 0.6 }
func (siteModel) Describe(context.Context, []*tensor.Tensor) ([]face.Descriptor, error) {
	return nil, nil
}

// TestCalibrationFlag: --calibration puts a site's own impostor
// distribution under --far (the threshold is its quantile, scaled by the
// gallery's size), refuses a file made for another model, and does not
// mix with --threshold.
func TestCalibrationFlag(t *testing.T) {
	// Impostor distances 0.50, 0.51, ..., 1.49: 1% of them lie below 0.51.
	imp := make([]float32, 100)
	for i := range imp {
		imp[i] = 0.5 + float32(i)/100
	}
	c, err := face.FitCalibration(siteModel{}.ID(), "test", imp)
	if err != nil {
		t.Fatal(err)
	}
	c.Margin = 0.02
	path := filepath.Join(t.TempDir(), "site.json")
	if err := writeJSONFile(path, c); err != nil {
		t.Fatal(err)
	}
	var pf pipelineFlags
	pf.decision = decisionFlags{far: "balanced", calibration: path}
	r, err := pf.rule(siteModel{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Calibration == nil || r.FAR != 0.01 || r.Margin != 0.02 {
		t.Fatalf("rule %+v: want the file's calibration at 1%% with its margin", r)
	}
	one, many := r.ThresholdFor(1), r.ThresholdFor(10)
	if one < 0.5 || one > 0.52 || many >= one {
		t.Errorf("thresholds %.4f (1 person), %.4f (10): want about 0.51 for one, lower for ten", one, many)
	}
	if without, _ := (&pipelineFlags{decision: decisionFlags{far: "balanced"}}).rule(siteModel{}); without.Calibration != nil || without.ThresholdFor(1) != 0.6 {
		t.Errorf("without --calibration: %+v, want the model's fixed 0.6", without)
	}

	pf.decision.threshold = 0.4
	if _, err := pf.rule(siteModel{}); err == nil {
		t.Error("--threshold with --calibration accepted")
	}
	pf.decision.threshold = 0
	c.Score = "another/2"
	if err := writeJSONFile(path, c); err != nil {
		t.Fatal(err)
	}
	if _, err := pf.rule(siteModel{}); err == nil || !strings.Contains(err.Error(), "another/2") {
		t.Errorf("a calibration of another model: %v", err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pf.rule(siteModel{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken file: %v", err)
	}
}
