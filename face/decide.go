package face

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/facerec/facerec/nn"
)

// A Decider says whether two descriptors show the same person. It is the
// one place of the decision rule: the Go API, the server, the command line
// and the evaluation all decide through one.
type Decider interface {
	Decide(a, b Descriptor) (Decision, error)
}

// Decision is a Decider's answer for one pair.
type Decision struct {
	// Distance is the model's metric between the two descriptors.
	Distance float64 `json:"distance"`
	// Threshold is the distance in force: Same is Distance < Threshold,
	// unless a head decided (Probability set).
	Threshold float64 `json:"threshold"`
	// Probability is a head's P(same); absent when a threshold decided.
	Probability *float64 `json:"probability,omitempty"`
	// Confidence is a calibrated Rule's 1 − the chance that a stranger
	// comes this close (see Verdict); absent without a calibration.
	Confidence *float64 `json:"confidence,omitempty"`
	Same       bool     `json:"same"`
	// Refused says why a claim was refused whatever the distance (the
	// door's liveness check: "not_live").
	Refused string `json:"refused,omitempty"`
	// Liveness is the probe's liveness score when the door requires one.
	Liveness *float64 `json:"liveness,omitempty"`
	// QualityReasons are why the probe's photo is poor when the door
	// measures quality (empty: it is fine); with Refused "poor_quality"
	// the claim was refused for them: try again.
	QualityReasons []string `json:"quality_reasons,omitempty"`
}

// Threshold decides by the distance of one model's descriptors.
type Threshold struct {
	Model  string // the model's ID; descriptors of another are refused
	Metric Metric
	Max    float64 // same person when the distance is below Max
}

// ThresholdOf is the default decision of a descriptor model.
func ThresholdOf(m DescriptorModel) Threshold {
	return Threshold{Model: m.ID(), Metric: m.Metric(), Max: m.Threshold()}
}

func (t Threshold) check(a, b Descriptor) error {
	if a.Model != t.Model || b.Model != t.Model {
		return fmt.Errorf("%w: %q and %q, the decision is for %q", ErrModelMismatch, a.Model, b.Model, t.Model)
	}
	if len(a.Vector) != len(b.Vector) || len(a.Vector) == 0 {
		return fmt.Errorf("%w: descriptors of %d and %d values", ErrModelMismatch, len(a.Vector), len(b.Vector))
	}
	return nil
}

// Decide compares the distance with the threshold; descriptors that do
// not both come from t's model give ErrModelMismatch.
func (t Threshold) Decide(a, b Descriptor) (Decision, error) {
	if err := t.check(a, b); err != nil {
		return Decision{}, err
	}
	return t.Apply(t.Metric.Distance(a.Vector, b.Vector)), nil
}

// Apply is the decision for a distance already measured with t's metric
// (a gallery search's): same person when it is below Max.
func (t Threshold) Apply(distance float64) Decision {
	return Decision{Distance: distance, Threshold: t.Max, Same: distance < t.Max}
}

// LogisticHead is a binary "same person" classifier on the element-wise
// absolute differences |a_k − b_k| of two descriptors (see AbsDiff):
// P(same) = σ(Σ_k W_k·x_k + B). Package eval fits one (TrainLogisticHead).
type LogisticHead struct {
	// W holds one weight per feature.
	W []float64 `json:"w"`
	// B is the bias.
	B float64 `json:"b"`
}

// AbsDiff returns the element-wise absolute difference |a_k − b_k| of two
// descriptors, the input features of a LogisticHead.
func AbsDiff(a, b []float32) ([]float32, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("abs diff: descriptor lengths %d and %d differ", len(a), len(b))
	}
	d := make([]float32, len(a))
	for k := range a {
		d[k] = float32(math.Abs(float64(a[k]) - float64(b[k])))
	}
	return d, nil
}

// Predict returns the probability that the pair with the given features
// shows the same person. The feature length must match the head.
func (h *LogisticHead) Predict(features []float32) (float64, error) {
	if len(features) != len(h.W) {
		return 0, fmt.Errorf("logistic head: %d features, want %d", len(features), len(h.W))
	}
	z := h.B
	for k, v := range features {
		z += h.W[k] * float64(v)
	}
	if math.IsNaN(z) {
		return 0, errors.New("logistic head: features are not finite")
	}
	return nn.Sigmoid(z), nil
}

// Save writes the head as a small JSON object {"w": [...], "b": ...}.
func (h *LogisticHead) Save(w io.Writer) error {
	if err := h.validate(); err != nil {
		return fmt.Errorf("save logistic head: %w", err)
	}
	if err := json.NewEncoder(w).Encode(h); err != nil {
		return fmt.Errorf("save logistic head: %w", err)
	}
	return nil
}

// LoadLogisticHead reads a head written by LogisticHead.Save.
func LoadLogisticHead(r io.Reader) (*LogisticHead, error) {
	var h LogisticHead
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("load logistic head: %w", err)
	}
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("load logistic head: %w", err)
	}
	return &h, nil
}

// validate rejects heads that could not have come from training.
func (h *LogisticHead) validate() error {
	if len(h.W) == 0 {
		return errors.New("no weights")
	}
	for k, w := range h.W {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("weight %d is not finite", k)
		}
	}
	if math.IsNaN(h.B) || math.IsInf(h.B, 0) {
		return errors.New("bias is not finite")
	}
	return nil
}

// Head decides with a LogisticHead on one model's descriptors, reporting
// the distance too.
type Head struct {
	Threshold // the model, its metric and the distance reported
	Head      *LogisticHead
}

// Decide is same person when P(same) ≥ 0.5.
func (h Head) Decide(a, b Descriptor) (Decision, error) {
	dec, err := h.Threshold.Decide(a, b)
	if err != nil {
		return dec, err
	}
	feat, err := AbsDiff(a.Vector, b.Vector)
	if err != nil {
		return dec, err
	}
	p, err := h.Head.Predict(feat)
	if err != nil {
		return dec, err
	}
	dec.Probability, dec.Same = &p, p >= 0.5
	return dec, nil
}
