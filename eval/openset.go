package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/facerec/facerec/face"
)

// Identity is an enrolled gallery entry: one embedding per person.
type Identity struct {
	// Name identifies the person; it must be unique in the gallery.
	Name string
	// Embedding is the enrolment image's face embedding.
	Embedding []float32
}

// Probe is a query image's embedding and its true identity, which may or
// may not be enrolled. An empty Embedding marks a probe in which no face
// was found.
type Probe struct {
	// Name is the probe's true identity, compared with gallery names.
	Name string
	// Embedding is the probe's face embedding, empty when no face was found.
	Embedding []float32
}

// OpenSetPoint is one operating point of the open-set identification
// curve.
type OpenSetPoint struct {
	// Threshold is the distance cut: a probe is accepted when its nearest
	// gallery distance is ≤ Threshold, as for [ROCPoint].
	Threshold float64
	// DIR is the detection and identification rate: the fraction of known
	// probes accepted whose nearest gallery identity is the right one.
	DIR float64
	// FAR is the fraction of stranger probes accepted.
	FAR float64
}

// OpenSetResult summarises one-shot open-set identification.
type OpenSetResult struct {
	// Known and Strangers count the probes whose identity is and is not
	// enrolled.
	Known     int `json:"known"`
	Strangers int `json:"strangers"`
	// NoFace counts probes without an embedding; they are included in
	// Known or Strangers.
	NoFace int `json:"no_face"`
	// Rank1 is the fraction of known probes whose nearest gallery identity
	// is the right one, with no threshold.
	Rank1 float64 `json:"rank1"`
	// DIRAtFAR1 and DIRAtFAR10 are the highest DIR over points with FAR at
	// most 1% and 10%, without interpolation (see [TARAtFAR]).
	DIRAtFAR1  float64 `json:"dir_at_far_1pct"`
	DIRAtFAR10 float64 `json:"dir_at_far_10pct"`
	// Points is the curve: the origin {−Inf, 0, 0}, then one point per
	// distinct nearest distance in increasing order. It is left out of
	// JSON because its thresholds include infinities, which JSON lacks.
	Points []OpenSetPoint `json:"-"`
}

// OpenSet evaluates one-shot identification of probes against a gallery
// holding one embedding per enrolled identity, using dist (nil selects
// face.Euclidean; smaller means more alike).
//
// Each probe is matched to its nearest gallery identity (the earliest
// gallery entry wins ties). A known probe counts towards DIR at threshold τ
// when that identity is right and the distance is within τ; a stranger
// counts towards FAR when its distance is within τ. No-face probes follow
// the package's worst-case rule: a known one is never identified and a
// stranger is falsely accepted at every threshold. With no strangers every
// FAR is 0, and with no known probes every DIR and Rank1 are 0.
func OpenSet(gallery []Identity, probes []Probe, dist func(a, b []float32) float64) (*OpenSetResult, error) {
	if len(gallery) == 0 {
		return nil, errors.New("open set: empty gallery")
	}
	if len(probes) == 0 {
		return nil, errors.New("open set: no probes")
	}
	if dist == nil {
		dist = face.Euclidean.Distance
	}
	dim := len(gallery[0].Embedding)
	enrolled := make(map[string]bool, len(gallery))
	for i, g := range gallery {
		if dim == 0 || len(g.Embedding) != dim {
			return nil, fmt.Errorf("open set: gallery entry %d (%q) has embedding length %d, want %d > 0", i, g.Name, len(g.Embedding), dim)
		}
		if enrolled[g.Name] {
			return nil, fmt.Errorf("open set: identity %q enrolled twice", g.Name)
		}
		enrolled[g.Name] = true
	}

	type outcome struct {
		d       float64 // effective nearest distance
		known   bool
		correct bool
	}
	res := &OpenSetResult{}
	out := make([]outcome, len(probes))
	rank1 := 0
	for i, p := range probes {
		o := outcome{known: enrolled[p.Name]}
		if o.known {
			res.Known++
		} else {
			res.Strangers++
		}
		best, bestD := -1, math.Inf(1)
		switch {
		case len(p.Embedding) == 0:
			res.NoFace++
		case len(p.Embedding) != dim:
			return nil, fmt.Errorf("open set: probe %d (%q) has embedding length %d, want %d", i, p.Name, len(p.Embedding), dim)
		default:
			for j, g := range gallery {
				// NaN distances compare false and so are never nearest.
				if d := dist(p.Embedding, g.Embedding); d < bestD || best < 0 && d == bestD {
					best, bestD = j, d
				}
			}
		}
		if best < 0 {
			// No face, or no comparable gallery entry: worst case for the
			// probe's kind.
			o.d = effective(math.NaN(), o.known)
		} else {
			o.d = bestD
			o.correct = o.known && gallery[best].Name == p.Name
			if o.correct {
				rank1++
			}
		}
		out[i] = o
	}
	if res.Known > 0 {
		res.Rank1 = float64(rank1) / float64(res.Known)
	}

	slices.SortFunc(out, func(a, b outcome) int { return cmp.Compare(a.d, b.d) })
	res.Points = []OpenSetPoint{{Threshold: math.Inf(-1)}}
	hits, falseAcc := 0, 0
	rate := func(k, n int) float64 {
		if n == 0 {
			return 0
		}
		return float64(k) / float64(n)
	}
	for i := 0; i < len(out); {
		v := out[i].d
		for ; i < len(out) && out[i].d == v; i++ {
			switch {
			case out[i].correct:
				hits++
			case !out[i].known:
				falseAcc++
			}
		}
		res.Points = append(res.Points, OpenSetPoint{
			Threshold: v,
			DIR:       rate(hits, res.Known),
			FAR:       rate(falseAcc, res.Strangers),
		})
	}
	res.DIRAtFAR1 = dirAtFAR(res.Points, 0.01)
	res.DIRAtFAR10 = dirAtFAR(res.Points, 0.10)
	return res, nil
}

// dirAtFAR is TARAtFAR for an open-set curve.
func dirAtFAR(points []OpenSetPoint, far float64) float64 {
	best := 0.0
	for _, p := range points {
		if p.FAR <= far && p.DIR > best {
			best = p.DIR
		}
	}
	return best
}
