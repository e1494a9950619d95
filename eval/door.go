package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/facerec/facerec/face"
)

// DoorPhoto is one labelled photo of an open-set (door) protocol.
type DoorPhoto struct {
	Person string
	Path   string
}

// DoorSplit is an open-set protocol: one enrolment photo per enrolled
// person, their other photos as genuine attempts, and the photos of people
// who are never enrolled as strangers' attempts.
type DoorSplit struct {
	Enrol     []DoorPhoto
	Genuine   []DoorPhoto
	Strangers []DoorPhoto
}

// Probes is the genuine attempts followed by the strangers'.
func (s DoorSplit) Probes() []DoorPhoto {
	return append(slices.Clip(s.Genuine), s.Strangers...)
}

// LFWDoorSplit is LFW's open-set protocol over a people list (people.txt,
// or one of View 1's files to keep development and report identities
// apart): every person with two or more photos is enrolled from the first
// and probes with the others; every person with one photo is a stranger.
func LFWDoorSplit(root string, people []Person) DoorSplit {
	var s DoorSplit
	for _, p := range people {
		paths := p.Paths()
		for i, rel := range paths {
			ph := DoorPhoto{Person: p.Name, Path: filepath.Join(root, rel)}
			switch {
			case len(paths) == 1:
				s.Strangers = append(s.Strangers, ph)
			case i == 0:
				s.Enrol = append(s.Enrol, ph)
			default:
				s.Genuine = append(s.Genuine, ph)
			}
		}
	}
	return s
}

// FolderDoorSplit is the open-set protocol on a folder of
// <person>/<photos> (AT&T): a share of the people, picked with seed, are
// strangers; the others are enrolled from their first photo by name and
// probe with the rest.
func FolderDoorSplit(root string, strangers float64, seed uint64) (DoorSplit, error) {
	people, err := listPeople(root)
	if err != nil {
		return DoorSplit{}, err
	}
	if len(people) < 2 {
		return DoorSplit{}, fmt.Errorf("eval: %s holds %d people folders; need at least 2", root, len(people))
	}
	r := rand.New(rand.NewPCG(seed, 0xd00e))
	n := int(float64(len(people))*strangers + 0.5)
	stranger := map[int]bool{}
	for _, i := range r.Perm(len(people))[:n] {
		stranger[i] = true
	}
	var s DoorSplit
	for i, p := range people {
		for j, f := range p.files {
			ph := DoorPhoto{Person: p.name, Path: f}
			switch {
			case stranger[i]:
				s.Strangers = append(s.Strangers, ph)
			case j == 0:
				s.Enrol = append(s.Enrol, ph)
			default:
				s.Genuine = append(s.Genuine, ph)
			}
		}
	}
	if len(s.Enrol) == 0 {
		return DoorSplit{}, errors.New("eval: nobody left to enrol")
	}
	return s, nil
}

// DoorScores holds the score (smaller is more alike) of every probe
// against every enrolled person: the whole of an open-set evaluation, from
// which any decision rule is evaluated without describing a photo again.
type DoorScores struct {
	Enrolled []string // the enrolled people, one column each
	Probes   []DoorProbe
	// S is row-major: S[i*len(Enrolled)+j] is probe i against person j;
	// a row of a probe without a face is NaN.
	S []float32
}

// DoorProbe is one attempt at the door.
type DoorProbe struct {
	Photo DoorPhoto
	Known bool // the person is enrolled
	Found bool // a face was found to describe
}

// NewDoorScores scores probes against the enrolment descriptors with
// metric. enrol[j] and probes[i] are the descriptors of split.Enrol[j] and
// split.Probes()[i], nil where no face was found; a person whose
// enrolment photo has no face is not enrolled (their photos probe as a
// stranger's).
func NewDoorScores(split DoorSplit, enrol, probes [][]float32, metric face.Metric) (*DoorScores, error) {
	ps := split.Probes()
	if len(enrol) != len(split.Enrol) || len(probes) != len(ps) {
		return nil, fmt.Errorf("door scores: %d enrolment and %d probe descriptors for %d and %d photos", len(enrol), len(probes), len(split.Enrol), len(ps))
	}
	s := &DoorScores{}
	var gallery [][]float32
	known := map[string]bool{}
	for j, e := range enrol {
		if e == nil {
			continue
		}
		s.Enrolled = append(s.Enrolled, split.Enrol[j].Person)
		gallery = append(gallery, e)
		known[split.Enrol[j].Person] = true
	}
	if len(gallery) == 0 {
		return nil, errors.New("door scores: no enrolment photo has a face")
	}
	m := len(gallery)
	s.S = make([]float32, len(ps)*m)
	s.Probes = make([]DoorProbe, len(ps))
	for i, p := range ps {
		s.Probes[i] = DoorProbe{Photo: p, Known: known[p.Person], Found: probes[i] != nil}
		row := s.S[i*m : (i+1)*m]
		for j, g := range gallery {
			if probes[i] == nil {
				row[j] = float32(math.NaN())
				continue
			}
			if len(g) != len(probes[i]) {
				return nil, fmt.Errorf("door scores: %s has %d values, %s %d", p.Path, len(probes[i]), split.Enrol[j].Path, len(g))
			}
			row[j] = float32(metric.Distance(probes[i], g))
		}
	}
	return s, nil
}

// row is probe i's scores.
func (s *DoorScores) row(i int) []float32 {
	m := len(s.Enrolled)
	return s.S[i*m : (i+1)*m]
}

// Impostor returns every score of a probe against a person it is not:
// the impostor distribution a Calibration is fitted on.
func (s *DoorScores) Impostor() []float32 {
	var out []float32
	for i, p := range s.Probes {
		if !p.Found {
			continue
		}
		for j, v := range s.row(i) {
			if s.Enrolled[j] != p.Photo.Person {
				out = append(out, v)
			}
		}
	}
	return out
}

// Genuine returns every score of a probe against its own enrolled person.
func (s *DoorScores) Genuine() []float32 {
	var out []float32
	for i, p := range s.Probes {
		if !p.Found || !p.Known {
			continue
		}
		for j, v := range s.row(i) {
			if s.Enrolled[j] == p.Photo.Person {
				out = append(out, v)
			}
		}
	}
	return out
}

// Subset keeps the enrolled people at the given columns: the same
// evaluation with a smaller gallery, in which the dropped people's photos
// probe as strangers.
func (s *DoorScores) Subset(cols []int) *DoorScores {
	out := &DoorScores{Probes: slices.Clone(s.Probes), S: make([]float32, len(s.Probes)*len(cols))}
	known := map[string]bool{}
	for _, c := range cols {
		out.Enrolled = append(out.Enrolled, s.Enrolled[c])
		known[s.Enrolled[c]] = true
	}
	for i := range s.Probes {
		out.Probes[i].Known = known[s.Probes[i].Photo.Person]
		row := s.row(i)
		for k, c := range cols {
			out.S[i*len(cols)+k] = row[c]
		}
	}
	return out
}

// ZStats are the mean and standard deviation of a model's impostor
// scores, for putting the scores of several models on one scale.
func ZStats(impostor []float32) (mean, std float64) {
	var sum, sq float64
	for _, v := range impostor {
		sum += float64(v)
	}
	mean = sum / float64(len(impostor))
	for _, v := range impostor {
		d := float64(v) - mean
		sq += d * d
	}
	return mean, math.Sqrt(sq / float64(len(impostor)))
}

// FuseDoorScores combines the scores of several models of one protocol
// (same photos, same order) with a face.Fusion. A probe without a face
// in any model has no fused score.
func FuseDoorScores(f face.Fusion, parts ...*DoorScores) (*DoorScores, error) {
	if len(parts) != len(f.Weights) || len(parts) == 0 {
		return nil, fmt.Errorf("fuse: %d score sets for %d weights", len(parts), len(f.Weights))
	}
	first := parts[0]
	for _, p := range parts[1:] {
		if !slices.Equal(p.Enrolled, first.Enrolled) || len(p.Probes) != len(first.Probes) {
			return nil, errors.New("fuse: score sets of different protocols")
		}
	}
	out := &DoorScores{Enrolled: first.Enrolled, Probes: slices.Clone(first.Probes), S: make([]float32, len(first.S))}
	ds := make([]float64, len(parts))
	for i := range out.Probes {
		for _, p := range parts {
			out.Probes[i].Found = out.Probes[i].Found && p.Probes[i].Found
		}
		for k := range out.S[i*len(out.Enrolled) : (i+1)*len(out.Enrolled)] {
			at := i*len(out.Enrolled) + k
			for m, p := range parts {
				ds[m] = float64(p.S[at])
			}
			out.S[at] = float32(f.Score(ds))
		}
	}
	return out, nil
}

// DoorRule is an open-set decision: the nearest person is accepted when
// the score is below Threshold and, with Margin > 0, the runner-up scores
// at least Margin more (so that two close candidates are refused rather
// than a coin tossed between them).
type DoorRule struct {
	Threshold float64 `json:"threshold"`
	Margin    float64 `json:"margin,omitempty"`
}

// DoorOutcome is what a rule does to one probe.
type DoorOutcome struct {
	Best, Second float64 // scores of the nearest and runner-up people (NaN without a face)
	BestPerson   string
	Accepted     bool
	Correct      bool // accepted as the right person
}

// outcome applies r to probe i.
func (s *DoorScores) outcome(i int, r DoorRule) DoorOutcome {
	o := DoorOutcome{Best: math.NaN(), Second: math.NaN()}
	if !s.Probes[i].Found {
		return o
	}
	b, b2 := s.top2(i)
	o.Best, o.BestPerson = float64(s.row(i)[b]), s.Enrolled[b]
	if b2 >= 0 {
		o.Second = float64(s.row(i)[b2])
	}
	o.Accepted = o.Best < r.Threshold && (r.Margin <= 0 || b2 < 0 || o.Second-o.Best >= r.Margin)
	o.Correct = o.Accepted && o.BestPerson == s.Probes[i].Photo.Person
	return o
}

// top2 is the nearest and runner-up columns of probe i (-1 when absent;
// the earlier column wins ties).
func (s *DoorScores) top2(i int) (int, int) {
	b, b2 := -1, -1
	for j, v := range s.row(i) {
		switch {
		case b < 0 || v < s.row(i)[b]:
			b, b2 = j, b
		case b2 < 0 || v < s.row(i)[b2]:
			b2 = j
		}
	}
	return b, b2
}

// DoorRates are the rates of one rule.
type DoorRates struct {
	DoorRule
	// Right is the share of genuine attempts let in as the right person
	// (the detection and identification rate, DIR).
	Right float64 `json:"right_person"`
	// Wrong is the share of genuine attempts let in as somebody else.
	Wrong float64 `json:"wrong_person"`
	// FAR is the share of strangers' attempts let in.
	FAR float64 `json:"stranger_accepted"`
}

// Rates applies r to every probe. A probe without a face is refused: the
// door stays shut, a miss for a genuine attempt and no false accept for a
// stranger's (DoorResult counts them).
func (s *DoorScores) Rates(r DoorRule) DoorRates {
	out := DoorRates{DoorRule: r}
	var known, strangers int
	for i, p := range s.Probes {
		o := s.outcome(i, r)
		if p.Known {
			known++
			switch {
			case o.Correct:
				out.Right++
			case o.Accepted:
				out.Wrong++
			}
		} else {
			strangers++
			if o.Accepted {
				out.FAR++
			}
		}
	}
	out.Right, out.Wrong = ratio(out.Right, known), ratio(out.Wrong, known)
	out.FAR = ratio(out.FAR, strangers)
	return out
}

func ratio(k float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return k / float64(n)
}

// AtFAR is the rule with the largest threshold (and the given margin)
// whose stranger accept rate is at most far, with its rates.
func (s *DoorScores) AtFAR(far, margin float64) DoorRates {
	// A stranger is let in when its best score is below the threshold and
	// its margin is large enough; those with too small a margin never are.
	var best []float64
	strangers := 0
	for i, p := range s.Probes {
		if p.Known {
			continue
		}
		strangers++
		if o := s.outcome(i, DoorRule{Threshold: math.Inf(1), Margin: margin}); o.Accepted {
			best = append(best, o.Best)
		}
	}
	slices.Sort(best)
	allowed := int(math.Floor(far * float64(strangers)))
	tau := math.Inf(1)
	if allowed < len(best) {
		// Scores equal to best[allowed] are kept out with it (the rule
		// is strict), so at most allowed strangers are let in.
		tau = best[allowed]
	}
	return s.Rates(DoorRule{Threshold: tau, Margin: margin})
}

// DoorResult summarises one configuration on one protocol.
type DoorResult struct {
	Config    string  `json:"config"`
	Enrolled  int     `json:"enrolled"`
	Genuine   int     `json:"genuine_attempts"`
	Strangers int     `json:"stranger_attempts"`
	NoFace    int     `json:"no_face"`
	Rank1     float64 `json:"rank1"`
	// AtFAR1 and AtFAR01 are the rates at the thresholds that let in 1%
	// and 0.1% of the strangers' attempts of this very set (an oracle
	// choice, for comparing configurations); Default is the rule a
	// product would ship, chosen without this set.
	AtFAR1  DoorRates  `json:"at_far_1pct"`
	AtFAR01 DoorRates  `json:"at_far_0.1pct"`
	Default *DoorRates `json:"default,omitempty"`
}

// Summarise measures a configuration: rank-1, the rates at 1% and 0.1%
// strangers let in (with the margin), and at the default rule when given.
func (s *DoorScores) Summarise(config string, margin float64, def *DoorRule) DoorResult {
	r := DoorResult{Config: config, Enrolled: len(s.Enrolled)}
	rank1 := 0
	for i, p := range s.Probes {
		if !p.Found {
			r.NoFace++
		}
		if p.Known {
			r.Genuine++
			if o := s.outcome(i, DoorRule{Threshold: math.Inf(1)}); o.Correct {
				rank1++
			}
		} else {
			r.Strangers++
		}
	}
	r.Rank1 = ratio(float64(rank1), r.Genuine)
	r.AtFAR1 = s.AtFAR(0.01, margin)
	r.AtFAR01 = s.AtFAR(0.001, margin)
	if def != nil {
		d := s.Rates(*def)
		r.Default = &d
	}
	return r
}

// Curve is the rule's rates as the threshold sweeps (margin fixed): one
// point per distinct best score, for DET plots.
func (s *DoorScores) Curve(margin float64) []DoorRates {
	type probe struct {
		best           float64
		known, correct bool
	}
	var ps []probe
	known, strangers := 0, 0
	for i, p := range s.Probes {
		if p.Known {
			known++
		} else {
			strangers++
		}
		o := s.outcome(i, DoorRule{Threshold: math.Inf(1), Margin: margin})
		if o.Accepted {
			ps = append(ps, probe{o.Best, p.Known, o.Correct})
		}
	}
	slices.SortFunc(ps, func(a, b probe) int { return cmp.Compare(a.best, b.best) })
	var out []DoorRates
	var right, wrong, far float64
	for i := 0; i < len(ps); {
		v := ps[i].best
		for ; i < len(ps) && ps[i].best == v; i++ {
			switch {
			case ps[i].correct:
				right++
			case ps[i].known:
				wrong++
			default:
				far++
			}
		}
		out = append(out, DoorRates{DoorRule: DoorRule{Threshold: math.Nextafter(v, math.Inf(1)), Margin: margin},
			Right: ratio(right, known), Wrong: ratio(wrong, known), FAR: ratio(far, strangers)})
	}
	return out
}

// Outcomes is every probe's outcome under r, in probe order (for a
// per-probe CSV).
func (s *DoorScores) Outcomes(r DoorRule) []DoorOutcome {
	out := make([]DoorOutcome, len(s.Probes))
	for i := range s.Probes {
		out[i] = s.outcome(i, r)
	}
	return out
}
