package eval

import (
	"math"
	"slices"
)

// EnrolGate is a door protocol whose enrolment went through a gate (a
// photo-quality check): each enrolled person is enrolled from their first
// photo the gate accepts, as a person asked for a better photo would be,
// and their other photos probe.
type EnrolGate struct {
	Split DoorSplit
	// Refused counts the enrolment photos the gate refused on the way
	// (every photo of a person none of whose photos passed included).
	Refused int
	// Replaced counts the people enrolled from a later photo than their
	// first.
	Replaced int
	// NoneAccepted counts the people none of whose photos passed: they
	// are enrolled from their first photo anyway (as a warning would), so
	// that the gallery holds the same people with and without the gate.
	NoneAccepted int
}

// GateEnrolment re-enrols s through ok: each person of s.Enrol is enrolled
// from the first of their photos (the enrolment photo, then their genuine
// attempts in order) that ok accepts.
func (s DoorSplit) GateEnrolment(ok func(DoorPhoto) bool) EnrolGate {
	byPerson := map[string][]DoorPhoto{}
	for _, p := range s.Genuine {
		byPerson[p.Person] = append(byPerson[p.Person], p)
	}
	g := EnrolGate{Split: DoorSplit{Strangers: slices.Clone(s.Strangers)}}
	for _, e := range s.Enrol {
		photos := append([]DoorPhoto{e}, byPerson[e.Person]...)
		k := slices.IndexFunc(photos, ok)
		switch {
		case k < 0:
			g.Refused += len(photos)
			g.NoneAccepted++
			k = 0
		case k > 0:
			g.Refused += k
			g.Replaced++
		}
		g.Split.Enrol = append(g.Split.Enrol, photos[k])
		for i, p := range photos {
			if i != k {
				g.Split.Genuine = append(g.Split.Genuine, p)
			}
		}
	}
	return g
}

// CommonProbes removes from the genuine attempts of each split the photos
// the other enrols, so that two enrolments of the same people are
// measured on the same attempts.
func CommonProbes(a, b DoorSplit) (DoorSplit, DoorSplit) {
	enrolled := map[string]bool{}
	for _, p := range append(slices.Clip(a.Enrol), b.Enrol...) {
		enrolled[p.Path] = true
	}
	keep := func(s DoorSplit) DoorSplit {
		s.Genuine = slices.DeleteFunc(slices.Clone(s.Genuine), func(p DoorPhoto) bool { return enrolled[p.Path] })
		return s
	}
	return keep(a), keep(b)
}

// WithoutProbes is s without the probes drop picks (the attempts a door
// answered "try again"): the rates of the attempts it did decide.
func (s *DoorScores) WithoutProbes(drop func(DoorProbe) bool) *DoorScores {
	out := &DoorScores{Enrolled: s.Enrolled}
	for i, p := range s.Probes {
		if drop(p) {
			continue
		}
		out.Probes = append(out.Probes, p)
		out.S = append(out.S, s.row(i)...)
	}
	return out
}

// RefuseProbes is s with the probes refuse picks refused whatever their
// scores (rows of NaN, Found false): the rates over every attempt, one
// answered "try again" counting as a door that stayed shut.
func (s *DoorScores) RefuseProbes(refuse func(DoorProbe) bool) *DoorScores {
	out := &DoorScores{Enrolled: s.Enrolled, Probes: slices.Clone(s.Probes), S: slices.Clone(s.S)}
	for i, p := range out.Probes {
		if !refuse(p) {
			continue
		}
		out.Probes[i].Found = false
		row := out.S[i*len(s.Enrolled) : (i+1)*len(s.Enrolled)]
		for j := range row {
			row[j] = float32(math.NaN())
		}
	}
	return out
}
