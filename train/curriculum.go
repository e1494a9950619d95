package train

import (
	"fmt"
	"strconv"
	"strings"
)

// Stage is one part of a mining curriculum: from the share From of the run
// on (0 ≤ From < 1, of the planned steps or of the time budget), triplets
// are mined with Mining.
//
// Hard mining from a random start collapses: while the net cannot yet rank
// any positive above the nearest negative, the hardest triplet's loss
// max d(a,p) − min d(a,n) + α is positive for every anchor and shrinks with
// the scale of the embedding, so shrinking every distance (all points onto
// one) is the quickest way down. Batch-all, averaged over many easy and hard
// triplets, pushes same-person embeddings together first, and the hardest
// triplets can teach the rest once the net ranks most pairs right. On its
// own a curriculum did not stop the collapse on AT&T (the batch collapsed
// again after the switch, docs/training.md); the embedding batch norm
// (model.EmbedNetConfig.EmbeddingBN) did.
type Stage struct {
	Mining Mining
	From   float64
}

// ParseCurriculum parses a mining curriculum "batch-all,semi-hard@0.3,
// batch-hard@0.6": strategies in order, each after the first with the
// share of the run it starts at. A single name is a one-stage curriculum.
func ParseCurriculum(s string) ([]Stage, error) {
	var out []Stage
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, at, has := strings.Cut(part, "@")
		m, err := ParseMining(name)
		if err != nil {
			return nil, err
		}
		st := Stage{Mining: m}
		switch {
		case i == 0 && has:
			return nil, fmt.Errorf("mining curriculum %q: the first stage starts the run (no @)", s)
		case i > 0 && !has:
			return nil, fmt.Errorf("mining curriculum %q: stage %q needs @ and the share of the run it starts at", s, part)
		case has:
			if st.From, err = strconv.ParseFloat(at, 64); err != nil || st.From <= out[i-1].From || st.From >= 1 {
				return nil, fmt.Errorf("mining curriculum %q: stage %q must start at a share of the run after the previous stage's and below 1", s, part)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// miningAt is the strategy of the stage in force at progress p (the share of
// the run done).
func miningAt(stages []Stage, p float64) Mining {
	m := stages[0].Mining
	for _, st := range stages {
		if p >= st.From {
			m = st.Mining
		}
	}
	return m
}

// CurriculumString writes stages back in ParseCurriculum's form.
func CurriculumString(stages []Stage) string {
	var b strings.Builder
	for i, st := range stages {
		if i > 0 {
			fmt.Fprintf(&b, ",%v@%g", st.Mining, st.From)
		} else {
			b.WriteString(st.Mining.String())
		}
	}
	return b.String()
}
