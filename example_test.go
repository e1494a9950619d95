package facerec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/facerec/facerec"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/recognition"
)

// lfw is where the examples find their photos (LFW, beside the module).
var lfw = filepath.Join("..", "shared", "data", "lfw", "deepfunneled")

// Example verifies that two photos show the same person.
func Example() {
	r, err := facerec.New(context.Background(), facerec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	a, err := facerec.ReadImage(filepath.Join(lfw, "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := facerec.ReadImage(filepath.Join(lfw, "Aaron_Peirsol", "Aaron_Peirsol_0002.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := facerec.ReadImage(filepath.Join(lfw, "Tony_Blair", "Tony_Blair_0001.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	d, err := r.Verify(ctx, a, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Aaron Peirsol twice:", d.Same)
	d, err = r.Verify(ctx, a, c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Aaron Peirsol and Tony Blair:", d.Same)
}

// ExampleRecognizer_Faces lists the faces of a group photo.
func ExampleRecognizer_Faces() {
	r, err := facerec.New(context.Background(), facerec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	img, err := facerec.ReadImage(filepath.Join("..", "shared", "oracle", "testdata", "sample1.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	faces, err := r.Faces(context.Background(), img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(faces), "faces")
	// Take the first one as enrolled and find them again among the others.
	alice := faces[0].Descriptor
	for i, f := range faces {
		d, err := r.Compare(alice, f.Descriptor)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("face %d is alice: %v\n", i, d.Same)
	}
}

// ExampleRecognizer_Enroll is the one-shot scenario: a person is known by
// one photo, and later photos are recognised as them, or not.
func ExampleRecognizer_Enroll() {
	r, err := facerec.New(context.Background(), facerec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	enrolment, err := facerec.ReadImage(filepath.Join(lfw, "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	aaron, err := r.Enroll(ctx, enrolment) // computed once: store it
	if err != nil {
		log.Fatal(err)
	}
	for _, door := range []string{"Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "Tony_Blair/Tony_Blair_0001.jpg"} {
		img, err := facerec.ReadImage(filepath.Join(lfw, door))
		if err != nil {
			log.Fatal(err)
		}
		faces, err := r.Faces(ctx, img) // at the door: every face counts
		if err != nil {
			log.Fatal(err)
		}
		known := false
		for _, f := range faces {
			d, err := r.Compare(aaron, f.Descriptor)
			if err != nil {
				log.Fatal(err)
			}
			known = known || d.Same
		}
		if known {
			fmt.Println(filepath.Base(door), "is Aaron Peirsol")
		} else {
			fmt.Println(filepath.Base(door), "is not Aaron Peirsol")
		}
	}
}

// ExampleRecognizer_Service keeps a gallery: people are enrolled once and
// every face of a door photo is looked up among them.
func ExampleRecognizer_Service() {
	ctx := context.Background()
	r, err := facerec.New(ctx, facerec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "gallery")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := gallery.OpenURL(ctx, filepath.Join(dir, "gallery.db"), gallery.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	g, err := recognition.OpenGallery(ctx, store, r.Model(), os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	svc, err := r.Service(g)
	if err != nil {
		log.Fatal(err)
	}
	enrolment, err := facerec.ReadImage(filepath.Join(lfw, "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Enroll(ctx, "Aaron Peirsol", nil, recognition.Photo{Image: enrolment}); err != nil {
		log.Fatal(err)
	}
	for _, door := range []string{"Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "Tony_Blair/Tony_Blair_0001.jpg"} {
		img, err := facerec.ReadImage(filepath.Join(lfw, door))
		if err != nil {
			log.Fatal(err)
		}
		faces, err := svc.Identify(ctx, img, 1)
		if err != nil {
			log.Fatal(err)
		}
		for _, f := range faces {
			if f.Match != nil {
				fmt.Println(filepath.Base(door)+":", f.Match.Name)
			} else {
				fmt.Println(filepath.Base(door) + ": unknown")
			}
		}
	}
}

// The examples read photos from ../shared and need the models, which a
// fresh machine elsewhere lacks; Go runs examples unconditionally, so they
// carry no "Output:" comment and this test runs them instead, skipping when
// the material is missing.
func TestExamples(t *testing.T) {
	sharedtest.Path(t, "data", "lfw", "deepfunneled")
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models", err)
	for _, ex := range []struct {
		name string
		run  func()
		want string
	}{
		{"Example", Example, "Aaron Peirsol twice: true\nAaron Peirsol and Tony Blair: false\n"},
		{"ExampleRecognizer_Faces", ExampleRecognizer_Faces, "3 faces\nface 0 is alice: true\nface 1 is alice: false\nface 2 is alice: false\n"},
		{"ExampleRecognizer_Enroll", ExampleRecognizer_Enroll, "Aaron_Peirsol_0002.jpg is Aaron Peirsol\nTony_Blair_0001.jpg is not Aaron Peirsol\n"},
		{"ExampleRecognizer_Service", ExampleRecognizer_Service, "Aaron_Peirsol_0002.jpg: Aaron Peirsol\nTony_Blair_0001.jpg: unknown\n"},
	} {
		if got := captureStdout(t, ex.run); got != ex.want {
			t.Errorf("%s printed\n%s\nwant\n%s", ex.name, got, ex.want)
		}
	}
}

func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, r)
		done <- buf.Bytes()
	}()
	fn()
	os.Stdout = old
	w.Close()
	return string(<-done)
}

// TestEnroll checks that Enroll describes the subject with the
// enrolment jitter (so not exactly as Faces does, but close), and refuses a
// photo without a face.
func TestEnroll(t *testing.T) {
	sharedtest.Path(t, "data", "lfw", "deepfunneled")
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models", err)
	r, err := facerec.New(context.Background(), facerec.Options{Descriptor: face.DescriptorDlib})
	if err != nil {
		t.Fatal(err)
	}
	img, err := facerec.ReadImage(filepath.Join(lfw, "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enrolled, err := r.Enroll(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	faces, err := r.Faces(ctx, img)
	if err != nil || len(faces) != 1 {
		t.Fatalf("%d faces, %v", len(faces), err)
	}
	if d, err := r.Compare(enrolled, faces[0].Descriptor); err != nil || d.Distance == 0 || d.Distance > 0.15 {
		t.Errorf("enrolment descriptor at %v from the plain one (%v), want small but non-zero (jittered)", d.Distance, err)
	}
	if enrolled.Model != r.Model().ID() {
		t.Errorf("enrolment descriptor of model %q, want %q", enrolled.Model, r.Model().ID())
	}
	if _, err := r.Enroll(ctx, image.NewRGBA(image.Rect(0, 0, 64, 64))); !errors.Is(err, facerec.ErrNoFace) {
		t.Errorf("Enroll of a blank image: %v, want ErrNoFace", err)
	}
	// MobileFaceNet, the default, loses accuracy with jitter (docs/door.md),
	// and face-api's crop has none: Enroll is then plain, not an error.
	for _, opt := range []facerec.Options{{}, {Descriptor: face.DescriptorDlib, Align: face.AlignFaceAPI}} {
		fa, err := facerec.New(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		e, err := fa.Enroll(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := fa.Faces(ctx, img); err != nil || len(plain) != 1 || !slices.Equal(plain[0].Descriptor.Vector, e.Vector) {
			t.Errorf("Enroll with %+v differs from Faces (%v)", opt, err)
		}
	}
}
