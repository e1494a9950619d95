package recognition

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"slices"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
)

// ErrNoFaceAt is returned when a photo's chosen face (Photo.Face) matches
// no face found in it.
var ErrNoFaceAt = errors.New("recognition: no face found at the chosen box")

// choiceIoU is how much a face found must overlap the chosen box to be
// taken for it: a box drawn by a person or copied from another detection
// run is close, not exact.
const choiceIoU = 0.3

// Choices lists the faces a person may pick from when a labelled photo is
// ambiguous (the subject and its rivals of a *face.AmbiguousError), ordered
// left to right, then top to bottom, so that an index into the list means
// the same face to a client as to ChoicesOf; nil when err is not one.
func Choices(err error) []face.Rect {
	var ae *face.AmbiguousError
	if !errors.As(err, &ae) {
		return nil
	}
	out := append([]face.Rect{ae.Subject}, ae.Rivals...)
	slices.SortStableFunc(out, func(a, b face.Rect) int {
		return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y))
	})
	return out
}

// ChoicesOf is the list of Choices for an enrolment photo, as Enroll would
// find it: the faces that make it ambiguous, or the subject alone when it
// is clear (face.ErrNoFace without any face).
func (s *Service) ChoicesOf(ctx context.Context, img image.Image) ([]face.Rect, error) {
	f, err := s.cfg.Enroller.Subject(ctx, img)
	if c := Choices(err); c != nil {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	return []face.Rect{f.Box}, nil
}

// chosenFace describes the face of p at p.Face with rec: the face found
// that overlaps the box most, if it overlaps enough.
func (s *Service) chosenFace(ctx context.Context, rec Recognizer, p Photo) (face.Face, error) {
	faces, err := rec.Faces(ctx, p.Image)
	if err != nil {
		return face.Face{}, err
	}
	best, bestIoU := -1, choiceIoU
	for i, f := range faces {
		if iou := model.IoU(f.Box, *p.Face); iou >= bestIoU {
			best, bestIoU = i, iou
		}
	}
	if best < 0 {
		b := *p.Face
		return face.Face{}, fmt.Errorf("%w (%.0f,%.0f %.0f×%.0f; %d faces found)", ErrNoFaceAt, b.X, b.Y, b.W, b.H, len(faces))
	}
	f := faces[best]
	if f.Descriptor.Model != s.cfg.Decision.Model {
		return face.Face{}, fmt.Errorf("recognition: %w: descriptor made by %q, the service uses %q",
			face.ErrModelMismatch, f.Descriptor.Model, s.cfg.Decision.Model)
	}
	return f, nil
}
