// Package gallery stores enrolled people and their face descriptors (never
// the photos, unless asked to) and answers 1:N searches over them from an
// in-memory index that is kept in step with every change.
//
// Store is the persistence interface; OpenSQLite gives the embedded
// default, OpenPostgres a store several API nodes can share, and OpenURL
// picks one from a location. A face holds one descriptor per model that
// described it; a Gallery ties a Store to the in-memory index of one
// model's descriptors.
package gallery

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxDescriptorSize is the most values a stored descriptor may have.
const MaxDescriptorSize = 4096

// Limits on what a store accepts. They keep one request from bloating the
// database; they are far above what a real enrolment needs.
const (
	// MaxNameBytes is the longest person name, in bytes.
	MaxNameBytes = 200
	// MaxMetadataBytes is the largest metadata map, as JSON.
	MaxMetadataBytes = 16 << 10
	// MaxPhotoBytes is the largest kept photo.
	MaxPhotoBytes = 32 << 20
	// maxModelBytes is the longest model name.
	maxModelBytes = 200
	// maxIDBytes is the longest person ID Restore accepts.
	maxIDBytes = 64
)

// Errors returned by stores; match them with errors.Is.
var (
	ErrNotFound      = errors.New("gallery: not found")
	ErrModelMismatch = errors.New("gallery: descriptors of another model")
	// ErrInvalid is wrapped by every error about bad input (an empty name, a
	// descriptor of the wrong length, ...), so a server can answer 400.
	ErrInvalid = errors.New("gallery: invalid argument")
	// ErrExists is returned by Store.Restore (and so Gallery.Import) for a
	// person ID that is already stored.
	ErrExists = errors.New("gallery: already exists")
	// ErrUnavailable is wrapped by a write the store could not make for a
	// reason of its own, not the caller's: a read-only or full disk, a
	// database that went away. Retrying later can succeed.
	ErrUnavailable = errors.New("gallery: store unavailable")
)

// Person is an enrolled identity.
type Person struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Faces    int               `json:"faces"`
	Created  time.Time         `json:"created"`
}

// Face is one enrolled face of a person.
type Face struct {
	ID       int64  `json:"id"`
	PersonID string `json:"person_id"`
	// Descriptors holds the face's descriptors by the ID of the model that
	// made each (face.DescriptorModel.ID): one photo can be described by
	// several models, and descriptors of different models are never
	// compared.
	Descriptors map[string][]float32 `json:"descriptors"`
	Score       float64              `json:"score"` // detector confidence at enrolment
	Created     time.Time            `json:"created"`
	// Photo is the enrolment photo, kept only when the store was opened
	// with KeepPhotos.
	Photo []byte `json:"photo,omitempty"`
}

// Store persists people and faces. Implementations are safe for concurrent
// use, and a write that returned nil survives a crash of the process.
//
// Times are stored with microsecond precision; the values returned by the
// writing methods are already truncated, so they equal what a later read
// returns. Bad input gives an error wrapping ErrInvalid.
type Store interface {
	// Enroll creates a person with their first face in one transaction.
	Enroll(ctx context.Context, name string, meta map[string]string, f Face) (Person, Face, error)
	// AddFace adds a face to an existing person (ErrNotFound otherwise).
	AddFace(ctx context.Context, personID string, f Face) (Face, error)
	// Person returns one person (ErrNotFound when absent).
	Person(ctx context.Context, id string) (Person, error)
	// People lists people ordered by creation, and the total count.
	People(ctx context.Context, limit, offset int) ([]Person, int, error)
	// DeletePerson removes a person and every face and photo of theirs.
	DeletePerson(ctx context.Context, id string) error
	// Faces calls fn for every stored face (photos not loaded), in face ID
	// order, e.g. to build the search index at start. It stops at the first
	// error of fn and returns it. fn should be quick: the read stays open
	// while it runs.
	Faces(ctx context.Context, fn func(Face) error) error
	// PersonFaces returns the faces of one person in the order they were
	// added (ErrNotFound when the person is absent), with their photos when
	// photos is true and the store kept them. Export and Reembed use it.
	PersonFaces(ctx context.Context, personID string, photos bool) ([]Face, error)
	// PutDescriptor stores a face's descriptor by model, replacing one of
	// that model (ErrNotFound when the face is absent); Reembed uses it.
	PutDescriptor(ctx context.Context, faceID int64, model string, d []float32) error
	// Restore stores a person exactly as given — ID, name, metadata,
	// creation time — with their faces, in one transaction; it moves
	// people between stores and back from an export. The faces get new IDs
	// (returned in order); their descriptors, scores, creation
	// times and, with KeepPhotos, photos are kept. An ID already stored
	// gives ErrExists; an empty ID or zero time is filled in as by Enroll.
	Restore(ctx context.Context, p Person, faces []Face) (Person, []Face, error)
	// Check reports whether the store takes writes now, by making one;
	// the error wraps ErrUnavailable when it does not.
	Check(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Options configures a store.
type Options struct {
	// KeepPhotos stores the enrolment photo (Face.Photo) of every face, so
	// the gallery can later be re-embedded by a new model (Gallery.Reembed).
	// Without it photos are dropped and only descriptors are stored.
	KeepPhotos bool
}

// checkDescriptor reports whether d can be stored or searched for: it must
// hold 1..MaxDescriptorSize finite values (a Gallery also wants its
// model's length). The error wraps ErrInvalid.
func checkDescriptor(d []float32) error {
	if len(d) == 0 || len(d) > MaxDescriptorSize {
		return fmt.Errorf("%w: descriptor has %d values, not 1..%d", ErrInvalid, len(d), MaxDescriptorSize)
	}
	for i, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: descriptor value %d is %v", ErrInvalid, i, v)
		}
	}
	return nil
}

// checkDescriptors validates a face's descriptors and their model IDs.
func checkDescriptors(ds map[string][]float32) error {
	if len(ds) == 0 {
		return fmt.Errorf("%w: face has no descriptor", ErrInvalid)
	}
	for m, d := range ds {
		if m == "" || len(m) > maxModelBytes || !utf8.ValidString(m) {
			return fmt.Errorf("%w: a model ID must be valid UTF-8 of 1..%d bytes", ErrInvalid, maxModelBytes)
		}
		if err := checkDescriptor(d); err != nil {
			return fmt.Errorf("model %q: %w", m, err)
		}
	}
	return nil
}

// CleanName returns a person's name as it is stored: trimmed and in
// Unicode normal form C, so that one name has one spelling. It refuses an
// empty name, invalid UTF-8, a name over MaxNameBytes, and control, format
// (Unicode Cf: zero-width and bidirectional marks, BOMs) and line or
// paragraph separator characters, which would let "Ali\u200bce" show as
// "Alice" or reorder what a guard reads. The error wraps ErrInvalid.
func CleanName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: the name is not valid UTF-8", ErrInvalid)
	}
	name = norm.NFC.String(strings.TrimSpace(name))
	switch {
	case name == "":
		return "", fmt.Errorf("%w: the name is empty", ErrInvalid)
	case len(name) > MaxNameBytes:
		return "", fmt.Errorf("%w: the name is %d bytes long, the limit is %d", ErrInvalid, len(name), MaxNameBytes)
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return "", fmt.Errorf("%w: the name contains the invisible or control character %U", ErrInvalid, r)
	}
	return name, nil
}

// checkFace validates the parts of a face a caller supplies.
func checkFace(f Face) error {
	if err := checkDescriptors(f.Descriptors); err != nil {
		return err
	}
	switch {
	case math.IsNaN(f.Score) || math.IsInf(f.Score, 0):
		return fmt.Errorf("%w: face score is %v", ErrInvalid, f.Score)
	case len(f.Photo) > MaxPhotoBytes:
		return fmt.Errorf("%w: photo is %d bytes, the limit is %d", ErrInvalid, len(f.Photo), MaxPhotoBytes)
	}
	return nil
}

// Gallery is the face gallery of one descriptor model: a Store, and an
// index of the descriptors that model made of the store's faces, kept in
// step with every change made through the Gallery. Descriptors of other
// models stay in the store untouched (see Open).
//
// A Gallery is safe for concurrent use. Each change is written to the
// store first and to the index after, so the index never holds a face the
// store lacks; changes to one person are serialized so that a face added
// while the person is deleted cannot outlive them in the index.
type Gallery struct {
	store Store
	model string
	index *searchIndex
	// locks serializes the store-then-index updates of one person; the
	// person ID picks the lock.
	locks [64]sync.Mutex

	// The change feed (changes.go): feed is nil when the store keeps
	// none; seen is the newest change the index reflects. syncMu
	// serializes Syncs; feedMu guards seen, synced and feedErr.
	feed    Feed
	syncMu  sync.Mutex
	feedMu  sync.Mutex
	seen    int64
	synced  time.Time
	feedErr error
	// revoked are the people whose deletion the store could not make:
	// Sync keeps them out of the index until a deletion succeeds.
	revoked map[string]bool
}

// Open loads the descriptors of model (a face.DescriptorModel's ID, whose
// descriptors hold dim values) of every face of store into a new index.
//
// A face without a descriptor of this model cannot be compared with it.
// When the store holds any, Open returns an error wrapping
// ErrModelMismatch that names the models those faces were described by and
// this one, together with a Gallery of the faces it could load. A caller
// that wants to migrate uses that Gallery's Reembed (when the store kept
// photos) and then opens again; any other caller treats the error as
// fatal. The other way out is to delete and re-enrol those people.
func Open(ctx context.Context, store Store, model string, dim int) (*Gallery, error) {
	if model == "" {
		return nil, fmt.Errorf("gallery: open: %w: empty model ID", ErrInvalid)
	}
	if dim < 1 || dim > MaxDescriptorSize {
		return nil, fmt.Errorf("gallery: open: %w: descriptor size %d is not in 1..%d", ErrInvalid, dim, MaxDescriptorSize)
	}
	g := &Gallery{store: store, model: model, index: newIndex(dim)}
	if f, ok := store.(Feed); ok {
		// The feed's position before the faces are read: a change made
		// while they load is applied again by the first Sync (harmless).
		c, err := f.Changes(ctx, -1)
		if err != nil {
			return nil, fmt.Errorf("gallery: open: %w", err)
		}
		g.feed, g.seen, g.synced = f, c.Last, time.Now()
	}
	others := map[string]int{}
	err := store.Faces(ctx, func(f Face) error {
		d, ok := f.Descriptors[model]
		if !ok {
			for m := range f.Descriptors {
				others[m]++
			}
			return nil
		}
		return g.indexDescriptor(f, d)
	})
	if err != nil {
		return nil, fmt.Errorf("gallery: open: load faces: %w", err)
	}
	if len(others) > 0 {
		return g, mismatchError(model, others)
	}
	return g, nil
}

// mismatchError describes the faces without this model's descriptor.
func mismatchError(model string, others map[string]int) error {
	names := slices.Sorted(maps.Keys(others))
	parts := make([]string, len(names))
	for i, m := range names {
		faces := "faces were"
		if others[m] == 1 {
			faces = "face was"
		}
		parts[i] = fmt.Sprintf("%d %s described by %q", others[m], faces, m)
	}
	return fmt.Errorf("%w: %s, and the model in use is %q: re-enrol those people, or re-embed their kept photos with it",
		ErrModelMismatch, strings.Join(parts, ", "), model)
}

// Model returns the ID of the model whose descriptors the gallery searches.
func (g *Gallery) Model() string { return g.model }

// Dim returns the length of the model's descriptors.
func (g *Gallery) Dim() int { return g.index.Dim() }

// lock returns the lock of a person.
func (g *Gallery) lock(personID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(personID))
	return &g.locks[h.Sum32()%uint32(len(g.locks))]
}

// checkModel refuses a face without a descriptor of the gallery's model of
// the gallery's length; it may hold other models' descriptors as well.
func (g *Gallery) checkModel(f Face) error {
	d, ok := f.Descriptors[g.model]
	if !ok {
		return fmt.Errorf("%w: face described by %v, the gallery uses %q", ErrModelMismatch, slices.Sorted(maps.Keys(f.Descriptors)), g.model)
	}
	if len(d) != g.Dim() {
		return fmt.Errorf("%w: descriptor has %d values, model %q makes %d", ErrInvalid, len(d), g.model, g.Dim())
	}
	return nil
}

// indexDescriptor adds face f to the index with d, its descriptor by the
// gallery's model (the index holds that one alone). A face already there
// is left as it is: Sync may have loaded it from the store first.
func (g *Gallery) indexDescriptor(f Face, d []float32) error {
	err := g.index.Add(Face{ID: f.ID, PersonID: f.PersonID, Descriptors: map[string][]float32{g.model: d}})
	if err != nil && g.index.has(f.PersonID, f.ID) {
		return nil
	}
	return err
}

// Enroll stores a new person with their first face and indexes it. The
// face must hold a descriptor of the gallery's model.
func (g *Gallery) Enroll(ctx context.Context, name string, meta map[string]string, f Face) (Person, Face, error) {
	if err := g.checkModel(f); err != nil {
		return Person{}, Face{}, fmt.Errorf("gallery: enroll: %w", err)
	}
	p, f, err := g.store.Enroll(ctx, name, meta, f)
	if err != nil {
		return Person{}, Face{}, err
	}
	mu := g.lock(p.ID)
	mu.Lock()
	defer mu.Unlock()
	if err := g.indexDescriptor(f, f.Descriptors[g.model]); err != nil {
		return Person{}, Face{}, fmt.Errorf("gallery: enroll: stored, but not indexed: %w", err)
	}
	return p, f, nil
}

// AddFace stores another face of a person and indexes it (ErrNotFound when
// the person is absent). The face must hold a descriptor of the gallery's
// model.
func (g *Gallery) AddFace(ctx context.Context, personID string, f Face) (Face, error) {
	if err := g.checkModel(f); err != nil {
		return Face{}, fmt.Errorf("gallery: add face: %w", err)
	}
	mu := g.lock(personID)
	mu.Lock()
	defer mu.Unlock()
	f, err := g.store.AddFace(ctx, personID, f)
	if err != nil {
		return Face{}, err
	}
	if err := g.indexDescriptor(f, f.Descriptors[g.model]); err != nil {
		return Face{}, fmt.Errorf("gallery: add face: stored, but not indexed: %w", err)
	}
	return f, nil
}

// Person returns one person (ErrNotFound when absent).
func (g *Gallery) Person(ctx context.Context, id string) (Person, error) {
	return g.store.Person(ctx, id)
}

// People lists people in creation order, and the total count.
func (g *Gallery) People(ctx context.Context, limit, offset int) ([]Person, int, error) {
	return g.store.People(ctx, limit, offset)
}

// DeletePerson deletes a person with every face and photo of theirs from
// the store, then from the index.
//
// A deletion is a revocation: when the store cannot make it
// (ErrUnavailable), the person is still dropped from the index, so that
// they stop matching here at once, and the error says that the store still
// holds them (they match again after a restart until the deletion is
// retried and succeeds).
func (g *Gallery) DeletePerson(ctx context.Context, id string) error {
	mu := g.lock(id)
	mu.Lock()
	defer mu.Unlock()
	if err := g.store.DeletePerson(ctx, id); err != nil {
		if errors.Is(err, ErrUnavailable) {
			g.setRevoked(id, true)
			if g.index.RemovePerson(id) {
				return fmt.Errorf("%w; person %s no longer matches on this node, but the store still holds them: "+
					"retry the deletion, or they match again after a restart", err, id)
			}
			return err
		}
		// A failed purge after a successful delete still deleted the rows:
		// drop them from the index too, then report.
		if !errors.Is(err, ErrNotFound) {
			if _, perr := g.store.Person(ctx, id); errors.Is(perr, ErrNotFound) {
				g.index.RemovePerson(id)
			}
		}
		return err
	}
	g.index.RemovePerson(id)
	g.setRevoked(id, false)
	return nil
}

// Search returns the k people nearest to q (at least 1 is asked for),
// nearest first, each with the distance of their nearest face; deciding
// whether the first is close enough is the caller's (a face.Decider's).
// q must be a valid descriptor of the gallery's length (ErrInvalid).
func (g *Gallery) Search(q []float32, k int) ([]Match, error) {
	if err := g.index.check(q); err != nil {
		return nil, fmt.Errorf("gallery: search: %w", err)
	}
	return g.index.Search(q, max(k, 1)), nil
}

// Nearest returns the match of one person's nearest face to q. It fails
// with ErrNotFound for an unknown person, ErrModelMismatch when the person
// has no face described by the gallery's model, and ErrInvalid for a q that
// is not a valid descriptor of the gallery's length.
func (g *Gallery) Nearest(ctx context.Context, personID string, q []float32) (Match, error) {
	if err := g.index.check(q); err != nil {
		return Match{}, fmt.Errorf("gallery: nearest: %w", err)
	}
	m, ok := g.index.Distance(personID, q)
	if !ok {
		if _, err := g.store.Person(ctx, personID); err != nil {
			return Match{}, fmt.Errorf("gallery: nearest: %w", err)
		}
		return Match{}, fmt.Errorf("gallery: nearest %s: %w: the person has no face described by %q", personID, ErrModelMismatch, g.model)
	}
	return m, nil
}

// Check reports whether the store takes writes now (see Store.Check).
func (g *Gallery) Check(ctx context.Context) error { return g.store.Check(ctx) }

// Size returns the number of people and faces in the index (this model's).
func (g *Gallery) Size() (people, faces int) { return g.index.Len() }

// Reembed describes with the gallery's model every face that has no
// descriptor of it yet: fn(photo) is the model's descriptor of the kept
// enrolment photo. The new descriptor is stored beside the old ones (nodes
// still on the old model keep working) and indexed; Reembed returns how
// many faces it described. It needs a store opened with KeepPhotos: faces
// without a kept photo are left as they were and reported by an error
// wrapping ErrModelMismatch (re-enrol those people). An error from fn
// stops the work; what was done stays done, so Reembed can be run again.
func (g *Gallery) Reembed(ctx context.Context, fn func(photo []byte) ([]float32, error)) (int, error) {
	// Collect first: the store is not written while Faces runs.
	var people []string
	seen := map[string]bool{}
	err := g.store.Faces(ctx, func(f Face) error {
		if _, ok := f.Descriptors[g.model]; !ok && !seen[f.PersonID] {
			seen[f.PersonID] = true
			people = append(people, f.PersonID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gallery: reembed: %w", err)
	}
	done, noPhoto := 0, 0
	for _, id := range people {
		n, missing, err := g.reembedPerson(ctx, id, fn)
		done += n
		noPhoto += missing
		if err != nil {
			return done, fmt.Errorf("gallery: reembed person %s: %w", id, err)
		}
	}
	if noPhoto > 0 {
		return done, fmt.Errorf("gallery: reembed: %w: %d faces have no kept photo; re-enrol those people", ErrModelMismatch, noPhoto)
	}
	return done, nil
}

// reembedPerson describes the faces of one person that lack the model's
// descriptor.
func (g *Gallery) reembedPerson(ctx context.Context, id string, fn func([]byte) ([]float32, error)) (done, noPhoto int, err error) {
	mu := g.lock(id)
	mu.Lock()
	defer mu.Unlock()
	faces, err := g.store.PersonFaces(ctx, id, true)
	if errors.Is(err, ErrNotFound) {
		return 0, 0, nil // deleted meanwhile: nothing to do
	}
	if err != nil {
		return 0, 0, err
	}
	for _, f := range faces {
		if _, ok := f.Descriptors[g.model]; ok {
			continue
		}
		if len(f.Photo) == 0 {
			noPhoto++
			continue
		}
		d, err := fn(f.Photo)
		if err != nil {
			return done, noPhoto, fmt.Errorf("face %d: %w", f.ID, err)
		}
		if len(d) != g.Dim() {
			return done, noPhoto, fmt.Errorf("face %d: %w: the model gave %d values, the gallery holds %d", f.ID, ErrInvalid, len(d), g.Dim())
		}
		if err := g.store.PutDescriptor(ctx, f.ID, g.model, d); err != nil {
			return done, noPhoto, err
		}
		if err := g.indexDescriptor(f, d); err != nil {
			return done, noPhoto, fmt.Errorf("face %d: stored, but not indexed: %w", f.ID, err)
		}
		done++
	}
	return done, noPhoto, nil
}

// Adopt takes the descriptors a store holds under another model ID for
// this gallery's model: the same weights under an older name (see
// recognition.OpenGallery). Each face that has a descriptor of legacy of
// the gallery's length but none of the gallery's model gets a copy under
// the gallery's model ID (the legacy one stays) and is indexed. It returns
// how many faces it adopted.
func (g *Gallery) Adopt(ctx context.Context, legacy string) (int, error) {
	var faces []Face
	err := g.store.Faces(ctx, func(f Face) error {
		if _, ok := f.Descriptors[g.model]; !ok && len(f.Descriptors[legacy]) == g.Dim() {
			faces = append(faces, f)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gallery: adopt %q: %w", legacy, err)
	}
	n := 0
	for _, f := range faces {
		d := f.Descriptors[legacy]
		mu := g.lock(f.PersonID)
		mu.Lock()
		err := g.store.PutDescriptor(ctx, f.ID, g.model, d)
		if err == nil {
			err = g.indexDescriptor(f, d)
		}
		mu.Unlock()
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("gallery: adopt %q: face %d: %w", legacy, f.ID, err)
		}
		n++
	}
	return n, nil
}

// Models counts the faces of store by the models that described them (a
// face described by two models counts for both): which descriptor model
// can serve a gallery, before opening it for one.
func Models(ctx context.Context, store Store) (map[string]int, error) {
	n := map[string]int{}
	err := store.Faces(ctx, func(f Face) error {
		for m := range f.Descriptors {
			n[m]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gallery: models: %w", err)
	}
	return n, nil
}
