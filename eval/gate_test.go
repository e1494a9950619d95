package eval

import (
	"math"
	"slices"
	"testing"

	"github.com/facerec/facerec/face"
)

func TestGateEnrolment(t *testing.T) {
	ph := func(person, path string) DoorPhoto { return DoorPhoto{Person: person, Path: path} }
	s := DoorSplit{
		Enrol:     []DoorPhoto{ph("a", "a1"), ph("b", "b1"), ph("c", "c1")},
		Genuine:   []DoorPhoto{ph("a", "a2"), ph("a", "a3"), ph("b", "b2"), ph("c", "c2")},
		Strangers: []DoorPhoto{ph("x", "x1")},
	}
	poor := map[string]bool{"a1": true, "a2": true, "c1": true, "c2": true}
	g := s.GateEnrolment(func(p DoorPhoto) bool { return !poor[p.Path] })
	paths := func(ps []DoorPhoto) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Path)
		}
		return out
	}
	if got := paths(g.Split.Enrol); !slices.Equal(got, []string{"a3", "b1", "c1"}) {
		t.Fatalf("enrolled %v", got)
	}
	if g.Refused != 4 || g.Replaced != 1 || g.NoneAccepted != 1 {
		t.Fatalf("counts %+v", g)
	}
	if got := paths(g.Split.Genuine); !slices.Equal(got, []string{"a1", "a2", "b2", "c2"}) {
		t.Fatalf("genuine %v", got)
	}
	base, gated := CommonProbes(s, g.Split)
	if a, b := paths(base.Genuine), paths(gated.Genuine); !slices.Equal(a, b) || !slices.Equal(a, []string{"a2", "b2", "c2"}) {
		t.Fatalf("common probes %v and %v", a, b)
	}
}

func TestRefuseAndDropProbes(t *testing.T) {
	split := DoorSplit{Enrol: []DoorPhoto{{"a", "a1"}}, Genuine: []DoorPhoto{{"a", "a2"}, {"a", "a3"}}, Strangers: []DoorPhoto{{"x", "x1"}}}
	s, err := NewDoorScores(split, [][]float32{{0, 0}}, [][]float32{{0.1, 0}, {0.2, 0}, {1, 0}}, face.Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(p DoorProbe) bool { return p.Photo.Path == "a3" }
	r := s.RefuseProbes(bad).Rates(DoorRule{Threshold: 0.5})
	if r.Right != 0.5 || r.FAR != 0 {
		t.Fatalf("refused: %+v", r)
	}
	if s.Rates(DoorRule{Threshold: 0.5}).Right != 1 || !math.IsNaN(float64(s.RefuseProbes(bad).S[1])) {
		t.Fatal("RefuseProbes changed its receiver or kept the scores")
	}
	d := s.WithoutProbes(bad)
	if len(d.Probes) != 2 || d.Rates(DoorRule{Threshold: 0.5}).Right != 1 {
		t.Fatalf("dropped: %+v", d)
	}
}
