package gallery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// noisy returns d moved by a random offset of about the given norm, and
// renormalized, like a second photo of the same face.
func noisy(rng *rand.Rand, d []float32, norm float64) []float32 {
	n := randDescriptorN(rng, len(d))
	out := make([]float32, len(d))
	var s float64
	for i := range d {
		out[i] = d[i] + float32(norm)*n[i]
		s += float64(out[i]) * float64(out[i])
	}
	for i := range out {
		out[i] /= float32(math.Sqrt(s))
	}
	return out
}

func openGallery(t *testing.T, s Store) *Gallery {
	t.Helper()
	g, err := Open(context.Background(), s, testModel, testDim)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// modelFace returns a face with one descriptor, of model.
func modelFace(model string, d []float32) Face {
	return Face{Descriptors: map[string][]float32{model: d}, Score: 0.9}
}

// threshold is the distance the tests decide "same person" by, as a
// caller of Search would: a noisy probe of an enrolled face is about 0.3
// from it, random unit vectors (strangers) are about 1.41 apart.
const threshold = 0.6

func TestGallerySearchNearest(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{})
		g := openGallery(t, s)
		if g.Model() != testModel || g.Dim() != testDim {
			t.Fatalf("gallery of model %q, %d values; want %q, %d", g.Model(), g.Dim(), testModel, testDim)
		}
		rng := rand.New(rand.NewPCG(30, 30))
		type enrolled struct {
			id   string
			desc []float32
		}
		var people []enrolled
		for i := range 30 {
			d := randDescriptor(rng)
			p, _, err := g.Enroll(ctx, fmt.Sprintf("person %d", i), nil, modelFace(testModel, d))
			if err != nil {
				t.Fatal(err)
			}
			people = append(people, enrolled{p.ID, d})
		}
		if p, f := g.Size(); p != 30 || f != 30 {
			t.Fatalf("Size = %d, %d; want 30, 30", p, f)
		}
		for i, e := range people {
			q := noisy(rng, e.desc, 0.3)
			ms, err := g.Search(q, 3)
			if err != nil || len(ms) != 3 || ms[0].PersonID != e.id || ms[0].Distance >= threshold ||
				ms[1].Distance < ms[0].Distance || ms[2].Distance < ms[1].Distance {
				t.Fatalf("Search(probe of %s) = %v, %v", e.id, ms, err)
			}
			stranger, err := g.Search(randDescriptor(rng), 3)
			if err != nil || len(stranger) != 3 || stranger[0].Distance < threshold {
				t.Errorf("Search(stranger) = %v, %v; want everyone beyond %g", stranger, err, threshold)
			}
			m, err := g.Nearest(ctx, e.id, q)
			if err != nil || m.PersonID != e.id || m.FaceID != ms[0].FaceID || math.Abs(m.Distance-ms[0].Distance) > 1e-6 {
				t.Errorf("Nearest(own probe) = %+v, %v; Search said %+v", m, err, ms[0])
			}
			other := people[(i+1)%len(people)]
			if m, err := g.Nearest(ctx, other.id, q); err != nil || m.PersonID != other.id || m.Distance < threshold {
				t.Errorf("Nearest(someone else's probe) = %+v, %v; want them beyond %g", m, err, threshold)
			}
		}
		if _, err := g.Nearest(ctx, "0000000000000000", people[0].desc); !errors.Is(err, ErrNotFound) {
			t.Errorf("Nearest of an unknown person: %v", err)
		}
		nan := slices.Clone(people[0].desc)
		nan[7] = float32(math.NaN())
		bad := map[string][]float32{
			"short": people[0].desc[:5],
			"long":  append(slices.Clone(people[0].desc), 0),
			"NaN":   nan,
			"nil":   nil,
		}
		for what, q := range bad {
			if _, err := g.Nearest(ctx, people[0].id, q); !errors.Is(err, ErrInvalid) {
				t.Errorf("Nearest with a %s probe: %v, want ErrInvalid", what, err)
			}
			if ms, err := g.Search(q, 1); ms != nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("Search with a %s probe: %v, %v; want ErrInvalid", what, ms, err)
			}
		}
		// At least one match is asked for; at most everyone comes back.
		if ms, err := g.Search(people[3].desc, 0); err != nil || len(ms) != 1 || ms[0].PersonID != people[3].id {
			t.Errorf("Search with k = 0 = %v, %v; want the nearest person", ms, err)
		}
		if ms, err := g.Search(people[3].desc, 100); err != nil || len(ms) != 30 {
			t.Errorf("Search with k = 100 gave %d matches, %v; want 30", len(ms), err)
		}

		// A second face makes the person match a probe near it.
		d2 := randDescriptor(rng)
		if _, err := g.AddFace(ctx, people[0].id, modelFace(testModel, d2)); err != nil {
			t.Fatal(err)
		}
		if ms, err := g.Search(noisy(rng, d2, 0.2), 1); err != nil || ms[0].PersonID != people[0].id || ms[0].Distance >= threshold {
			t.Errorf("probe near the added face: %v, %v", ms, err)
		}
		if _, err := g.AddFace(ctx, "0000000000000000", modelFace(testModel, d2)); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddFace to nobody: %v", err)
		}
		if p, f := g.Size(); p != 30 || f != 31 {
			t.Errorf("Size = %d, %d; want 30, 31", p, f)
		}

		// Deleting removes the person from store and index alike.
		if err := g.DeletePerson(ctx, people[0].id); err != nil {
			t.Fatal(err)
		}
		if ms, _ := g.Search(people[0].desc, 1); len(ms) != 1 || ms[0].PersonID == people[0].id {
			t.Errorf("a deleted person is still found: %v", ms)
		}
		if _, err := g.Nearest(ctx, people[0].id, people[0].desc); !errors.Is(err, ErrNotFound) {
			t.Errorf("Nearest of a deleted person: %v", err)
		}
		if err := g.DeletePerson(ctx, people[0].id); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if p, f := g.Size(); p != 29 || f != 29 {
			t.Errorf("Size = %d, %d; want 29, 29", p, f)
		}

		// Reopening loads the same index from the store.
		g2 := openGallery(t, s)
		if p, f := g2.Size(); p != 29 || f != 29 {
			t.Errorf("reopened Size = %d, %d; want 29, 29", p, f)
		}
		ms, err := g2.Search(noisy(rng, people[5].desc, 0.3), 1)
		if err != nil || len(ms) != 1 || ms[0].PersonID != people[5].id || ms[0].Distance >= threshold {
			t.Errorf("reopened gallery: %v, %v", ms, err)
		}
		all, _, err := g2.People(ctx, 100, 0)
		if err != nil || len(all) != 29 {
			t.Errorf("People = %d, %v", len(all), err)
		}
		if p, err := g2.Person(ctx, people[5].id); err != nil || p.ID != people[5].id {
			t.Errorf("Person = %+v, %v", p, err)
		}
	})
}

// TestGalleryFaceChecks checks what Enroll and AddFace ask of a face: a
// descriptor of the gallery's model, of its length; descriptors of other
// models may come along and must be valid too. A refused face is neither
// stored nor indexed.
func TestGalleryFaceChecks(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteTest(t, Options{})
	g := openGallery(t, s)
	rng := rand.New(rand.NewPCG(36, 36))
	p, _, err := g.Enroll(ctx, "someone", nil, testFace(rng))
	if err != nil {
		t.Fatal(err)
	}
	withOther := func(d []float32) Face {
		f := testFace(rng)
		f.Descriptors["other@2"] = d
		return f
	}
	cases := []struct {
		what string
		f    Face
		err  error
	}{
		{"only another model", modelFace("other@2", randDescriptor(rng)), ErrModelMismatch},
		{"no descriptors", Face{Score: 0.9}, ErrModelMismatch},
		{"a short descriptor", modelFace(testModel, randDescriptorN(rng, testDim-1)), ErrInvalid},
		{"a long descriptor", modelFace(testModel, randDescriptorN(rng, testDim+1)), ErrInvalid},
		{"a bad descriptor of another model", withOther([]float32{float32(math.Inf(1))}), ErrInvalid},
	}
	for _, c := range cases {
		if _, _, err := g.Enroll(ctx, "x", nil, c.f); !errors.Is(err, c.err) {
			t.Errorf("Enroll with %s: %v, want %v", c.what, err, c.err)
		}
		if _, err := g.AddFace(ctx, p.ID, c.f); !errors.Is(err, c.err) {
			t.Errorf("AddFace with %s: %v, want %v", c.what, err, c.err)
		}
	}
	if np, nf := g.Size(); np != 1 || nf != 1 {
		t.Errorf("Size after the refused faces = %d, %d; want 1, 1", np, nf)
	}
	if n := countRows(t, s, "faces"); n != 1 {
		t.Errorf("%d faces stored after the refused ones, want 1", n)
	}
}

// TestGalleryMultiModel enrols faces described by two models, of two
// lengths, and finds the people through a gallery of either model over the
// same store.
func TestGalleryMultiModel(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{})
		g := openGallery(t, s)
		rng := rand.New(rand.NewPCG(37, 37))
		const other, otherDim = "other-model@2", 64
		both := func() Face {
			f := testFace(rng)
			f.Descriptors[other] = randDescriptorN(rng, otherDim)
			return f
		}
		type enrolled struct {
			id    string
			faces []Face
		}
		var people []enrolled
		for i := range 5 {
			f := both()
			p, stored, err := g.Enroll(ctx, fmt.Sprintf("p%d", i), nil, f)
			if err != nil {
				t.Fatal(err)
			}
			if !sameDescriptors(stored.Descriptors, f.Descriptors) {
				t.Errorf("Enroll stored %v, want %v", stored.Descriptors, f.Descriptors)
			}
			people = append(people, enrolled{p.ID, []Face{stored}})
		}
		added, err := g.AddFace(ctx, people[0].id, both())
		if err != nil {
			t.Fatal(err)
		}
		if len(added.Descriptors) != 2 {
			t.Errorf("AddFace stored %v, want both models' descriptors", added.Descriptors)
		}
		people[0].faces = append(people[0].faces, added)
		// Each gallery indexes its own model's descriptor of every face.
		if np, nf := g.Size(); np != 5 || nf != 6 {
			t.Errorf("Size = %d, %d; want 5, 6", np, nf)
		}
		g2, err := Open(ctx, s, other, otherDim)
		if err != nil {
			t.Fatalf("Open(%s) over faces that all have its descriptor: %v", other, err)
		}
		if g2.Dim() != otherDim {
			t.Errorf("Dim = %d, want %d", g2.Dim(), otherDim)
		}
		if np, nf := g2.Size(); np != 5 || nf != 6 {
			t.Errorf("%s Size = %d, %d; want 5, 6", other, np, nf)
		}
		for _, e := range people {
			for _, f := range e.faces {
				for _, gal := range []*Gallery{g, g2} {
					d := f.Descriptors[gal.Model()]
					ms, err := gal.Search(d, 1)
					if err != nil || len(ms) != 1 || ms[0].PersonID != e.id || ms[0].FaceID != f.ID || ms[0].Distance != 0 {
						t.Errorf("%s: Search by face %d's descriptor = %v, %v", gal.Model(), f.ID, ms, err)
					}
					if m, err := gal.Nearest(ctx, e.id, d); err != nil || m.Distance != 0 {
						t.Errorf("%s: Nearest by face %d's descriptor = %+v, %v", gal.Model(), f.ID, m, err)
					}
				}
			}
		}
		// Descriptors of one model are no query for the other's gallery.
		if _, err := g2.Search(people[0].faces[0].Descriptors[testModel], 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("Search of %s by a %s descriptor: %v, want ErrInvalid", other, testModel, err)
		}
		// A face enrolled through the second gallery with its model only
		// is stored, and the first gallery reports it when it reopens.
		only, _, err := g2.Enroll(ctx, "only other", nil, modelFace(other, randDescriptorN(rng, otherDim)))
		if err != nil {
			t.Fatal(err)
		}
		g3, err := Open(ctx, s, testModel, testDim)
		if !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), `1 face was described by "other-model@2"`) {
			t.Errorf("reopening %s over a face of %s only: %v", testModel, other, err)
		}
		if _, err := g3.Nearest(ctx, only.ID, randDescriptor(rng)); !errors.Is(err, ErrModelMismatch) {
			t.Errorf("Nearest of a person without a %s face: %v, want ErrModelMismatch", testModel, err)
		}
	})
}

func TestGalleryModelMismatch(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteTest(t, Options{})
	rng := rand.New(rand.NewPCG(31, 31))
	const old, older = "old-model@0.9", "older-model@0.1"
	var oldID string
	for i := range 3 {
		p, _, err := s.Enroll(ctx, fmt.Sprintf("old %d", i), nil, modelFace(old, randDescriptorN(rng, 64)))
		if err != nil {
			t.Fatal(err)
		}
		oldID = p.ID
	}
	if _, _, err := s.Enroll(ctx, "older", nil, modelFace(older, randDescriptorN(rng, 32))); err != nil {
		t.Fatal(err)
	}
	cur, _, err := s.Enroll(ctx, "current", nil, testFace(rng))
	if err != nil {
		t.Fatal(err)
	}
	// A face that also has an old descriptor is loaded, not counted.
	f := testFace(rng)
	f.Descriptors[old] = randDescriptorN(rng, 64)
	mixed, _, err := s.Enroll(ctx, "mixed", nil, f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(ctx, s, testModel, testDim)
	if !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("Open over faces of other models: %v, want ErrModelMismatch", err)
	}
	for _, want := range []string{`3 faces were described by "old-model@0.9"`, `1 face was described by "older-model@0.1"`, `"test-model@1"`, "re-enrol", "re-embed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not mention %q", err, want)
		}
	}
	// The gallery returned with the error holds this model's descriptors
	// only: the old ones are never compared.
	if g == nil {
		t.Fatal("Open returned no gallery with the mismatch error")
	}
	if p, f := g.Size(); p != 2 || f != 2 {
		t.Errorf("Size = %d, %d; want only the faces with the current model's descriptor", p, f)
	}
	ms, err := g.Search(randDescriptor(rng), 10)
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.PersonID)
	}
	slices.Sort(ids)
	want := []string{cur.ID, mixed.ID}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) {
		t.Errorf("Search compared other models' faces: %v, %v", ms, err)
	}
	f = modelFace(old, randDescriptorN(rng, 64))
	if _, _, err := g.Enroll(ctx, "x", nil, f); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("Enroll with another model: %v", err)
	}
	if _, err := g.AddFace(ctx, cur.ID, f); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("AddFace with another model: %v", err)
	}
	// Someone with only old faces has no match to give.
	if _, err := g.Nearest(ctx, oldID, randDescriptor(rng)); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("Nearest of a person with only old faces: %v", err)
	}
	if _, err := g.Nearest(ctx, mixed.ID, randDescriptor(rng)); err != nil {
		t.Errorf("Nearest of a person with a face of both models: %v", err)
	}
	// Without kept photos, Reembed can do nothing and says so.
	n, err := g.Reembed(ctx, func([]byte) ([]float32, error) { t.Fatal("fn called without photos"); return nil, nil })
	if n != 0 || !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), "4 faces have no kept photo") {
		t.Errorf("Reembed without photos = %d, %v", n, err)
	}
	if _, err := Open(ctx, s, "", testDim); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with no model: %v", err)
	}
	for _, dim := range []int{0, -1, MaxDescriptorSize + 1} {
		if _, err := Open(ctx, s, testModel, dim); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open with descriptors of %d values: %v, want ErrInvalid", dim, err)
		}
	}
	// The largest length is a valid one: this model has no descriptors in
	// the store, so every face is reported.
	g, err = Open(ctx, s, "huge@1", MaxDescriptorSize)
	if !errors.Is(err, ErrModelMismatch) || errors.Is(err, ErrInvalid) || g == nil || g.Dim() != MaxDescriptorSize {
		t.Errorf("Open with descriptors of %d values: %v", MaxDescriptorSize, err)
	}
}

// fakeEmbed stands for the new model: a descriptor that depends only on
// the photo bytes.
func fakeEmbed(photo []byte) ([]float32, error) {
	if len(photo) == 0 {
		return nil, errors.New("no face")
	}
	sum := sha256.Sum256(photo)
	var seed [2]uint64
	for i := range 16 {
		seed[i/8] = seed[i/8]<<8 | uint64(sum[i])
	}
	return randDescriptor(rand.New(rand.NewPCG(seed[0], seed[1]))), nil
}

// TestGalleryReembed migrates a store whose faces have descriptors of an
// old model (of another length) to the gallery's model, and checks that the
// old descriptors stay usable beside the new ones.
func TestGalleryReembed(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteTest(t, Options{KeepPhotos: true})
	rng := rand.New(rand.NewPCG(32, 32))
	const old, oldDim = "old-model@0.9", 64
	type enrolled struct {
		photo []byte
		old   []float32
	}
	people := map[string]enrolled{}
	for i := range 5 {
		f := modelFace(old, randDescriptorN(rng, oldDim))
		f.Photo = []byte(fmt.Sprintf("photo of %d", i))
		p, _, err := s.Enroll(ctx, fmt.Sprintf("p%d", i), nil, f)
		if err != nil {
			t.Fatal(err)
		}
		people[p.ID] = enrolled{f.Photo, f.Descriptors[old]}
	}
	g, err := Open(ctx, s, testModel, testDim)
	if !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("Open: %v", err)
	}
	n, err := g.Reembed(ctx, fakeEmbed)
	if err != nil || n != 5 {
		t.Fatalf("Reembed = %d, %v; want 5", n, err)
	}
	if p, f := g.Size(); p != 5 || f != 5 {
		t.Errorf("Size after Reembed = %d, %d", p, f)
	}
	// Every face has the new model's descriptor now: Open succeeds, and
	// every person is found by the new model's descriptor of their photo.
	g2, err := Open(ctx, s, testModel, testDim)
	if err != nil {
		t.Fatalf("Open after Reembed: %v", err)
	}
	// The old descriptors stay, so a node still on the old model finds
	// everyone as before, without a mismatch.
	gOld, err := Open(ctx, s, old, oldDim)
	if err != nil {
		t.Fatalf("Open(%s) after Reembed: %v", old, err)
	}
	for id, e := range people {
		d, _ := fakeEmbed(e.photo)
		for _, gal := range []*Gallery{g, g2} {
			ms, err := gal.Search(d, 1)
			if err != nil || len(ms) != 1 || ms[0].PersonID != id || ms[0].Distance != 0 {
				t.Errorf("after Reembed, %s's photo finds %v, %v", id, ms, err)
			}
		}
		if ms, err := gOld.Search(e.old, 1); err != nil || len(ms) != 1 || ms[0].PersonID != id || ms[0].Distance != 0 {
			t.Errorf("after Reembed, %s's old descriptor finds %v, %v", id, ms, err)
		}
		faces, err := s.PersonFaces(ctx, id, false)
		want := map[string][]float32{old: e.old, testModel: d}
		if err != nil || len(faces) != 1 || !sameDescriptors(faces[0].Descriptors, want) {
			t.Errorf("after Reembed, %s's faces are %+v, %v; want descriptors %v", id, faces, err, want)
		}
	}
	// Faces that have the model's descriptor are not described again.
	n, err = g2.Reembed(ctx, func([]byte) ([]float32, error) {
		t.Error("fn called for a face that has the model's descriptor")
		return nil, errors.New("called")
	})
	if n != 0 || err != nil {
		t.Errorf("second Reembed = %d, %v; want nothing to do", n, err)
	}
	// An embedding failure stops Reembed with the cause, and so does a
	// descriptor of the wrong length; neither stores anything.
	f := modelFace(old, randDescriptorN(rng, oldDim))
	f.Photo = []byte("x")
	late, _, err := s.Enroll(ctx, "late", nil, f)
	if err != nil {
		t.Fatal(err)
	}
	// The late person's second face has the model's descriptor already,
	// which Reembed must leave as it is.
	kept := modelFace(testModel, randDescriptor(rng))
	kept.Photo = []byte("kept photo")
	if _, err := g2.AddFace(ctx, late.ID, kept); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := g2.Reembed(ctx, func([]byte) ([]float32, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("Reembed with a failing fn: %v", err)
	}
	if _, err := g2.Reembed(ctx, func([]byte) ([]float32, error) { return make([]float32, 3), nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("Reembed with a bad descriptor: %v", err)
	}
	if faces, err := s.PersonFaces(ctx, late.ID, false); err != nil || len(faces) != 2 || len(faces[0].Descriptors) != 1 {
		t.Errorf("after the failed Reembeds the late faces are %+v, %v; want the first with its old descriptor only", faces, err)
	}
	if p, f := g2.Size(); p != 6 || f != 6 {
		t.Errorf("Size after the failed Reembeds = %d, %d; want 6, 6", p, f)
	}
	// Run again, Reembed picks up where it stopped.
	if n, err := g2.Reembed(ctx, fakeEmbed); n != 1 || err != nil {
		t.Errorf("Reembed after the failures = %d, %v; want 1", n, err)
	}
	d, _ := fakeEmbed(f.Photo)
	if m, err := g2.Nearest(ctx, late.ID, d); err != nil || m.Distance != 0 {
		t.Errorf("the late face after Reembed: %+v, %v", m, err)
	}
	faces, err := s.PersonFaces(ctx, late.ID, false)
	if err != nil || len(faces) != 2 || !sameDescriptors(faces[1].Descriptors, kept.Descriptors) {
		t.Errorf("Reembed changed a face that had the model's descriptor: %+v, %v", faces, err)
	}
	if p, f := g2.Size(); p != 6 || f != 7 {
		t.Errorf("Size after the last Reembed = %d, %d; want 6, 7", p, f)
	}
}

// exportedPeople parses an export, with face IDs cleared (Import gives new
// ones) and faces' person IDs checked against their line.
func exportedPeople(t *testing.T, b []byte) []exportPerson {
	t.Helper()
	var out []exportPerson
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var p exportPerson
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatalf("line %d is not one JSON person: %v", i+1, err)
		}
		for j := range p.Faces {
			if p.Faces[j].PersonID != p.ID {
				t.Errorf("line %d: face of %s under %s", i+1, p.Faces[j].PersonID, p.ID)
			}
			p.Faces[j].ID = 0
		}
		out = append(out, p)
	}
	return out
}

func TestGalleryExportImport(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(33, 33))
	src := openGallery(t, openSQLiteTest(t, Options{KeepPhotos: true}))
	for i := range 12 {
		f := testFace(rng)
		if i%2 == 0 {
			f.Photo = []byte(fmt.Sprintf("\x00binary photo %d\xff", i))
		}
		// Some faces carry a second model's descriptor: the export is of
		// the whole store, not of the gallery's model.
		if i%4 == 0 {
			f.Descriptors["other@2"] = randDescriptorN(rng, 64)
		}
		meta := map[string]string{"i": fmt.Sprint(i)}
		p, _, err := src.Enroll(ctx, fmt.Sprintf("Person %d", i), meta, f)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := src.AddFace(ctx, p.ID, testFace(rng)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var first bytes.Buffer
	if err := src.Export(ctx, &first); err != nil {
		t.Fatal(err)
	}
	want := exportedPeople(t, first.Bytes())
	if len(want) != 12 || len(want[0].Faces) != 2 || want[0].Faces[0].Photo == nil || want[0].Name != "Person 0" ||
		len(want[0].Faces[0].Descriptors) != 2 || len(want[0].Faces[1].Descriptors) != 1 {
		t.Fatalf("export = %+v", want)
	}
	// Export writes the current format only: descriptors by model, never
	// the old single descriptor with its model.
	for _, key := range []string{`"descriptor":`, `"model":`} {
		if bytes.Contains(first.Bytes(), []byte(key)) {
			t.Errorf("the export has the old key %s", key)
		}
	}
	if !bytes.Contains(first.Bytes(), []byte(`"descriptors":{"other@2":[`)) {
		t.Errorf("the export has no descriptors by model:\n%s", first.Bytes())
	}

	// SQLite → SQLite, and through PostgreSQL when there is one.
	for _, dst := range stores {
		t.Run("to "+dst.name, func(t *testing.T) {
			g := openGallery(t, dst.open(t, Options{KeepPhotos: true}))
			n, err := g.Import(ctx, bytes.NewReader(first.Bytes()))
			if err != nil || n != 12 {
				t.Fatalf("Import = %d, %v; want 12", n, err)
			}
			var again bytes.Buffer
			if err := g.Export(ctx, &again); err != nil {
				t.Fatal(err)
			}
			got := exportedPeople(t, again.Bytes())
			if !equalJSON(t, got, want) {
				t.Errorf("round trip changed the gallery:\n got %s\nwant %s", again.Bytes(), first.Bytes())
			}
			// The imported faces are indexed and found.
			sp, sf := src.Size()
			if p, f := g.Size(); p != sp || f != sf {
				t.Errorf("Size after import = %d, %d; want %d, %d", p, f, sp, sf)
			}
			for _, p := range want {
				ms, err := g.Search(p.Faces[0].Descriptors[testModel], 1)
				if err != nil || len(ms) != 1 || ms[0].PersonID != p.ID || ms[0].Distance != 0 {
					t.Errorf("imported %s not found: %v, %v", p.ID, ms, err)
				}
			}
			// Importing again collides with the people already there.
			if n, err := g.Import(ctx, bytes.NewReader(first.Bytes())); n != 0 || !errors.Is(err, ErrExists) {
				t.Errorf("second Import = %d, %v; want ErrExists", n, err)
			}
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// faces wraps faces as exported.
func faces(fs ...Face) []exportFace {
	out := make([]exportFace, len(fs))
	for i, f := range fs {
		out[i] = exportFace{Face: f}
	}
	return out
}

func TestGalleryImportErrors(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(34, 34))
	s := openSQLiteTest(t, Options{})
	g := openGallery(t, s)
	line := func(p exportPerson) string {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	good := exportPerson{ID: "good1", Name: "Good", Faces: faces(testFace(rng))}
	otherModel := modelFace("other@1", randDescriptor(rng))
	short := modelFace(testModel, randDescriptorN(rng, testDim-1))
	badOther := testFace(rng)
	badOther.Descriptors["other@1"] = []float32{}
	bothForms := exportFace{Face: testFace(rng), Descriptor: randDescriptor(rng), Model: testModel}
	modelOnly := exportFace{Face: testFace(rng), Model: testModel}
	cases := []struct {
		name  string
		input string
		n     int
		err   error
	}{
		{"not JSON", line(good) + "{oops\n", 1, ErrInvalid},
		{"unknown field", `{"id":"x","name":"X","faces":[],"extra":1}` + "\n", 0, ErrInvalid},
		{"other model", line(exportPerson{ID: "m", Name: "M", Faces: faces(otherModel)}), 0, ErrModelMismatch},
		{"no descriptors", line(exportPerson{ID: "nd", Name: "N", Faces: faces(Face{Score: 1})}), 0, ErrModelMismatch},
		{"no id", line(exportPerson{Name: "N", Faces: faces(testFace(rng))}), 0, ErrInvalid},
		{"no faces", line(exportPerson{ID: "nf", Name: "N"}), 0, ErrInvalid},
		{"short descriptor", line(exportPerson{ID: "sd", Name: "N", Faces: faces(short)}), 0, ErrInvalid},
		{"bad descriptor of another model", line(exportPerson{ID: "bo", Name: "N", Faces: faces(badOther)}), 0, ErrInvalid},
		// Restore is one transaction: the bad second face keeps the good
		// first one out too.
		{"bad second face", line(exportPerson{ID: "b2", Name: "N", Faces: faces(testFace(rng), badOther)}), 0, ErrInvalid},
		// A face is in the current format or the old one, not both.
		{"both formats", line(exportPerson{ID: "bf", Name: "N", Faces: []exportFace{bothForms}}), 0, ErrInvalid},
		{"descriptors and an old model", line(exportPerson{ID: "bm", Name: "N", Faces: []exportFace{modelOnly}}), 0, ErrInvalid},
	}
	for _, c := range cases {
		n, err := g.Import(ctx, strings.NewReader(c.input))
		if n != c.n || !errors.Is(err, c.err) {
			t.Errorf("%s: Import = %d, %v; want %d, %v", c.name, n, err, c.n, c.err)
		}
	}
	if p, _ := g.Size(); p != 1 {
		t.Errorf("%d people indexed after the failed imports, want 1 (good1)", p)
	}
	for _, table := range []string{"people", "faces", "descriptors"} {
		if n := countRows(t, s, table); n != 1 {
			t.Errorf("%d %s stored after the failed imports, want 1 (good1's)", n, table)
		}
	}
	if n, err := g.Import(ctx, strings.NewReader("")); n != 0 || err != nil {
		t.Errorf("empty import = %d, %v", n, err)
	}
}

// TestGalleryImportOldFormat imports lines as Export wrote them before a
// face held descriptors by model: each face had one "descriptor" and the
// "model" that made it.
func TestGalleryImportOldFormat(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(38, 38))
	s := openSQLiteTest(t, Options{KeepPhotos: true})
	g := openGallery(t, s)
	// The Face of then, field by field in its order.
	oldLine := func(id, model string, d []float32) string {
		desc, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`{"id":%q,"name":"Old Export","metadata":{"k":"v"},"created":"2021-03-04T05:06:07.000008Z",`+
			`"faces":[{"id":7,"person_id":%[1]q,"descriptor":%s,"model":%q,"score":0.75,"created":"2021-03-04T05:06:08.000009Z","photo":"cGhvdG8="}]}`+"\n",
			id, desc, model)
	}
	d := randDescriptor(rng)
	if n, err := g.Import(ctx, strings.NewReader(oldLine("old1", testModel, d))); n != 1 || err != nil {
		t.Fatalf("Import of an old-format line = %d, %v", n, err)
	}
	p, err := s.Person(ctx, "old1")
	if err != nil || p.Name != "Old Export" || p.Metadata["k"] != "v" || p.Faces != 1 ||
		!p.Created.Equal(time.Date(2021, 3, 4, 5, 6, 7, 8000, time.UTC)) {
		t.Errorf("imported person = %+v, %v", p, err)
	}
	stored, err := s.PersonFaces(ctx, "old1", true)
	if err != nil || len(stored) != 1 {
		t.Fatalf("imported faces = %+v, %v", stored, err)
	}
	f := stored[0]
	if !sameDescriptors(f.Descriptors, map[string][]float32{testModel: d}) || f.Score != 0.75 ||
		string(f.Photo) != "photo" || !f.Created.Equal(time.Date(2021, 3, 4, 5, 6, 8, 9000, time.UTC)) {
		t.Errorf("imported face = %+v", f)
	}
	if ms, err := g.Search(d, 1); err != nil || len(ms) != 1 || ms[0].PersonID != "old1" || ms[0].Distance != 0 {
		t.Errorf("the imported face is not found: %v, %v", ms, err)
	}
	// Exported again, it is in the current format.
	var out bytes.Buffer
	if err := g.Export(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte(`"descriptor":`)) || !bytes.Contains(out.Bytes(), []byte(`"descriptors":{"test-model@1":[`)) {
		t.Errorf("re-export of an old-format import:\n%s", out.Bytes())
	}
	// The old format's model is checked like the new one's.
	if n, err := g.Import(ctx, strings.NewReader(oldLine("old2", "old-model@0.9", d))); n != 0 || !errors.Is(err, ErrModelMismatch) {
		t.Errorf("Import of an old-format line of another model = %d, %v; want ErrModelMismatch", n, err)
	}
	if n, err := g.Import(ctx, strings.NewReader(oldLine("old3", testModel, d[:10]))); n != 0 || !errors.Is(err, ErrInvalid) {
		t.Errorf("Import of an old-format line with a short descriptor = %d, %v; want ErrInvalid", n, err)
	}
	// Both formats in one face is no export either version wrote.
	both := strings.Replace(oldLine("old4", testModel, d), `"score"`, `"descriptors":{"test-model@1":[1]},"score"`, 1)
	if n, err := g.Import(ctx, strings.NewReader(both)); n != 0 || !errors.Is(err, ErrInvalid) {
		t.Errorf("Import of a face in both formats = %d, %v; want ErrInvalid", n, err)
	}
	if p, f := g.Size(); p != 1 || f != 1 {
		t.Errorf("Size after the refused lines = %d, %d; want 1, 1", p, f)
	}
}

// TestGalleryConcurrentConsistency runs enrolments, added faces, deletions
// and searches at once, then checks that the index holds exactly the
// store's faces; run it with -race.
func TestGalleryConcurrentConsistency(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteTest(t, Options{})
	g := openGallery(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var everyone []string
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 35))
			for i := range 15 {
				p, _, err := g.Enroll(ctx, fmt.Sprintf("w%d-%d", w, i), nil, testFace(rng))
				if err != nil {
					t.Error(err)
					return
				}
				// Add a face to, or delete, a random person enrolled by
				// any worker, so that adds and deletes of one person race.
				mu.Lock()
				everyone = append(everyone, p.ID)
				victim := everyone[rng.IntN(len(everyone))]
				mu.Unlock()
				if i%2 == 0 {
					if _, err := g.AddFace(ctx, victim, testFace(rng)); err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
					}
				} else if err := g.DeletePerson(ctx, victim); err != nil && !errors.Is(err, ErrNotFound) {
					t.Error(err)
				}
				if _, err := g.Search(randDescriptor(rng), 5); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var stored []int64
	s.Faces(ctx, func(f Face) error { stored = append(stored, f.ID); return nil })
	indexed := slices.Clone(g.index.faceIDs)
	slices.Sort(indexed)
	if !slices.Equal(indexed, stored) {
		t.Errorf("index holds faces %v,\nstore holds %v", indexed, stored)
	}
}
