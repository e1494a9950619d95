package face

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// Calibration is the distribution of a score between descriptors of two
// different people (impostor scores), measured on development data, near
// its low end: the end where a stranger can be mistaken for someone. It
// turns a score into the chance that a stranger would come as close, and a
// target false-accept rate into a threshold, for a search over a gallery
// of any size.
//
// A search of one photo against N enrolled people is N chances to be
// wrong. Treating them as independent, a stranger is accepted with
// probability 1 − (1 − F(τ))^N, where F is the impostor CDF, so the
// threshold for a target rate per attempt shrinks as the gallery grows.
// Impostor scores of one stranger against many people are not quite
// independent; `facerec eval door` measures how well the rule holds.
type Calibration struct {
	// Score names what is calibrated: a descriptor model's ID (its metric's
	// distance) or a Fusion's ID.
	Score string `json:"score"`
	// Source says which data the distribution was measured on.
	Source string `json:"source"`
	// Pairs is the number of impostor comparisons measured.
	Pairs int `json:"pairs"`
	// Margin is the runner-up margin chosen on the same data (see
	// Rule.Margin); 0 when none paid.
	Margin float64 `json:"margin,omitempty"`
	// Tail holds points of the impostor CDF, P(score ≤ Score) = P, with
	// both increasing; the first is the smallest score measured.
	Tail []CalibrationPoint `json:"tail"`
}

// CalibrationPoint is one point of an impostor CDF.
type CalibrationPoint struct {
	Score float64 `json:"score"`
	P     float64 `json:"p"`
}

// FitCalibration measures the low end of an impostor score distribution
// (smaller scores are more alike): the CDF at log-spaced probabilities
// from 1/len(impostor) up to 1/2. It sorts impostor in place.
func FitCalibration(score, source string, impostor []float32) (*Calibration, error) {
	n := len(impostor)
	if n < 100 {
		return nil, fmt.Errorf("calibration: %d impostor scores, need at least 100", n)
	}
	slices.Sort(impostor)
	if math.IsNaN(float64(impostor[n-1])) || math.IsInf(float64(impostor[0]), 0) || math.IsInf(float64(impostor[n-1]), 0) {
		return nil, errors.New("calibration: impostor scores are not finite")
	}
	c := &Calibration{Score: score, Source: source, Pairs: n}
	// F(s_(k)) = k/n for the k-th smallest: the empirical CDF.
	add := func(k int) {
		p := CalibrationPoint{Score: float64(impostor[k-1]), P: float64(k) / float64(n)}
		if m := len(c.Tail); m > 0 && c.Tail[m-1].Score >= p.Score {
			c.Tail[m-1].P = p.P // tied scores: the CDF jumps once
			return
		}
		c.Tail = append(c.Tail, p)
	}
	// Eight points a decade, from the smallest score up to the median.
	last := 0
	for e := math.Log10(float64(n)); e >= math.Log10(2); e -= 0.125 {
		k := int(math.Round(float64(n) / math.Pow(10, e)))
		if k > last {
			add(k)
			last = k
		}
	}
	return c, c.validate()
}

func (c *Calibration) validate() error {
	if len(c.Tail) < 2 {
		return errors.New("calibration: fewer than two points")
	}
	for i, p := range c.Tail {
		if math.IsNaN(p.Score) || math.IsInf(p.Score, 0) || !(p.P > 0 && p.P <= 1) {
			return fmt.Errorf("calibration: point %d is not a finite score with 0 < p ≤ 1", i)
		}
		if i > 0 && (p.Score <= c.Tail[i-1].Score || p.P <= c.Tail[i-1].P) {
			return fmt.Errorf("calibration: point %d does not increase", i)
		}
	}
	return nil
}

// ImpostorCDF is the share of impostor comparisons scoring at most s:
// interpolated between the measured points linearly in s and in log P;
// below the smallest measured score the first decade's slope is carried on
// (fewer than one in Pairs comparisons are measured there, so it is an
// extrapolation); above the last point it is the last point's P, at least.
func (c *Calibration) ImpostorCDF(s float64) float64 {
	t := c.Tail
	i := sort.Search(len(t), func(i int) bool { return t[i].Score >= s })
	switch {
	case i == len(t):
		return t[len(t)-1].P
	case i == 0:
		// Extrapolate with the slope from the first point to one a decade up.
		j := c.decadeUp()
		slope := (math.Log(t[j].P) - math.Log(t[0].P)) / (t[j].Score - t[0].Score)
		return math.Exp(math.Log(t[0].P) - slope*(t[0].Score-s))
	}
	a, b := t[i-1], t[i]
	f := (s - a.Score) / (b.Score - a.Score)
	return math.Exp(math.Log(a.P) + f*(math.Log(b.P)-math.Log(a.P)))
}

// decadeUp is the index of the first point at least ten times the first's P.
func (c *Calibration) decadeUp() int {
	for j := 1; j < len(c.Tail); j++ {
		if c.Tail[j].P >= 10*c.Tail[0].P {
			return j
		}
	}
	return len(c.Tail) - 1
}

// FalseAccept is the chance that a stranger's best score against a
// gallery of n people is at most s: 1 − (1 − F(s))^n.
func (c *Calibration) FalseAccept(s float64, n int) float64 {
	if n < 1 {
		n = 1
	}
	return -math.Expm1(float64(n) * math.Log1p(-c.ImpostorCDF(s)))
}

// Threshold is the score below which a gallery of n people accepts
// strangers at the rate far per attempt: the inverse of FalseAccept in s.
func (c *Calibration) Threshold(far float64, n int) (float64, error) {
	if !(far > 0 && far < 1) {
		return 0, fmt.Errorf("calibration: false-accept rate %v is not in (0, 1)", far)
	}
	if n < 1 {
		n = 1
	}
	// Per comparison: 1 − (1 − far)^(1/n).
	p := -math.Expm1(math.Log1p(-far) / float64(n))
	t := c.Tail
	if p >= t[len(t)-1].P {
		return t[len(t)-1].Score, nil
	}
	i := sort.Search(len(t), func(i int) bool { return t[i].P >= p })
	if i == 0 {
		j := c.decadeUp()
		slope := (math.Log(t[j].P) - math.Log(t[0].P)) / (t[j].Score - t[0].Score)
		return t[0].Score - (math.Log(t[0].P)-math.Log(p))/slope, nil
	}
	a, b := t[i-1], t[i]
	f := (math.Log(p) - math.Log(a.P)) / (math.Log(b.P) - math.Log(a.P))
	return a.Score + f*(b.Score-a.Score), nil
}

// Save writes the calibration as JSON.
func (c *Calibration) Save(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(c)
}

// LoadCalibration reads a calibration written by Save.
func LoadCalibration(r io.Reader) (*Calibration, error) {
	var c Calibration
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("load calibration: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("load calibration: %w", err)
	}
	return &c, nil
}

// Fusion combines the distances of several descriptor models into one
// score: Σ_m w_m·(d_m − μ_m)/σ_m, each distance put on the scale of its
// model's impostor distances (smaller is more alike, like a distance). Its
// weights and scales are fitted on development data (facerec eval door).
type Fusion struct {
	Models  []string  `json:"models"` // descriptor model IDs, in the order of the distances
	Mean    []float64 `json:"mean"`   // impostor distance mean per model
	Std     []float64 `json:"std"`    // impostor distance standard deviation per model
	Weights []float64 `json:"weights"`
}

// ID names the fusion and its parts, for its Calibration.
func (f Fusion) ID() string {
	id := "fusion"
	for i, m := range f.Models {
		id += fmt.Sprintf("|%s*%.3g", m, f.Weights[i])
	}
	return id
}

// Score fuses one distance per model.
func (f Fusion) Score(d []float64) float64 {
	s := 0.0
	for i, v := range d {
		s += f.Weights[i] * (v - f.Mean[i]) / f.Std[i]
	}
	return s
}
