package face

import (
	"embed"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Rule is the decision at a door: whether the nearest enrolled person of a
// search is the person in the photo. It is the one place of that decision
// for identification and verification (a claim is a search of one).
//
// With a Calibration and FAR > 0 the threshold in force is the one that
// lets in strangers at the rate FAR per attempt for the gallery's size
// (Calibration.Threshold): it tightens as the gallery grows, where a fixed
// threshold lets in more strangers with every person enrolled. Otherwise
// it is Threshold.Max whatever the size.
type Rule struct {
	Threshold
	Calibration *Calibration
	// FAR is the target share of strangers' attempts let in.
	FAR float64
	// Margin, when positive, refuses a nearest person whose runner-up is
	// less than Margin further away: two people that close are a coin
	// toss, and a wrong person let in is the worst outcome of all.
	Margin float64
}

// Presets name target false-accept rates (FAR) per attempt.
var Presets = map[string]float64{
	"strict":   0.001,
	"balanced": 0.01,
	"lenient":  0.05,
}

// DefaultPreset is the decision a door ships with: about one stranger's
// attempt in a hundred let in, whatever the gallery's size. On LFW's
// open set (496 people enrolled) the dlib descriptor lets in 55% of the
// genuine attempts there and 32% at strict; MobileFaceNet 93% and 86%
// (docs/door.md).
const DefaultPreset = "balanced"

// ParseFAR reads a target false-accept rate: a preset's name or a number
// in (0, 1), "1%" style accepted.
func ParseFAR(s string) (float64, error) {
	if v, ok := Presets[s]; ok {
		return v, nil
	}
	t, pct := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(t, 64)
	if pct {
		v /= 100
	}
	if err != nil || !(v > 0 && v < 1) {
		names := make([]string, 0, len(Presets))
		for n := range Presets {
			names = append(names, n)
		}
		sort.Strings(names)
		return 0, fmt.Errorf("false-accept rate %q: want a number between 0 and 1 (0.001, 0.1%%) or one of %s", s, strings.Join(names, ", "))
	}
	return v, nil
}

// RuleOf is a descriptor model's default rule: its calibration, when
// facerec ships one for it, at DefaultPreset's rate with the margin chosen
// on the same data; else its fixed threshold.
func RuleOf(m DescriptorModel) Rule {
	r := Rule{Threshold: ThresholdOf(m)}
	if c := CalibrationOf(m.ID()); c != nil {
		r.Calibration, r.FAR, r.Margin = c, Presets[DefaultPreset], c.Margin
	}
	return r
}

// ThresholdFor is the threshold in force for a gallery of n people.
func (r Rule) ThresholdFor(n int) float64 {
	if r.Calibration == nil || r.FAR <= 0 {
		return r.Threshold.Max
	}
	t, err := r.Calibration.Threshold(r.FAR, n)
	if err != nil {
		return r.Threshold.Max
	}
	return t
}

// Verdict is a Rule's answer for the nearest person of a search.
type Verdict struct {
	Accepted bool `json:"accepted"`
	// Threshold is the distance in force for this gallery's size.
	Threshold float64 `json:"threshold"`
	// Confidence is 1 − the calibrated chance that a stranger would come
	// this close to somebody in a gallery of this size; absent without a
	// calibration.
	Confidence *float64 `json:"confidence,omitempty"`
	// Margin is how much further the runner-up is; absent with one person.
	Margin *float64 `json:"margin,omitempty"`
	// Refused says why a nearest person within the threshold was refused.
	Refused string `json:"refused,omitempty"`
}

// RefusedRunnerUp is Verdict.Refused when the runner-up was too close.
const RefusedRunnerUp = "runner_up_too_close"

// Identify judges the nearest person at distance best, with the runner-up
// at second (NaN or +Inf when there is none), in a gallery of n people.
func (r Rule) Identify(best, second float64, n int) Verdict {
	v := Verdict{Threshold: r.ThresholdFor(n)}
	if r.Calibration != nil {
		c := 1 - r.Calibration.FalseAccept(best, n)
		v.Confidence = &c
	}
	if !math.IsNaN(second) && !math.IsInf(second, 1) {
		m := second - best
		v.Margin = &m
	}
	v.Accepted = best < v.Threshold
	if v.Accepted && r.Margin > 0 && v.Margin != nil && *v.Margin < r.Margin {
		v.Accepted, v.Refused = false, RefusedRunnerUp
	}
	return v
}

// Apply decides a one-to-one claim (a search of one person) at distance.
func (r Rule) Apply(distance float64) Decision {
	v := r.Identify(distance, math.NaN(), 1)
	return Decision{Distance: distance, Threshold: v.Threshold, Confidence: v.Confidence, Same: v.Accepted}
}

// Decide decides whether two descriptors of the rule's model show the
// same person, as a one-to-one claim.
func (r Rule) Decide(a, b Descriptor) (Decision, error) {
	if err := r.check(a, b); err != nil {
		return Decision{}, err
	}
	return r.Apply(r.Metric.Distance(a.Vector, b.Vector)), nil
}

//go:embed calibration/*.json
var calibrations embed.FS

// CalibrationOf is the calibration facerec ships for a descriptor model,
// or nil (made by facerec eval door on LFW's development identities; see
// docs/door.md).
func CalibrationOf(modelID string) *Calibration { return shipped()[modelID] }

// shipped parses the embedded calibrations once, by the score they
// calibrate.
var shipped = sync.OnceValue(func() map[string]*Calibration {
	out := map[string]*Calibration{}
	entries, _ := calibrations.ReadDir("calibration")
	for _, e := range entries {
		f, err := calibrations.Open("calibration/" + e.Name())
		if err != nil {
			continue
		}
		c, err := LoadCalibration(f)
		f.Close()
		if err == nil {
			out[c.Score] = c
		}
	}
	return out
})
