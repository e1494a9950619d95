package recognition_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"path/filepath"
	"testing"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
)

const (
	model = "fake@1"
	dim   = 4
)

var decision = face.Rule{Threshold: face.Threshold{Model: model, Metric: face.Euclidean, Max: 0.5}}

// fake recognizes photos whose pixel (0, 0) names the person in its red
// value and the number of faces side by side in its green value; person i's
// descriptor is e_i. A photo with blue 1 blocks until the context ends.
type fake struct{}

func photoOf(person, faces uint8) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	img.Set(0, 0, color.RGBA{person, faces, 0, 255})
	return img
}

func blockingPhoto() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	img.Set(0, 0, color.RGBA{1, 1, 1, 255})
	return img
}

func (fake) Faces(ctx context.Context, img image.Image) ([]face.Face, error) {
	r, g, b, _ := img.At(0, 0).RGBA()
	if b>>8 == 1 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	faces := make([]face.Face, g>>8)
	for i := range faces {
		v := make([]float32, dim)
		v[(int(r>>8)+i)%dim] = 1
		// Side by side, neither at the centre when there are two.
		faces[i] = face.Face{Box: face.Rect{X: float64(10 + 50*i), Y: 30, W: 30, H: 30}, Score: 0.9, Descriptor: face.Descriptor{Model: model, Vector: v}}
	}
	if len(faces) == 1 {
		faces[0].Box = face.Rect{X: 35, Y: 35, W: 30, H: 30}
	}
	return faces, nil
}

func (f fake) Subject(ctx context.Context, img image.Image) (face.Face, error) {
	faces, err := f.Faces(ctx, img)
	if err != nil {
		return face.Face{}, err
	}
	if len(faces) == 0 {
		return face.Face{}, face.ErrNoFace
	}
	if r := face.Rivals(faces[0].Box, faces[1:], 100, 100); len(r) > 0 {
		return faces[0], &face.AmbiguousError{Subject: faces[0].Box, Rivals: r}
	}
	return faces[0], nil
}

func newService(t *testing.T) *recognition.Service {
	t.Helper()
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := gallery.Open(context.Background(), store, model, dim)
	if err != nil {
		t.Fatal(err)
	}
	s, err := recognition.New(recognition.Config{Recognizer: fake{}, Gallery: g, Decision: decision})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnrollIdentifyVerify(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	alice, err := s.Enroll(ctx, "Alice", nil, recognition.Photo{Image: photoOf(1, 1)}, recognition.Photo{Image: photoOf(1, 1)})
	if err != nil || alice.Faces != 2 {
		t.Fatalf("enrol Alice from two photos: %+v, %v", alice, err)
	}
	res, err := s.Identify(ctx, photoOf(1, 1), 3)
	if err != nil || len(res) != 1 || res[0].Match == nil || res[0].Match.ID != alice.ID || res[0].Match.Name != "Alice" {
		t.Fatalf("identify Alice: %+v, %v", res, err)
	}
	// A stranger is nobody, though Alice is the nearest candidate.
	res, err = s.Identify(ctx, photoOf(2, 1), 3)
	if err != nil || len(res) != 1 || res[0].Match != nil || len(res[0].Candidates) != 1 {
		t.Fatalf("identify a stranger: %+v, %v", res, err)
	}
	if d, err := s.Verify(ctx, alice.ID, photoOf(1, 1)); err != nil || !d.Same || d.Threshold != 0.5 {
		t.Errorf("verify Alice as Alice: %+v, %v", d, err)
	}
	if d, err := s.Verify(ctx, alice.ID, photoOf(2, 1)); err != nil || d.Same {
		t.Errorf("verify a stranger as Alice: %+v, %v", d, err)
	}
	if _, err := s.Verify(ctx, "0000000000000000", photoOf(1, 1)); !errors.Is(err, gallery.ErrNotFound) {
		t.Errorf("verify an unknown person: %v", err)
	}
	if d, err := s.Compare(ctx, photoOf(1, 1), photoOf(1, 1)); err != nil || !d.Same {
		t.Errorf("compare two photos of one person: %+v, %v", d, err)
	}
}

// TestLabelledPhotoPolicy: enrolment refuses a photo without a face or one
// where two faces could be the person, and stores nothing then; the door
// (Identify) answers for every face.
func TestLabelledPhotoPolicy(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Enroll(ctx, "Nobody", nil, recognition.Photo{Image: photoOf(1, 0)}); !errors.Is(err, face.ErrNoFace) {
		t.Errorf("enrol from a photo without a face: %v", err)
	}
	var amb *face.AmbiguousError
	_, err := s.Enroll(ctx, "Two", nil, recognition.Photo{Image: photoOf(1, 1)}, recognition.Photo{Image: photoOf(1, 2)})
	if !errors.As(err, &amb) || len(amb.Rivals) != 1 {
		t.Errorf("enrol with a side-by-side photo: %v, want an AmbiguousError with one rival", err)
	}
	if people, _ := s.Gallery().Size(); people != 0 {
		t.Errorf("a refused enrolment stored %d people", people)
	}
	if _, err := s.Enroll(ctx, "A", nil, recognition.Photo{Image: photoOf(0, 1)}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Identify(ctx, photoOf(0, 2), 1)
	if err != nil || len(res) != 2 || res[0].Match == nil || res[1].Match != nil {
		t.Errorf("identify two faces: %+v, %v; want A and a stranger", res, err)
	}
}

// TestIdentifyCancelled: a cancelled identification returns promptly with
// the context's error.
func TestIdentifyCancelled(t *testing.T) {
	s := newService(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Identify(ctx, blockingPhoto(), 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v", d)
	}
}

func TestNewChecksTheModel(t *testing.T) {
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g, err := gallery.Open(context.Background(), store, "other@2", dim)
	if err != nil {
		t.Fatal(err)
	}
	_, err = recognition.New(recognition.Config{Recognizer: fake{}, Gallery: g, Decision: decision})
	if !errors.Is(err, gallery.ErrModelMismatch) {
		t.Errorf("a gallery of another model: %v, want ErrModelMismatch", err)
	}
	if _, err := recognition.New(recognition.Config{Recognizer: fake{}}); err == nil {
		t.Error("no decision: accepted")
	}
	s, err := recognition.New(recognition.Config{Recognizer: fake{}, Decision: decision})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identify(context.Background(), photoOf(1, 1), 1); !errors.Is(err, recognition.ErrNoGallery) {
		t.Errorf("identify without a gallery: %v", err)
	}
}
