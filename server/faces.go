package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/tensor"
)

// Recognizer finds the faces in an image [H, W, 3] (RGB 0..255) with their
// descriptors. *face.Pipeline is one; tests use fakes.
type Recognizer interface {
	Faces(img *tensor.Tensor) ([]face.Face, error)
}

// Gallery is what the server needs of a gallery; *gallery.Gallery is one.
type Gallery interface {
	Enroll(ctx context.Context, name string, meta map[string]string, f gallery.Face) (gallery.Person, gallery.Face, error)
	AddFace(ctx context.Context, personID string, f gallery.Face) (gallery.Face, error)
	Person(ctx context.Context, id string) (gallery.Person, error)
	People(ctx context.Context, limit, offset int) ([]gallery.Person, int, error)
	DeletePerson(ctx context.Context, id string) error
	Identify(q []float32, k int, threshold float64) (best *gallery.Match, candidates []gallery.Match)
	Verify(ctx context.Context, personID string, q []float32, threshold float64) (distance float64, same bool, err error)
	Size() (people, faces int)
}

// Errors of EnrollmentFace.
var (
	ErrNoFace        = errors.New("no face found")
	ErrMultipleFaces = errors.New("several faces, none clearly in front")
)

// DominanceRatio is how much larger (in box area) the face in front must be
// than every other face for a photo with several faces to count as a photo
// of one person: a crowd behind them is fine, two people side by side are
// not.
const DominanceRatio = 4

// EnrollmentFace picks the face a photo is about: the only face, or the
// largest one when every other face's box is under 1/DominanceRatio of its
// area. Otherwise it returns ErrNoFace or ErrMultipleFaces: enrolling (or
// verifying) the wrong one of two people is worse than asking for another
// photo.
func EnrollmentFace(faces []face.Face) (*face.Face, error) {
	if len(faces) == 0 {
		return nil, ErrNoFace
	}
	area := func(f *face.Face) float64 { return f.Box.W * f.Box.H }
	best := &faces[0]
	for i := range faces {
		if area(&faces[i]) > area(best) {
			best = &faces[i]
		}
	}
	for i := range faces {
		if f := &faces[i]; f != best && area(f)*DominanceRatio >= area(best) {
			return nil, fmt.Errorf("%w: %d faces, two of them %.0f and %.0f px² large",
				ErrMultipleFaces, len(faces), area(best), area(f))
		}
	}
	return best, nil
}

// Match is a gallery person a face was matched with.
type Match struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Distance float64 `json:"distance"`
}

// FaceResult is what identification says about one face of a photo.
type FaceResult struct {
	// Box is x, y, width, height in pixels of the (upright) photo.
	Box   [4]float64 `json:"box"`
	Score float64    `json:"score"`
	// Match is the enrolled person, or nil for a stranger: nobody within
	// the threshold.
	Match *Match `json:"match"`
	// Candidates are the nearest people, nearest first, whether or not
	// within the threshold.
	Candidates []Match `json:"candidates"`
}

// Identify searches the gallery for each face: its k nearest people, and
// the match when the nearest is closer than threshold. A person deleted
// while the search ran is left out rather than reported without a name.
func Identify(ctx context.Context, g Gallery, faces []face.Face, k int, threshold float64) ([]FaceResult, error) {
	out := make([]FaceResult, 0, len(faces))
	names := map[string]string{} // one lookup per person, however often they appear
	name := func(id string) (string, bool, error) {
		if n, ok := names[id]; ok {
			return n, true, nil
		}
		p, err := g.Person(ctx, id)
		if errors.Is(err, gallery.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("looking up person %s: %w", id, err)
		}
		names[id] = p.Name
		return p.Name, true, nil
	}
	for i := range faces {
		f := &faces[i]
		r := FaceResult{Box: [4]float64{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}, Score: f.Score, Candidates: []Match{}}
		// The gallery reads a bad descriptor as "unknown"; it would be a
		// bug upstream, not a stranger.
		if err := gallery.CheckDescriptor(f.Descriptor[:]); err != nil {
			return nil, fmt.Errorf("face %d: %w", i, err)
		}
		best, cands := g.Identify(f.Descriptor[:], k, threshold)
		for _, c := range cands {
			n, ok, err := name(c.PersonID)
			if err != nil {
				return nil, err
			}
			if ok {
				r.Candidates = append(r.Candidates, Match{ID: c.PersonID, Name: n, Distance: c.Distance})
			}
		}
		if best != nil {
			n, ok, err := name(best.PersonID)
			if err != nil {
				return nil, err
			}
			if ok {
				r.Match = &Match{ID: best.PersonID, Name: n, Distance: best.Distance}
			}
		}
		out = append(out, r)
	}
	return out, nil
}
