package gallery

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testModel is the model ID the tests store faces under, and testDim the
// length of its descriptors (any length in 1..MaxDescriptorSize works; 128
// is face-api's).
const (
	testModel = "test-model@1"
	testDim   = 128
)

// openFunc opens a fresh, empty store for one test.
type openFunc func(t *testing.T, opt Options) Store

// stores lists the stores every Store test runs against; PostgreSQL skips
// itself when FACEREC_TEST_POSTGRES is unset.
var stores = []struct {
	name string
	open openFunc
}{
	{"sqlite", openSQLiteTest},
	{"postgres", openPostgresTest},
}

func openSQLiteTest(t *testing.T, opt Options) Store {
	t.Helper()
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "gallery.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// randDescriptor returns a random unit-norm descriptor of testDim values,
// like the ones the recognition network makes.
func randDescriptor(rng *rand.Rand) []float32 { return randDescriptorN(rng, testDim) }

// randDescriptorN returns a random unit-norm descriptor of n values, for
// models of other lengths.
func randDescriptorN(rng *rand.Rand, n int) []float32 {
	d := make([]float32, n)
	var sq float64
	for i := range d {
		v := rng.NormFloat64()
		d[i] = float32(v)
		sq += v * v
	}
	s := float32(1 / math.Sqrt(sq))
	for i := range d {
		d[i] *= s
	}
	return d
}

// testFace returns a face with one descriptor, of testModel.
func testFace(rng *rand.Rand) Face {
	return Face{Descriptors: map[string][]float32{testModel: randDescriptor(rng)}, Score: 0.5 + rng.Float64()/2}
}

// sameDescriptors reports whether two faces' descriptors are equal, model
// by model and value by value.
func sameDescriptors(a, b map[string][]float32) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

// sqlOf returns the database/sql store under s.
func sqlOf(t *testing.T, s Store) *sqlStore {
	t.Helper()
	switch s := s.(type) {
	case *SQLite:
		return s.sqlStore
	case *Postgres:
		return s.sqlStore
	}
	t.Fatalf("not an SQL store: %T", s)
	return nil
}

// countRows counts the rows of a table, read through the writer pool.
func countRows(t *testing.T, s Store, table string) int {
	t.Helper()
	var n int
	if err := sqlOf(t, s).w.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// forEachStore runs test once per store.
func forEachStore(t *testing.T, test func(t *testing.T, open openFunc)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { test(t, s.open) })
	}
}

func TestStoreCRUD(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{KeepPhotos: true})
		rng := rand.New(rand.NewPCG(1, 1))

		// A face may hold descriptors of several models, of different
		// lengths; all of them are stored.
		f1 := testFace(rng)
		f1.Descriptors["other@2"] = randDescriptorN(rng, 512)
		f1.Photo = []byte("jpeg bytes")
		meta := map[string]string{"employee": "42", "team": "Ünïcode"}
		before := time.Now().Add(-time.Second)
		p, f, err := s.Enroll(ctx, "Ada Lovelace", meta, f1)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(p.ID) {
			t.Errorf("person id %q is not 16 hex digits", p.ID)
		}
		if p.Name != "Ada Lovelace" || p.Faces != 1 || p.Created.Before(before) || f.PersonID != p.ID || f.ID == 0 {
			t.Errorf("Enroll returned %+v, %+v", p, f)
		}
		if !sameDescriptors(f.Descriptors, f1.Descriptors) || f.Score != f1.Score {
			t.Errorf("Enroll changed the face: %+v", f)
		}
		// The returned face owns its descriptors: a caller reusing its
		// buffers cannot change what Enroll reported as stored.
		if &f.Descriptors[testModel][0] == &f1.Descriptors[testModel][0] {
			t.Error("Enroll returned the caller's descriptor slice")
		}

		got, err := s.Person(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || got.Name != p.Name || got.Faces != 1 || !got.Created.Equal(p.Created) ||
			got.Metadata["employee"] != "42" || got.Metadata["team"] != "Ünïcode" || len(got.Metadata) != 2 {
			t.Errorf("Person = %+v, want %+v", got, p)
		}

		f2 := testFace(rng)
		g, err := s.AddFace(ctx, p.ID, f2)
		if err != nil {
			t.Fatal(err)
		}
		if g.ID <= f.ID || g.PersonID != p.ID {
			t.Errorf("AddFace returned %+v", g)
		}
		if got, _ := s.Person(ctx, p.ID); got.Faces != 2 {
			t.Errorf("after AddFace the person has %d faces, want 2", got.Faces)
		}

		faces, err := s.PersonFaces(ctx, p.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) != 2 || faces[0].ID != f.ID || faces[1].ID != g.ID {
			t.Fatalf("PersonFaces = %+v", faces)
		}
		if !sameDescriptors(faces[0].Descriptors, f1.Descriptors) || !sameDescriptors(faces[1].Descriptors, f2.Descriptors) {
			t.Errorf("descriptors did not round-trip exactly: %v", faces)
		}
		if string(faces[0].Photo) != "jpeg bytes" || faces[1].Photo != nil {
			t.Errorf("photos = %q, %q", faces[0].Photo, faces[1].Photo)
		}
		if !faces[0].Created.Equal(f.Created) {
			t.Errorf("face created %v, stored %v", f.Created, faces[0].Created)
		}
		noPhotos, err := s.PersonFaces(ctx, p.ID, false)
		if err != nil || len(noPhotos) != 2 || noPhotos[0].Photo != nil {
			t.Errorf("PersonFaces without photos = %+v, %v", noPhotos, err)
		}

		var all []Face
		if err := s.Faces(ctx, func(f Face) error { all = append(all, f); return nil }); err != nil {
			t.Fatal(err)
		}
		// Faces gives each face once, with all its descriptors, although
		// the first has two.
		if len(all) != 2 || all[0].ID != f.ID || all[1].ID != g.ID || all[0].Photo != nil ||
			!sameDescriptors(all[0].Descriptors, f1.Descriptors) || !sameDescriptors(all[1].Descriptors, f2.Descriptors) {
			t.Errorf("Faces = %+v", all)
		}
		stop := errors.New("stop")
		if err := s.Faces(ctx, func(Face) error { return stop }); err != stop {
			t.Errorf("Faces did not pass the callback's error through: %v", err)
		}

		// PutDescriptor adds a model's descriptor beside the others...
		d3 := randDescriptorN(rng, 64)
		if err := s.PutDescriptor(ctx, g.ID, "third@3", d3); err != nil {
			t.Fatal(err)
		}
		faces, _ = s.PersonFaces(ctx, p.ID, false)
		want := maps.Clone(f2.Descriptors)
		want["third@3"] = d3
		if !sameDescriptors(faces[1].Descriptors, want) {
			t.Errorf("PutDescriptor of a new model: %v, want %v", faces[1].Descriptors, want)
		}
		// ... and replaces one of the same model, leaving the others and
		// the other faces alone.
		d := randDescriptorN(rng, 512)
		if err := s.PutDescriptor(ctx, f.ID, "other@2", d); err != nil {
			t.Fatal(err)
		}
		faces, _ = s.PersonFaces(ctx, p.ID, false)
		want = map[string][]float32{testModel: f1.Descriptors[testModel], "other@2": d}
		if !sameDescriptors(faces[0].Descriptors, want) {
			t.Errorf("PutDescriptor did not replace: %v, want %v", faces[0].Descriptors, want)
		}
		if len(faces[1].Descriptors) != 2 {
			t.Errorf("PutDescriptor on face %d changed face %d: %v", f.ID, g.ID, faces[1].Descriptors)
		}
		if n := countRows(t, s, "descriptors"); n != 4 {
			t.Errorf("%d descriptors stored, want 4", n)
		}

		if err := s.DeletePerson(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Person(ctx, p.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Person after delete: %v, want ErrNotFound", err)
		}
	})
}

func TestStoreNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{})
		rng := rand.New(rand.NewPCG(2, 2))
		const missing = "0123456789abcdef"
		if _, err := s.Person(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Person: %v", err)
		}
		if _, err := s.AddFace(ctx, missing, testFace(rng)); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddFace: %v", err)
		}
		if err := s.DeletePerson(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeletePerson: %v", err)
		}
		if _, err := s.PersonFaces(ctx, missing, true); !errors.Is(err, ErrNotFound) {
			t.Errorf("PersonFaces: %v", err)
		}
		if err := s.PutDescriptor(ctx, 12345, testModel, randDescriptor(rng)); !errors.Is(err, ErrNotFound) {
			t.Errorf("PutDescriptor: %v", err)
		}
		for _, table := range []string{"faces", "descriptors"} {
			if n := countRows(t, s, table); n != 0 {
				t.Errorf("%d %s stored by failed calls", n, table)
			}
		}
	})
}

func TestStoreValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{})
		rng := rand.New(rand.NewPCG(3, 3))
		good := testFace(rng)
		p, pf, err := s.Enroll(ctx, "someone", nil, good)
		if err != nil {
			t.Fatal(err)
		}
		with := func(edit func(f *Face)) Face {
			f := testFace(rng)
			edit(&f)
			return f
		}
		nan := float32(math.NaN())
		faces := map[string]Face{
			"empty descriptor":      with(func(f *Face) { f.Descriptors[testModel] = []float32{} }),
			"long descriptor":       with(func(f *Face) { f.Descriptors[testModel] = make([]float32, MaxDescriptorSize+1) }),
			"nil descriptor":        with(func(f *Face) { f.Descriptors[testModel] = nil }),
			"NaN":                   with(func(f *Face) { f.Descriptors[testModel][5] = nan }),
			"Inf":                   with(func(f *Face) { f.Descriptors[testModel][127] = float32(math.Inf(-1)) }),
			"no descriptors":        with(func(f *Face) { f.Descriptors = nil }),
			"empty descriptors map": with(func(f *Face) { f.Descriptors = map[string][]float32{} }),
			"empty model ID":        with(func(f *Face) { f.Descriptors[""] = randDescriptor(rng) }),
			"long model ID":         with(func(f *Face) { f.Descriptors[strings.Repeat("m", maxModelBytes+1)] = randDescriptor(rng) }),
			"bad UTF-8 model":       with(func(f *Face) { f.Descriptors["bad \xff model"] = randDescriptor(rng) }),
			// One bad descriptor spoils the face, whatever model it is of.
			"bad second model": with(func(f *Face) { f.Descriptors["other@2"] = []float32{1, nan} }),
			"NaN score":        with(func(f *Face) { f.Score = math.NaN() }),
		}
		for name, f := range faces {
			if _, _, err := s.Enroll(ctx, "x", nil, f); !errors.Is(err, ErrInvalid) {
				t.Errorf("Enroll with %s: %v, want ErrInvalid", name, err)
			}
			if _, err := s.AddFace(ctx, p.ID, f); !errors.Is(err, ErrInvalid) {
				t.Errorf("AddFace with %s: %v, want ErrInvalid", name, err)
			}
		}
		names := map[string]string{
			"empty name":    "",
			"long name":     strings.Repeat("n", MaxNameBytes+1),
			"invalid UTF-8": "bad \xff name",
		}
		for what, name := range names {
			if _, _, err := s.Enroll(ctx, name, nil, good); !errors.Is(err, ErrInvalid) {
				t.Errorf("Enroll with %s: %v, want ErrInvalid", what, err)
			}
		}
		if _, _, err := s.Enroll(ctx, strings.Repeat("é", MaxNameBytes/2), nil, good); err != nil {
			t.Errorf("Enroll with a name of exactly %d bytes: %v", MaxNameBytes, err)
		}
		if _, _, err := s.Enroll(ctx, "x", map[string]string{"": "v"}, good); !errors.Is(err, ErrInvalid) {
			t.Errorf("Enroll with an empty metadata key: %v", err)
		}
		if _, _, err := s.Enroll(ctx, "x", map[string]string{"k": strings.Repeat("v", MaxMetadataBytes)}, good); !errors.Is(err, ErrInvalid) {
			t.Errorf("Enroll with huge metadata: %v", err)
		}
		for _, c := range [][2]int{{0, 0}, {-1, 0}, {10, -1}, {maxPage + 1, 0}} {
			if _, _, err := s.People(ctx, c[0], c[1]); !errors.Is(err, ErrInvalid) {
				t.Errorf("People(%d, %d): %v, want ErrInvalid", c[0], c[1], err)
			}
		}
		// PutDescriptor on a face that exists, so that only the
		// descriptor or the model ID can be what is refused.
		puts := map[string]struct {
			model string
			d     []float32
		}{
			"nil descriptor":  {testModel, nil},
			"long descriptor": {testModel, make([]float32, MaxDescriptorSize+1)},
			"NaN":             {"other@2", []float32{nan}},
			"empty model ID":  {"", randDescriptor(rng)},
			"long model ID":   {strings.Repeat("m", maxModelBytes+1), randDescriptor(rng)},
		}
		for what, c := range puts {
			if err := s.PutDescriptor(ctx, pf.ID, c.model, c.d); !errors.Is(err, ErrInvalid) {
				t.Errorf("PutDescriptor with %s: %v, want ErrInvalid", what, err)
			}
		}
		if faces, err := s.PersonFaces(ctx, p.ID, false); err != nil || len(faces) != 1 || !sameDescriptors(faces[0].Descriptors, good.Descriptors) {
			t.Errorf("after the refused PutDescriptors the face is %+v, %v", faces, err)
		}
		if _, _, err := s.Restore(ctx, Person{Name: "x"}, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Restore without faces: %v", err)
		}
		if _, _, err := s.Restore(ctx, Person{Name: "x"}, []Face{good, faces["NaN"]}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Restore with a bad second face: %v", err)
		}
		// A store takes descriptors of any length from 1 to
		// MaxDescriptorSize: the length is the model's business (Gallery).
		sizes := Face{Descriptors: map[string][]float32{"one@1": {0.5}, "max@1": make([]float32, MaxDescriptorSize)}}
		if _, stored, err := s.Enroll(ctx, "sizes", nil, sizes); err != nil || !sameDescriptors(stored.Descriptors, sizes.Descriptors) {
			t.Errorf("Enroll with descriptors of 1 and %d values: %+v, %v", MaxDescriptorSize, stored, err)
		}
		// Only the three valid enrolments are stored.
		for table, want := range map[string]int{"people": 3, "faces": 3, "descriptors": 4} {
			if n := countRows(t, s, table); n != want {
				t.Errorf("%d %s stored, want %d", n, table, want)
			}
		}
	})
}

func TestStorePagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{})
		rng := rand.New(rand.NewPCG(4, 4))
		var want []string
		for i := range 25 {
			p, _, err := s.Enroll(ctx, fmt.Sprintf("person %02d", i), nil, testFace(rng))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, p.ID)
		}
		var got []string
		for off := 0; ; off += 10 {
			page, total, err := s.People(ctx, 10, off)
			if err != nil {
				t.Fatal(err)
			}
			if total != 25 {
				t.Fatalf("total = %d, want 25", total)
			}
			if len(page) == 0 {
				break
			}
			if wantLen := min(10, 25-off); len(page) != wantLen {
				t.Fatalf("page at %d has %d people, want %d", off, len(page), wantLen)
			}
			for _, p := range page {
				if p.Faces != 1 {
					t.Errorf("%s has %d faces, want 1", p.ID, p.Faces)
				}
				got = append(got, p.ID)
			}
		}
		// Enrolments in one goroutine are in creation order.
		if !slices.Equal(got, want) {
			t.Errorf("pages list\n%v\nwant\n%v", got, want)
		}
		page, total, err := s.People(ctx, 5, 100)
		if err != nil || len(page) != 0 || page == nil || total != 25 {
			t.Errorf("People past the end = %v, %d, %v; want an empty page and 25", page, total, err)
		}
	})
}

func TestStoreCascadeDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{KeepPhotos: true})
		rng := rand.New(rand.NewPCG(5, 5))
		withPhoto := func() Face {
			f := testFace(rng)
			f.Photo = []byte(fmt.Sprintf("photo %d", rng.Int()))
			return f
		}
		// The deleted person's first face has a second model's
		// descriptor: it must go too.
		first := withPhoto()
		first.Descriptors["other@2"] = randDescriptorN(rng, 64)
		gone, _, err := s.Enroll(ctx, "to delete", nil, first)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.AddFace(ctx, gone.ID, withPhoto()); err != nil {
				t.Fatal(err)
			}
		}
		kept, keptFace, err := s.Enroll(ctx, "to keep", nil, withPhoto())
		if err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, s, "photos"); n != 4 {
			t.Fatalf("%d photos stored, want 4", n)
		}
		if err := s.DeletePerson(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePerson(ctx, gone.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if n := countRows(t, s, "faces"); n != 1 {
			t.Errorf("%d faces left, want 1", n)
		}
		if n := countRows(t, s, "photos"); n != 1 {
			t.Errorf("%d photos left, want 1", n)
		}
		if n := countRows(t, s, "descriptors"); n != 1 {
			t.Errorf("%d descriptors left, want 1", n)
		}
		var seen []string
		s.Faces(ctx, func(f Face) error { seen = append(seen, f.PersonID); return nil })
		if !slices.Equal(seen, []string{kept.ID}) {
			t.Errorf("Faces after delete belong to %v, want only %s", seen, kept.ID)
		}
		faces, err := s.PersonFaces(ctx, kept.ID, true)
		if err != nil || len(faces) != 1 || faces[0].ID != keptFace.ID || faces[0].Photo == nil {
			t.Errorf("the other person's face: %+v, %v", faces, err)
		}
	})
}

func TestStoreWithoutPhotos(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{KeepPhotos: false})
		rng := rand.New(rand.NewPCG(6, 6))
		f := testFace(rng)
		f.Photo = []byte("must not be stored")
		p, stored, err := s.Enroll(ctx, "x", nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Photo != nil {
			t.Error("Enroll returned a photo it did not keep")
		}
		faces, _ := s.PersonFaces(ctx, p.ID, true)
		if len(faces) != 1 || faces[0].Photo != nil {
			t.Errorf("PersonFaces = %+v, want no photo", faces)
		}
		if n := countRows(t, s, "photos"); n != 0 {
			t.Errorf("%d photos stored without KeepPhotos", n)
		}
	})
}

func TestStoreRestore(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{KeepPhotos: true})
		rng := rand.New(rand.NewPCG(7, 7))
		created := time.Date(2020, 2, 29, 12, 30, 0, 123456000, time.UTC)
		p := Person{ID: "restored-1", Name: "Restored", Metadata: map[string]string{"a": "b"}, Created: created}
		f := testFace(rng)
		f.Descriptors["other@2"] = randDescriptorN(rng, 512)
		f.Created = created.Add(time.Hour)
		f.Photo = []byte{0, 1, 2}
		f.ID = 999 // ignored: faces get new IDs
		rp, faces, err := s.Restore(ctx, p, []Face{f, testFace(rng)})
		if err != nil {
			t.Fatal(err)
		}
		if rp.ID != p.ID || !rp.Created.Equal(created) || rp.Faces != 2 || len(faces) != 2 {
			t.Fatalf("Restore = %+v, %+v", rp, faces)
		}
		got, err := s.Person(ctx, p.ID)
		if err != nil || got.Name != "Restored" || !got.Created.Equal(created) || got.Metadata["a"] != "b" {
			t.Errorf("restored person = %+v, %v", got, err)
		}
		stored, _ := s.PersonFaces(ctx, p.ID, true)
		if len(stored) != 2 || !stored[0].Created.Equal(f.Created) || string(stored[0].Photo) != "\x00\x01\x02" ||
			!sameDescriptors(stored[0].Descriptors, f.Descriptors) || stored[0].ID != faces[0].ID ||
			!sameDescriptors(faces[0].Descriptors, f.Descriptors) {
			t.Errorf("restored faces = %+v", stored)
		}
		if _, _, err := s.Restore(ctx, p, []Face{testFace(rng)}); !errors.Is(err, ErrExists) {
			t.Errorf("second Restore: %v, want ErrExists", err)
		}
		if n := countRows(t, s, "faces"); n != 2 {
			t.Errorf("%d faces after the refused Restore, want 2", n)
		}
	})
}

// TestStoreConcurrentWriters enrols from many goroutines at once; run it
// with -race. No write may fail (with SQLITE_BUSY or otherwise).
func TestStoreConcurrentWriters(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		s := open(t, Options{KeepPhotos: true})
		const writers, each = 16, 8
		var wg sync.WaitGroup
		errs := make(chan error, writers*each*2)
		ids := make(chan string, writers*each)
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 8))
				for i := range each {
					f := testFace(rng)
					f.Photo = []byte(fmt.Sprintf("photo %d/%d", w, i))
					p, _, err := s.Enroll(ctx, fmt.Sprintf("writer %d #%d", w, i), nil, f)
					if err != nil {
						errs <- err
						continue
					}
					ids <- p.ID
					if _, err := s.AddFace(ctx, p.ID, testFace(rng)); err != nil {
						errs <- err
					}
					// Reads interleaved with the writes.
					if _, _, err := s.People(ctx, 5, 0); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		close(ids)
		for err := range errs {
			t.Error(err)
		}
		seen := map[string]bool{}
		for id := range ids {
			if seen[id] {
				t.Errorf("duplicate person id %s", id)
			}
			seen[id] = true
		}
		_, total, err := s.People(ctx, 1, 0)
		if err != nil || total != writers*each || len(seen) != writers*each {
			t.Errorf("%d people stored (%v), %d ids returned, want %d", total, err, len(seen), writers*each)
		}
		if n := countRows(t, s, "faces"); n != 2*writers*each {
			t.Errorf("%d faces stored, want %d", n, 2*writers*each)
		}
	})
}

// TestStoreSchemaVersion checks that a fresh store is at the newest schema
// version and that opening it again migrates nothing.
func TestStoreSchemaVersion(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		s := open(t, Options{})
		st := sqlOf(t, s)
		v, err := st.schemaVersion(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if v != len(st.d.migrations) {
			t.Errorf("schema version %d, want %d", v, len(st.d.migrations))
		}
		if err := st.migrate(context.Background()); err != nil {
			t.Errorf("migrating an up-to-date store: %v", err)
		}
	})
}

// oldFace is a face as schema versions 1 and 2 stored it: one descriptor
// and the ID of the model that made it, in columns of the faces table.
type oldFace struct {
	model string
	desc  []float32
	photo []byte // in the photos table, which version 2 added
}

// oldFaces returns the faces the migration tests store in an old-schema
// database: of two models and two lengths, so that a descriptor landing
// under the wrong model, or losing values, shows. With photos, the first
// face has a kept photo (a version-2 database).
func oldFaces(rng *rand.Rand, photos bool) []oldFace {
	faces := []oldFace{
		{model: testModel, desc: randDescriptor(rng)},
		{model: "old-model@0.9", desc: randDescriptorN(rng, 64)},
	}
	if photos {
		faces[0].photo = []byte("photo kept by version 2")
	}
	return faces
}

// oldData fills a database at schema version 1 or 2 (created by hand)
// with one person and faces, through db, with ? or $n placeholders.
func oldData(t *testing.T, db *sql.DB, dollar bool, faces []oldFace) {
	t.Helper()
	d := dialect{dollar: dollar}
	if _, err := db.Exec(d.rebind(`INSERT INTO people (id, name, metadata, created_us) VALUES (?, ?, ?, ?)`),
		"oldperson", "Old Person", `{"since":"v1"}`, int64(1600000000000000)); err != nil {
		t.Fatal(err)
	}
	for i, f := range faces {
		var id int64
		if err := db.QueryRow(d.rebind(`INSERT INTO faces (person_id, descriptor, model, score, created_us) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			"oldperson", encodeDescriptor(f.desc), f.model, 0.9, int64(1600000000000000+i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if f.photo != nil {
			if _, err := db.Exec(d.rebind(`INSERT INTO photos (face_id, bytes) VALUES (?, ?)`), id, f.photo); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkMigrated checks that the data oldData stored survived the upgrade,
// each descriptor moved into the descriptors table under its model, and
// that the upgraded store and a Gallery over it work.
func checkMigrated(t *testing.T, s Store, old []oldFace) {
	t.Helper()
	ctx := context.Background()
	st := sqlOf(t, s)
	if v, err := st.schemaVersion(ctx); err != nil || v != len(st.d.migrations) {
		t.Fatalf("schema version after upgrade = %d, %v; want %d", v, err, len(st.d.migrations))
	}
	p, err := s.Person(ctx, "oldperson")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Old Person" || p.Metadata["since"] != "v1" || p.Faces != len(old) || p.Created.UnixMicro() != 1600000000000000 {
		t.Errorf("old person after upgrade: %+v", p)
	}
	faces, err := s.PersonFaces(ctx, "oldperson", true)
	if err != nil || len(faces) != len(old) {
		t.Fatalf("old faces after upgrade: %+v, %v", faces, err)
	}
	for i, f := range faces {
		want := map[string][]float32{old[i].model: old[i].desc}
		if !sameDescriptors(f.Descriptors, want) || !bytes.Equal(f.Photo, old[i].photo) ||
			f.Score != 0.9 || f.Created.UnixMicro() != 1600000000000000+int64(i) {
			t.Errorf("old face %d after upgrade: %+v; want descriptors %v, photo %q", i, f, want, old[i].photo)
		}
	}
	// Faces, which Open reads, sees the moved descriptors too.
	var all []Face
	if err := s.Faces(ctx, func(f Face) error { all = append(all, f); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(old) {
		t.Fatalf("Faces after upgrade gave %d faces, want %d", len(all), len(old))
	}
	for i, f := range all {
		if !sameDescriptors(f.Descriptors, map[string][]float32{old[i].model: old[i].desc}) {
			t.Errorf("Faces after upgrade, face %d: %v", i, f.Descriptors)
		}
	}
	// The old columns are gone, so nothing can read or write them by
	// mistake.
	for _, col := range []string{"descriptor", "model"} {
		if _, err := st.w.Exec("SELECT " + col + " FROM faces"); err == nil {
			t.Errorf("faces.%s is still there after the upgrade", col)
		}
	}
	if n := countRows(t, s, "descriptors"); n != len(old) {
		t.Errorf("%d descriptors after upgrade, want %d", n, len(old))
	}
	// A gallery of each old model finds the person by that model's
	// descriptor; the other model's face is reported, not compared.
	for i, f := range old {
		g, err := Open(ctx, s, f.model, len(f.desc))
		if !errors.Is(err, ErrModelMismatch) || g == nil {
			t.Fatalf("Open(%s) over faces of two models: %v, want ErrModelMismatch", f.model, err)
		}
		m, err := g.Nearest(ctx, "oldperson", f.desc)
		if err != nil || m.FaceID != faces[i].ID || m.Distance != 0 {
			t.Errorf("Nearest by the migrated %s descriptor = %+v, %v; want face %d at 0", f.model, m, err, faces[i].ID)
		}
	}

	// Version 2 added photos: the upgraded store keeps them.
	f := Face{Descriptors: map[string][]float32{testModel: old[0].desc}, Photo: []byte("new photo")}
	added, err := s.AddFace(ctx, "oldperson", f)
	if err != nil {
		t.Fatal(err)
	}
	faces, _ = s.PersonFaces(ctx, "oldperson", true)
	if len(faces) != len(old)+1 || string(faces[len(old)].Photo) != "new photo" || faces[len(old)].ID != added.ID {
		t.Errorf("photo in the upgraded store: %+v", faces)
	}
	// A migrated face takes a second model's descriptor.
	if err := s.PutDescriptor(ctx, faces[1].ID, testModel, old[0].desc); err != nil {
		t.Fatal(err)
	}
	// And the cascade from v1 still holds for the new tables.
	if err := s.DeletePerson(ctx, "oldperson"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"faces", "photos", "descriptors"} {
		if n := countRows(t, s, table); n != 0 {
			t.Errorf("%d %s left after delete", n, table)
		}
	}
}
