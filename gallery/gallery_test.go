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
)

// noisy returns d moved by a random offset of about the given norm, and
// renormalized, like a second photo of the same face.
func noisy(rng *rand.Rand, d []float32, norm float64) []float32 {
	n := randDescriptor(rng)
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
	g, err := Open(context.Background(), s, testModel)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGalleryIdentifyVerify(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{})
		g := openGallery(t, s)
		rng := rand.New(rand.NewPCG(30, 30))
		type enrolled struct {
			id   string
			desc []float32
		}
		var people []enrolled
		for i := range 30 {
			d := randDescriptor(rng)
			p, _, err := g.Enroll(ctx, fmt.Sprintf("person %d", i), nil, Face{Descriptor: d, Score: 0.9})
			if err != nil {
				t.Fatal(err)
			}
			people = append(people, enrolled{p.ID, d})
		}
		if p, f := g.Size(); p != 30 || f != 30 {
			t.Fatalf("Size = %d, %d; want 30, 30", p, f)
		}
		for _, e := range people {
			q := noisy(rng, e.desc, 0.3)
			best, cands := g.Identify(q, 3, 0.6)
			if best == nil || best.PersonID != e.id || len(cands) != 3 || cands[0] != *best {
				t.Fatalf("Identify(%s) = %v, %v", e.id, best, cands)
			}
			// Random unit vectors are ~1.41 apart: far beyond 0.6.
			if best, _ := g.Identify(randDescriptor(rng), 3, 0.6); best != nil {
				t.Errorf("a stranger was identified as %v", best)
			}
			// With a threshold at or below the distance, the same probe is
			// unknown.
			if b, _ := g.Identify(q, 1, cands[0].Distance); b != nil {
				t.Errorf("threshold equal to the distance still matched")
			}
			d, same, err := g.Verify(ctx, e.id, q, 0.6)
			if err != nil || !same || math.Abs(d-cands[0].Distance) > 1e-6 {
				t.Errorf("Verify(own probe) = %g, %v, %v; Identify said %g", d, same, err, cands[0].Distance)
			}
			other := people[(slices.IndexFunc(people, func(o enrolled) bool { return o.id == e.id })+1)%len(people)]
			if _, same, err := g.Verify(ctx, other.id, q, 0.6); err != nil || same {
				t.Errorf("Verify(someone else's probe) = %v, %v", same, err)
			}
		}
		if _, _, err := g.Verify(ctx, "0000000000000000", people[0].desc, 0.6); !errors.Is(err, ErrNotFound) {
			t.Errorf("Verify of an unknown person: %v", err)
		}
		if _, _, err := g.Verify(ctx, people[0].id, people[0].desc[:5], 0.6); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify with a short probe: %v", err)
		}

		// A second face makes the person match a probe near it.
		d2 := randDescriptor(rng)
		if _, err := g.AddFace(ctx, people[0].id, Face{Descriptor: d2}); err != nil {
			t.Fatal(err)
		}
		if best, _ := g.Identify(noisy(rng, d2, 0.2), 1, 0.6); best == nil || best.PersonID != people[0].id {
			t.Errorf("probe near the added face: %v", best)
		}
		if _, err := g.AddFace(ctx, "0000000000000000", Face{Descriptor: d2}); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddFace to nobody: %v", err)
		}
		if p, f := g.Size(); p != 30 || f != 31 {
			t.Errorf("Size = %d, %d; want 30, 31", p, f)
		}

		// Deleting removes the person from store and index alike.
		if err := g.DeletePerson(ctx, people[0].id); err != nil {
			t.Fatal(err)
		}
		if best, _ := g.Identify(people[0].desc, 1, 0.6); best != nil && best.PersonID == people[0].id {
			t.Error("a deleted person is still identified")
		}
		if _, _, err := g.Verify(ctx, people[0].id, people[0].desc, 0.6); !errors.Is(err, ErrNotFound) {
			t.Errorf("Verify of a deleted person: %v", err)
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
		best, _ := g2.Identify(noisy(rng, people[5].desc, 0.3), 1, 0.6)
		if best == nil || best.PersonID != people[5].id {
			t.Errorf("reopened gallery: %v", best)
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

func TestGalleryModelMismatch(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteTest(t, Options{})
	rng := rand.New(rand.NewPCG(31, 31))
	old := "old-model@0.9"
	for i := range 3 {
		f := testFace(rng)
		f.Model = old
		if _, _, err := s.Enroll(ctx, fmt.Sprintf("old %d", i), nil, f); err != nil {
			t.Fatal(err)
		}
	}
	cur, _, err := s.Enroll(ctx, "current", nil, testFace(rng))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(ctx, s, testModel)
	if !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("Open over faces of another model: %v, want ErrModelMismatch", err)
	}
	for _, want := range []string{"3 made by", old, "Reembed", "re-enrol"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not mention %q", err, want)
		}
	}
	// The gallery returned with the error holds this model's faces only:
	// the old descriptors are never compared.
	if g == nil {
		t.Fatal("Open returned no gallery with the mismatch error")
	}
	if p, f := g.Size(); p != 1 || f != 1 {
		t.Errorf("Size = %d, %d; want only the current model's face", p, f)
	}
	_, cands := g.Identify(randDescriptor(rng), 10, 0.6)
	if len(cands) != 1 || cands[0].PersonID != cur.ID {
		t.Errorf("Identify compared other models' faces: %v", cands)
	}
	f := testFace(rng)
	f.Model = old
	if _, _, err := g.Enroll(ctx, "x", nil, f); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("Enroll with another model: %v", err)
	}
	if _, err := g.AddFace(ctx, cur.ID, f); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("AddFace with another model: %v", err)
	}
	// Someone with only old faces cannot be verified.
	var oldID string
	s.Faces(ctx, func(f Face) error {
		if f.Model == old {
			oldID = f.PersonID
		}
		return nil
	})
	if _, _, err := g.Verify(ctx, oldID, randDescriptor(rng), 0.6); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("Verify of a person with only old faces: %v", err)
	}
	// Without kept photos, Reembed can do nothing and says so.
	n, err := g.Reembed(ctx, func([]byte) ([]float32, error) { t.Fatal("fn called without photos"); return nil, nil })
	if n != 0 || !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), "3 faces have no kept photo") {
		t.Errorf("Reembed without photos = %d, %v", n, err)
	}
	if _, err := Open(ctx, s, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with no model: %v", err)
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

func TestGalleryReembed(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteTest(t, Options{KeepPhotos: true})
	rng := rand.New(rand.NewPCG(32, 32))
	old := "old-model@0.9"
	ids := map[string][]byte{}
	for i := range 5 {
		f := testFace(rng)
		f.Model = old
		f.Photo = []byte(fmt.Sprintf("photo of %d", i))
		p, _, err := s.Enroll(ctx, fmt.Sprintf("p%d", i), nil, f)
		if err != nil {
			t.Fatal(err)
		}
		ids[p.ID] = f.Photo
	}
	g, err := Open(ctx, s, testModel)
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
	// Nothing of the old model is left: Open succeeds, and every person is
	// found by the new model's descriptor of their photo.
	g2, err := Open(ctx, s, testModel)
	if err != nil {
		t.Fatalf("Open after Reembed: %v", err)
	}
	for id, photo := range ids {
		d, _ := fakeEmbed(photo)
		for _, gal := range []*Gallery{g, g2} {
			best, _ := gal.Identify(d, 1, 0.01)
			if best == nil || best.PersonID != id || best.Distance != 0 {
				t.Errorf("after Reembed, %s's photo identifies %v", id, best)
			}
		}
	}
	if n, err := g2.Reembed(ctx, fakeEmbed); n != 0 || err != nil {
		t.Errorf("second Reembed = %d, %v; want nothing to do", n, err)
	}
	// An embedding failure stops Reembed with the cause.
	f := testFace(rng)
	f.Model, f.Photo = old, []byte("x")
	if _, _, err := s.Enroll(ctx, "late", nil, f); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := g2.Reembed(ctx, func([]byte) ([]float32, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("Reembed with a failing fn: %v", err)
	}
	if _, err := g2.Reembed(ctx, func([]byte) ([]float32, error) { return make([]float32, 3), nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("Reembed with a bad descriptor: %v", err)
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
	if len(want) != 12 || len(want[0].Faces) != 2 || want[0].Faces[0].Photo == nil || want[0].Name != "Person 0" {
		t.Fatalf("export = %+v", want)
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
				best, _ := g.Identify(p.Faces[0].Descriptor, 1, 0.01)
				if best == nil || best.PersonID != p.ID {
					t.Errorf("imported %s not identified: %v", p.ID, best)
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

func TestGalleryImportErrors(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(34, 34))
	g := openGallery(t, openSQLiteTest(t, Options{}))
	line := func(p exportPerson) string {
		b, _ := json.Marshal(p)
		return string(b) + "\n"
	}
	good := exportPerson{ID: "good1", Name: "Good", Faces: []Face{testFace(rng)}}
	otherModel := testFace(rng)
	otherModel.Model = "other@1"
	noDesc := testFace(rng)
	noDesc.Descriptor = nil
	cases := []struct {
		name  string
		input string
		n     int
		err   error
	}{
		{"not JSON", line(good) + "{oops\n", 1, ErrInvalid},
		{"unknown field", `{"id":"x","name":"X","faces":[],"extra":1}` + "\n", 0, ErrInvalid},
		{"other model", line(exportPerson{ID: "m", Name: "M", Faces: []Face{otherModel}}), 0, ErrModelMismatch},
		{"no id", line(exportPerson{Name: "N", Faces: []Face{testFace(rng)}}), 0, ErrInvalid},
		{"no faces", line(exportPerson{ID: "nf", Name: "N"}), 0, ErrInvalid},
		{"bad descriptor", line(exportPerson{ID: "bd", Name: "N", Faces: []Face{noDesc}}), 0, ErrInvalid},
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
	if n, err := g.Import(ctx, strings.NewReader("")); n != 0 || err != nil {
		t.Errorf("empty import = %d, %v", n, err)
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
				g.Identify(randDescriptor(rng), 5, 0.6)
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
