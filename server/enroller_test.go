package server_test

import (
	"context"
	"image"
	"math"
	"net/http"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/recognition"
)

// shrinkRecognizer is pixelRecognizer with every descriptor scaled by 0.8,
// so a face it enrolled lies 0.2 from the same face seen by pixelRecognizer.
type shrinkRecognizer struct{ pixelRecognizer }

func (s *shrinkRecognizer) Faces(ctx context.Context, img image.Image) ([]face.Face, error) {
	faces, err := s.pixelRecognizer.Faces(ctx, img)
	for i := range faces {
		shrink(&faces[i])
	}
	return faces, err
}

func (s *shrinkRecognizer) Subject(ctx context.Context, img image.Image) (face.Face, error) {
	f, err := s.pixelRecognizer.Subject(ctx, img)
	shrink(&f)
	return f, err
}

func shrink(f *face.Face) {
	for k := range f.Descriptor.Vector {
		f.Descriptor.Vector[k] *= 0.8
	}
}

// TestEnroller checks that enrolment and added faces go through
// recognition.Config.Enroller, and identification and verification through
// Recognizer.
func TestEnroller(t *testing.T) {
	h := newHarness(t, harnessOptions{svc: func(c *recognition.Config) { c.Enroller = &shrinkRecognizer{} }})
	alice := h.enroll("Alice", onePerson(t, 1))
	var got person
	h.form("/v1/people/"+alice.ID+"/faces", file("photo", onePerson(t, 5))).decode(t, http.StatusCreated, &got)
	for _, id := range []uint8{1, 5} {
		out := h.identify(h.recKey, onePerson(t, id))
		if len(out.Faces) != 1 || out.Faces[0].Match == nil || out.Faces[0].Match.ID != alice.ID {
			t.Fatalf("identity %d identified as %+v, want Alice", id, out.Faces)
		}
		if d := out.Faces[0].Match.Distance; math.Abs(d-0.2) > 1e-6 {
			t.Errorf("identity %d at distance %v from Alice's face, want 0.2 (enrolled by the enroller, probed by the recognizer)", id, d)
		}
	}
	var v struct {
		Distance float64
		Same     bool
	}
	body, ct := multipartBody(t, field("person_id", alice.ID), file("photo", onePerson(t, 1)))
	h.do(http.MethodPost, "/v1/verify", h.recKey, ct, body).decode(t, http.StatusOK, &v)
	if !v.Same || math.Abs(v.Distance-0.2) > 1e-6 {
		t.Errorf("verify Alice = %+v, want same at 0.2", v)
	}
}
