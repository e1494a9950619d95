package server

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/facerec/facerec/recognition"
)

// DefaultHistorySize is how many door decisions GET /v1/history keeps by
// default.
const DefaultHistorySize = 100

// historyRepeat is how long the same decision seen again (the same people,
// frame after frame of a door camera) extends the last event instead of
// making a new one.
const historyRepeat = 30 * time.Second

// doorEvent is one door decision: what identification answered for a
// photo with at least one face, or for a run of such photos with the same
// answer.
type doorEvent struct {
	// Time is when it was first seen, Last when last, Frames in how many
	// photos.
	Time   time.Time  `json:"time"`
	Last   time.Time  `json:"last"`
	Frames int        `json:"frames"`
	Faces  []doorFace `json:"faces"`
}

// doorFace is the decision about one face.
type doorFace struct {
	// Match is the person recognised, nil for a stranger; Nearest is the
	// nearest person (the match, or the stranger's nearest), nil with an
	// empty gallery. A person deleted since has an empty ID and name.
	Match   *recognition.Match `json:"match"`
	Nearest *recognition.Match `json:"nearest"`
	// Threshold is the distance in force; CloseCall is whether Nearest's
	// distance is within CloseCallBand of it.
	Threshold float64 `json:"threshold"`
	CloseCall bool    `json:"close_call"`
}

// history is a bounded ring of the latest door decisions, in memory only:
// it is gone at a restart, and the names of deleted people are dropped
// from it.
type history struct {
	mu     sync.Mutex
	events []doorEvent // oldest first, at most max
	max    int
	now    func() time.Time
}

func newHistory(size int) *history {
	return &history{max: size, now: time.Now}
}

func (h *history) size() int {
	if h == nil {
		return 0
	}
	return h.max
}

// key says which people a decision names, for repeats.
func (e *doorEvent) key() string {
	var ids []string
	for _, f := range e.Faces {
		if f.Match != nil {
			ids = append(ids, f.Match.ID)
		} else {
			ids = append(ids, "?")
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// record adds the decisions of one identified photo; photos without faces
// are not door decisions and are left out.
func (h *history) record(results []recognition.FaceResult, threshold float64) {
	if h.size() <= 0 || len(results) == 0 {
		return
	}
	ev := doorEvent{Frames: 1, Faces: make([]doorFace, 0, len(results))}
	for _, r := range results {
		f := doorFace{Threshold: threshold}
		if r.Match != nil {
			m := *r.Match
			f.Match = &m
		}
		if len(r.Candidates) > 0 {
			n := r.Candidates[0]
			f.Nearest = &n
			f.CloseCall = closeCall(n.Distance, threshold)
		}
		ev.Faces = append(ev.Faces, f)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	ev.Time, ev.Last = now, now
	if n := len(h.events); n > 0 {
		last := &h.events[n-1]
		if now.Sub(last.Last) < historyRepeat && last.key() == ev.key() {
			last.Last = now
			last.Frames++
			// The latest distances: a person stepping closer.
			last.Faces = ev.Faces
			return
		}
	}
	if len(h.events) == h.max {
		h.events = slices.Delete(h.events, 0, 1)
	}
	h.events = append(h.events, ev)
}

// forget drops a deleted person's name and ID from the history: their
// decisions stay, naming nobody (ID and name empty).
func (h *history) forget(id string) {
	h.edit(id, func(m *recognition.Match) { m.ID, m.Name = "", "" })
}

// rename shows a renamed person under their new name.
func (h *history) rename(id, name string) {
	h.edit(id, func(m *recognition.Match) { m.Name = name })
}

func (h *history) edit(id string, fn func(m *recognition.Match)) {
	if h.size() <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.events {
		for j := range h.events[i].Faces {
			f := &h.events[i].Faces[j]
			for _, m := range []*recognition.Match{f.Match, f.Nearest} {
				if m != nil && m.ID == id {
					fn(m)
				}
			}
		}
	}
}

// latest returns up to n events, newest first, as copies.
func (h *history) latest(n int) []doorEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]doorEvent, 0, min(n, len(h.events)))
	for i := len(h.events) - 1; i >= 0 && len(out) < n; i-- {
		e := h.events[i]
		e.Faces = slices.Clone(e.Faces)
		for j := range e.Faces {
			// forget and rename edit the matches in place.
			e.Faces[j].Match, e.Faces[j].Nearest = cloneMatch(e.Faces[j].Match), cloneMatch(e.Faces[j].Nearest)
		}
		out = append(out, e)
	}
	return out
}

// serveHistory is GET /v1/history?limit=: the latest door decisions,
// newest first.
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", max(1, s.history.size()), 1, max(1, s.history.size()))
	if err != nil {
		return err
	}
	events := []doorEvent{}
	if s.history.size() > 0 {
		events = s.history.latest(limit)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "size": s.history.size()})
	return nil
}

func cloneMatch(m *recognition.Match) *recognition.Match {
	if m == nil {
		return nil
	}
	c := *m
	return &c
}
