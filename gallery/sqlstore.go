package gallery

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// dialect is what differs between the SQL databases behind sqlStore.
type dialect struct {
	name string
	// dollar rewrites the ? placeholders of the queries below into $1, $2,
	// ... (PostgreSQL).
	dollar bool
	// migrations[i] holds the statements that bring the schema from
	// version i to version i+1. Steps are only ever appended: a released
	// step must never change, since files and databases out there ran it.
	migrations [][]string
	// version reads the schema version inside the migration transaction,
	// after lock has been taken; setVersion records a new one.
	version    func(ctx context.Context, tx *sql.Tx) (int, error)
	setVersion func(ctx context.Context, tx *sql.Tx, v int) error
	// lock serializes concurrent migrations (several API nodes starting at
	// once); nil when the transaction itself is exclusive.
	lock func(ctx context.Context, tx *sql.Tx) error
	// readOpts are the options of the read transactions that need a
	// consistent snapshot (a page of people and the total count).
	readOpts *sql.TxOptions
	// constraint reports whether err is a foreign-key violation (fk) or a
	// unique violation (unique) raised by the database.
	constraint func(err error) (fk, unique bool)
	// unavailable reports whether err is the store's own failure (disk
	// read-only or full, I/O error, database gone), for ErrUnavailable.
	unavailable func(err error) bool
	// afterDelete runs after a person has been deleted, to purge what the
	// database still keeps of them (nil when there is nothing to do).
	afterDelete func(ctx context.Context, db *sql.DB) error
	// beforeChange runs in a writing transaction before its change row is
	// added (nil when nothing is needed): PostgreSQL takes a lock there so
	// that change IDs commit in order, and notifies the listening nodes.
	beforeChange func(ctx context.Context, tx *sql.Tx) error
}

// sqlStore implements Store over database/sql; SQLite and Postgres embed it.
type sqlStore struct {
	d dialect
	// w is used for every write; r for reads (the same pool for PostgreSQL;
	// for SQLite a separate pool, so readers never queue behind the one
	// writer connection).
	w, r       *sql.DB
	keepPhotos bool
	// q caches the queries rewritten for the dialect.
	q map[string]string
}

// Queries, written with ? placeholders.
const (
	qPersonExists  = `SELECT 1 FROM people WHERE id = ?`
	qInsertPerson  = `INSERT INTO people (id, name, metadata, created_us) VALUES (?, ?, ?, ?)`
	qInsertFace    = `INSERT INTO faces (person_id, score, created_us) VALUES (?, ?, ?) RETURNING id`
	qInsertPhoto   = `INSERT INTO photos (face_id, bytes) VALUES (?, ?)`
	qPutDescriptor = `INSERT INTO descriptors (face_id, model, vector) VALUES (?, ?, ?)
		ON CONFLICT (face_id, model) DO UPDATE SET vector = excluded.vector`
	qFaceExists = `SELECT 1 FROM faces WHERE id = ?`
	qHealth     = `INSERT INTO health (id, checked_us) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET checked_us = excluded.checked_us`
	qPerson = `SELECT p.id, p.name, p.metadata, p.created_us,
		(SELECT count(*) FROM faces f WHERE f.person_id = p.id) FROM people p WHERE p.id = ?`
	qPeople = `SELECT p.id, p.name, p.metadata, p.created_us,
		(SELECT count(*) FROM faces f WHERE f.person_id = p.id) FROM people p
		ORDER BY p.created_us, p.id LIMIT ? OFFSET ?`
	qCountPeople  = `SELECT count(*) FROM people`
	qDeletePerson = `DELETE FROM people WHERE id = ?`
	// A face's descriptors come as one row each, ordered by face: the
	// readers fold consecutive rows into one Face.
	qFaces = `SELECT f.id, f.person_id, f.score, f.created_us, d.model, d.vector
		FROM faces f JOIN descriptors d ON d.face_id = f.id ORDER BY f.id, d.model`
	qPersonFaces = `SELECT f.id, f.person_id, f.score, f.created_us, d.model, d.vector, NULL
		FROM faces f JOIN descriptors d ON d.face_id = f.id WHERE f.person_id = ? ORDER BY f.id, d.model`
	qPersonFacesPhotos = `SELECT f.id, f.person_id, f.score, f.created_us, d.model, d.vector, ph.bytes
		FROM faces f JOIN descriptors d ON d.face_id = f.id LEFT JOIN photos ph ON ph.face_id = f.id
		WHERE f.person_id = ? ORDER BY f.id, d.model`
)

// newSQLStore prepares a store over open pools; migrate must run next.
func newSQLStore(d dialect, w, r *sql.DB, opt Options) *sqlStore {
	s := &sqlStore{d: d, w: w, r: r, keepPhotos: opt.KeepPhotos, q: map[string]string{}}
	for _, q := range []string{qInsertChange, qPruneChanges, qChangeBounds, qChangedPeople, qFacePerson, qPersonExists, qInsertPerson, qInsertFace, qInsertPhoto, qPutDescriptor, qFaceExists, qHealth,
		qPerson, qPeople, qCountPeople, qDeletePerson, qFaces, qPersonFaces, qPersonFacesPhotos} {
		s.q[q] = d.rebind(q)
	}
	return s
}

// rebind rewrites ? placeholders for the dialect. The queries above hold
// no ? inside string literals, so a plain scan suffices.
func (d dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// migrate brings the schema up to the newest version in one transaction,
// so a failed upgrade leaves the old schema as it was. It refuses a schema
// newer than this code knows: running old code on it could corrupt data.
func (s *sqlStore) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gallery: migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if s.d.lock != nil {
		if err := s.d.lock(ctx, tx); err != nil {
			return fmt.Errorf("gallery: migrate: lock: %w", err)
		}
	}
	v, err := s.d.version(ctx, tx)
	if err != nil {
		return fmt.Errorf("gallery: migrate: read schema version: %w", err)
	}
	latest := len(s.d.migrations)
	if v > latest {
		return fmt.Errorf("gallery: migrate: schema version %d is newer than this program's %d: upgrade facerec", v, latest)
	}
	if v == latest {
		return nil
	}
	for ; v < latest; v++ {
		for _, stmt := range s.d.migrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("gallery: migrate to schema version %d: %w", v+1, err)
			}
		}
	}
	if err := s.d.setVersion(ctx, tx, latest); err != nil {
		return fmt.Errorf("gallery: migrate: record schema version %d: %w", latest, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("gallery: migrate: commit: %w", err)
	}
	return nil
}

// schemaVersion returns the version of the store's schema.
func (s *sqlStore) schemaVersion(ctx context.Context) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	return s.d.version(ctx, tx)
}

// newPersonID returns 16 random hex digits. 64 random bits make a
// collision unlikely even among billions of people; insertPerson still
// checks, since a duplicate would fail the whole enrolment.
func newPersonID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("gallery: person id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// encodeDescriptor packs d as little-endian float32, the stored format.
func encodeDescriptor(d []float32) []byte {
	b := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// decodeDescriptor unpacks a stored descriptor.
func decodeDescriptor(b []byte) ([]float32, error) {
	if len(b) == 0 || len(b)%4 != 0 || len(b) > 4*MaxDescriptorSize {
		return nil, fmt.Errorf("stored descriptor has %d bytes, not 4 for each of 1..%d values", len(b), MaxDescriptorSize)
	}
	d := make([]float32, len(b)/4)
	for i := range d {
		d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return d, nil
}

// encodeMetadata validates meta and returns it as a JSON object.
func encodeMetadata(meta map[string]string) (string, error) {
	for k, v := range meta {
		if k == "" {
			return "", fmt.Errorf("%w: metadata has an empty key", ErrInvalid)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "", fmt.Errorf("%w: metadata %q is not valid UTF-8", ErrInvalid, k)
		}
	}
	if meta == nil {
		meta = map[string]string{}
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return "", fmt.Errorf("%w: metadata: %v", ErrInvalid, err)
	}
	if len(b) > MaxMetadataBytes {
		return "", fmt.Errorf("%w: metadata is %d bytes as JSON, the limit is %d", ErrInvalid, len(b), MaxMetadataBytes)
	}
	return string(b), nil
}

// now is the current time at the stored precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// fromMicros converts a stored time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Enroll implements Store.
func (s *sqlStore) Enroll(ctx context.Context, name string, meta map[string]string, f Face) (Person, Face, error) {
	p := Person{Name: name, Metadata: meta}
	p, faces, err := s.insertPerson(ctx, p, []Face{f}, false)
	if err != nil {
		return Person{}, Face{}, fmt.Errorf("gallery: enroll: %w", err)
	}
	return p, faces[0], nil
}

// Restore implements Store.
func (s *sqlStore) Restore(ctx context.Context, p Person, faces []Face) (Person, []Face, error) {
	if p.ID != "" && (len(p.ID) > maxIDBytes || !utf8.ValidString(p.ID)) {
		return Person{}, nil, fmt.Errorf("gallery: restore: %w: person id must be valid UTF-8 of at most %d bytes", ErrInvalid, maxIDBytes)
	}
	p, faces, err := s.insertPerson(ctx, p, faces, true)
	if err != nil {
		return Person{}, nil, fmt.Errorf("gallery: restore %s: %w", p.ID, err)
	}
	return p, faces, nil
}

// insertPerson stores p and faces in one transaction. With keep, p's ID
// and times are kept (ErrExists when the ID is taken) and the faces keep
// their creation times; otherwise everything is new.
func (s *sqlStore) insertPerson(ctx context.Context, p Person, faces []Face, keep bool) (Person, []Face, error) {
	var err error
	if p.Name, err = CleanName(p.Name); err != nil {
		return p, nil, err
	}
	metaJSON, err := encodeMetadata(p.Metadata)
	if err != nil {
		return p, nil, err
	}
	if len(faces) == 0 {
		// Every person has a face: Faces, which rebuilds the index and
		// drives Export, would not see one without.
		return p, nil, fmt.Errorf("%w: a person needs a face", ErrInvalid)
	}
	for i, f := range faces {
		if err := checkFace(f); err != nil {
			return p, nil, fmt.Errorf("face %d: %w", i, err)
		}
	}
	if !keep || p.Created.IsZero() {
		p.Created = now()
	}
	p.Created = p.Created.UTC().Truncate(time.Microsecond)
	if !keep {
		p.ID = ""
	}
	p.Metadata = maps.Clone(p.Metadata)

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return p, nil, fmt.Errorf("begin: %w", s.classify(err))
	}
	defer tx.Rollback()
	for tries := 0; p.ID == ""; tries++ {
		id, err := newPersonID()
		if err != nil {
			return p, nil, err
		}
		exists, err := s.exists(ctx, tx, id)
		if err != nil {
			return p, nil, err
		}
		if !exists {
			p.ID = id
		} else if tries > 5 {
			return p, nil, errors.New("no free person id after several random draws")
		}
	}
	if keep {
		exists, err := s.exists(ctx, tx, p.ID)
		if err != nil {
			return p, nil, err
		}
		if exists {
			return p, nil, fmt.Errorf("person %s: %w", p.ID, ErrExists)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q[qInsertPerson], p.ID, p.Name, metaJSON, p.Created.UnixMicro()); err != nil {
		if _, unique := s.d.constraint(err); unique {
			return p, nil, fmt.Errorf("person %s: %w", p.ID, ErrExists)
		}
		return p, nil, fmt.Errorf("insert person: %w", s.classify(err))
	}
	out := make([]Face, len(faces))
	for i, f := range faces {
		if !keep || f.Created.IsZero() {
			f.Created = p.Created
		}
		if out[i], err = s.insertFace(ctx, tx, p.ID, f); err != nil {
			return p, nil, err
		}
	}
	if err := s.logChange(ctx, tx, p.ID); err != nil {
		return p, nil, err
	}
	if err := tx.Commit(); err != nil {
		return p, nil, fmt.Errorf("commit: %w", s.classify(err))
	}
	p.Faces = len(out)
	return p, out, nil
}

// exists reports whether a person is stored.
func (s *sqlStore) exists(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, s.q[qPersonExists], id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up person: %w", err)
	}
	return true, nil
}

// insertFace stores a validated face with its descriptors (and its photo,
// with KeepPhotos) in tx and returns it as stored.
func (s *sqlStore) insertFace(ctx context.Context, tx *sql.Tx, personID string, f Face) (Face, error) {
	f.PersonID = personID
	f.Created = f.Created.UTC().Truncate(time.Microsecond)
	err := tx.QueryRowContext(ctx, s.q[qInsertFace], personID, f.Score, f.Created.UnixMicro()).Scan(&f.ID)
	if err != nil {
		if fk, _ := s.d.constraint(err); fk {
			// The person was deleted by another transaction (PostgreSQL).
			return Face{}, fmt.Errorf("person %s: %w", personID, ErrNotFound)
		}
		return Face{}, fmt.Errorf("insert face: %w", s.classify(err))
	}
	ds := make(map[string][]float32, len(f.Descriptors))
	for _, m := range slices.Sorted(maps.Keys(f.Descriptors)) {
		d := slices.Clone(f.Descriptors[m])
		if _, err := tx.ExecContext(ctx, s.q[qPutDescriptor], f.ID, m, encodeDescriptor(d)); err != nil {
			return Face{}, fmt.Errorf("insert descriptor: %w", s.classify(err))
		}
		ds[m] = d
	}
	f.Descriptors = ds
	if s.keepPhotos && len(f.Photo) > 0 {
		if _, err := tx.ExecContext(ctx, s.q[qInsertPhoto], f.ID, f.Photo); err != nil {
			return Face{}, fmt.Errorf("insert photo: %w", s.classify(err))
		}
	} else {
		f.Photo = nil
	}
	return f, nil
}

// AddFace implements Store.
func (s *sqlStore) AddFace(ctx context.Context, personID string, f Face) (Face, error) {
	if err := checkFace(f); err != nil {
		return Face{}, fmt.Errorf("gallery: add face: %w", err)
	}
	f.Created = now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Face{}, fmt.Errorf("gallery: add face: begin: %w", s.classify(err))
	}
	defer tx.Rollback()
	exists, err := s.exists(ctx, tx, personID)
	if err != nil {
		return Face{}, fmt.Errorf("gallery: add face: %w", err)
	}
	if !exists {
		return Face{}, fmt.Errorf("gallery: add face: person %s: %w", personID, ErrNotFound)
	}
	if f, err = s.insertFace(ctx, tx, personID, f); err != nil {
		return Face{}, fmt.Errorf("gallery: add face: %w", err)
	}
	if err := s.logChange(ctx, tx, personID); err != nil {
		return Face{}, fmt.Errorf("gallery: add face: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Face{}, fmt.Errorf("gallery: add face: commit: %w", s.classify(err))
	}
	return f, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanPerson reads the columns of qPerson and qPeople.
func scanPerson(sc scanner) (Person, error) {
	var p Person
	var meta []byte
	var created int64
	if err := sc.Scan(&p.ID, &p.Name, &meta, &created, &p.Faces); err != nil {
		return Person{}, err
	}
	p.Created = fromMicros(created)
	if len(meta) > 0 && string(meta) != "{}" {
		if err := json.Unmarshal(meta, &p.Metadata); err != nil {
			return Person{}, fmt.Errorf("person %s: stored metadata: %w", p.ID, err)
		}
	}
	return p, nil
}

// Person implements Store.
func (s *sqlStore) Person(ctx context.Context, id string) (Person, error) {
	p, err := scanPerson(s.r.QueryRowContext(ctx, s.q[qPerson], id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Person{}, fmt.Errorf("gallery: person %s: %w", id, ErrNotFound)
	case err != nil:
		return Person{}, fmt.Errorf("gallery: person %s: %w", id, s.classify(err))
	}
	return p, nil
}

// maxPage is the largest page People returns.
const maxPage = 10000

// People implements Store. limit must be in 1..10000 and offset ≥ 0.
func (s *sqlStore) People(ctx context.Context, limit, offset int) ([]Person, int, error) {
	if limit < 1 || limit > maxPage {
		return nil, 0, fmt.Errorf("gallery: people: %w: limit %d is not in 1..%d", ErrInvalid, limit, maxPage)
	}
	if offset < 0 {
		return nil, 0, fmt.Errorf("gallery: people: %w: negative offset %d", ErrInvalid, offset)
	}
	// One transaction, so the page and the total come from one snapshot.
	tx, err := s.r.BeginTx(ctx, s.d.readOpts)
	if err != nil {
		return nil, 0, fmt.Errorf("gallery: people: begin: %w", s.classify(err))
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, s.q[qCountPeople]).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("gallery: people: count: %w", s.classify(err))
	}
	rows, err := tx.QueryContext(ctx, s.q[qPeople], limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("gallery: people: %w", err)
	}
	defer rows.Close()
	people := []Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("gallery: people: %w", err)
		}
		people = append(people, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("gallery: people: %w", err)
	}
	return people, total, nil
}

// DeletePerson implements Store. Faces and photos go with the person (ON
// DELETE CASCADE), in the same transaction.
func (s *sqlStore) DeletePerson(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gallery: delete person %s: begin: %w", id, s.classify(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q[qDeletePerson], id)
	if err != nil {
		return fmt.Errorf("gallery: delete person %s: %w", id, s.classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("gallery: delete person %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("gallery: delete person %s: %w", id, ErrNotFound)
	}
	if err := s.logChange(ctx, tx, id); err != nil {
		return fmt.Errorf("gallery: delete person %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("gallery: delete person %s: commit: %w", id, s.classify(err))
	}
	if s.d.afterDelete != nil {
		if err := s.d.afterDelete(ctx, s.w); err != nil {
			// The person is gone; only the purge of old copies failed.
			return fmt.Errorf("gallery: delete person %s: deleted, but purging old copies failed: %w", id, err)
		}
	}
	return nil
}

// classify marks the store's own failures as ErrUnavailable.
func (s *sqlStore) classify(err error) error {
	if err != nil && s.d.unavailable != nil && s.d.unavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// faceRows folds the rows of qFaces or qPersonFaces (one per descriptor,
// ordered by face) into faces, calling fn for each complete face. With
// photos, each row has a last column, the photo.
func faceRows(rows *sql.Rows, photos bool, fn func(Face) error) error {
	var f Face
	flush := func() error {
		if f.ID == 0 {
			return nil
		}
		err := fn(f)
		f = Face{}
		return err
	}
	for rows.Next() {
		var (
			g       Face
			model   string
			vec     []byte
			created int64
			photo   []byte
		)
		dest := []any{&g.ID, &g.PersonID, &g.Score, &created, &model, &vec}
		if photos {
			dest = append(dest, &photo)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if g.ID != f.ID {
			if err := flush(); err != nil {
				return err
			}
			f = g
			f.Created = fromMicros(created)
			f.Descriptors = map[string][]float32{}
			if len(photo) > 0 {
				f.Photo = photo
			}
		}
		d, err := decodeDescriptor(vec)
		if err != nil {
			return fmt.Errorf("face %d, model %q: %w", f.ID, model, err)
		}
		f.Descriptors[model] = d
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// errStop tells Faces that fn's own error is being passed up unwrapped.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// Faces implements Store.
func (s *sqlStore) Faces(ctx context.Context, fn func(Face) error) error {
	rows, err := s.r.QueryContext(ctx, s.q[qFaces])
	if err != nil {
		return fmt.Errorf("gallery: faces: %w", err)
	}
	defer rows.Close()
	err = faceRows(rows, false, func(f Face) error {
		if err := fn(f); err != nil {
			return errStop{err}
		}
		return nil
	})
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return fmt.Errorf("gallery: faces: %w", err)
	}
	return nil
}

// PersonFaces implements Store.
func (s *sqlStore) PersonFaces(ctx context.Context, personID string, photos bool) ([]Face, error) {
	tx, err := s.r.BeginTx(ctx, s.d.readOpts)
	if err != nil {
		return nil, fmt.Errorf("gallery: faces of %s: begin: %w", personID, err)
	}
	defer tx.Rollback()
	exists, err := s.exists(ctx, tx, personID)
	if err != nil {
		return nil, fmt.Errorf("gallery: faces of %s: %w", personID, err)
	}
	if !exists {
		return nil, fmt.Errorf("gallery: faces of %s: %w", personID, ErrNotFound)
	}
	q := s.q[qPersonFaces]
	if photos {
		q = s.q[qPersonFacesPhotos]
	}
	rows, err := tx.QueryContext(ctx, q, personID)
	if err != nil {
		return nil, fmt.Errorf("gallery: faces of %s: %w", personID, err)
	}
	defer rows.Close()
	var faces []Face
	if err := faceRows(rows, true, func(f Face) error { faces = append(faces, f); return nil }); err != nil {
		return nil, fmt.Errorf("gallery: faces of %s: %w", personID, err)
	}
	return faces, nil
}

// PutDescriptor implements Store.
func (s *sqlStore) PutDescriptor(ctx context.Context, faceID int64, model string, d []float32) error {
	if err := checkDescriptors(map[string][]float32{model: d}); err != nil {
		return fmt.Errorf("gallery: put descriptor of face %d: %w", faceID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gallery: put descriptor of face %d: begin: %w", faceID, err)
	}
	defer tx.Rollback()
	var personID string
	switch err := tx.QueryRowContext(ctx, s.q[qFacePerson], faceID).Scan(&personID); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("gallery: put descriptor of face %d: %w", faceID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("gallery: put descriptor of face %d: %w", faceID, err)
	}
	if _, err := tx.ExecContext(ctx, s.q[qPutDescriptor], faceID, model, encodeDescriptor(d)); err != nil {
		if fk, _ := s.d.constraint(err); fk {
			return fmt.Errorf("gallery: put descriptor of face %d: %w", faceID, ErrNotFound)
		}
		return fmt.Errorf("gallery: put descriptor of face %d: %w", faceID, err)
	}
	if err := s.logChange(ctx, tx, personID); err != nil {
		return fmt.Errorf("gallery: put descriptor of face %d: %w", faceID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("gallery: put descriptor of face %d: commit: %w", faceID, err)
	}
	return nil
}

// Check implements Store: it writes the health row, so a store that no
// longer takes writes fails it.
func (s *sqlStore) Check(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, s.q[qHealth], time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("gallery: check %s store: %w", s.d.name, s.classify(err))
	}
	return nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	var errs []error
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gallery: close %s store: %w", s.d.name, err)
	}
	return nil
}
