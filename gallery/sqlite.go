package gallery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is a Store in one SQLite file, through the pure-Go (no cgo)
// modernc.org/sqlite driver. It is the default store: nothing to run
// beside facerec, and one file to back up.
//
// The file is opened with
//
//   - journal_mode=WAL, so reads never wait for the writer;
//   - synchronous=FULL, so a write that returned nil survives a crash of
//     the process or of the machine (the WAL is synced at every commit);
//   - foreign_keys=ON, so deleting a person cascades to faces and photos;
//   - secure_delete=ON, so deleted rows are overwritten with zeros instead
//     of lingering in free pages;
//   - busy_timeout and BEGIN IMMEDIATE transactions, so a second process
//     writing the same file waits its turn instead of failing.
//
// Within the process all writes go through one connection, so concurrent
// writers queue in database/sql and never see SQLITE_BUSY; reads use their
// own pool of connections.
//
// DeletePerson also checkpoints and truncates the WAL, so the deleted data
// does not survive in old WAL frames either. The truncation is best effort:
// when a reader holds an old snapshot for longer than two seconds the
// frames stay until a later checkpoint overwrites them.
type SQLite struct {
	*sqlStore
	path string
}

// sqliteMigrations are the schema versions of the SQLite store, oldest
// first; see dialect.migrations. PRAGMA user_version holds the version.
var sqliteMigrations = [][]string{
	// 1: people and their descriptors.
	{
		`CREATE TABLE people (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			metadata TEXT NOT NULL DEFAULT '{}',
			created_us INTEGER NOT NULL
		)`,
		`CREATE TABLE faces (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
			descriptor BLOB NOT NULL,
			model TEXT NOT NULL,
			score REAL NOT NULL,
			created_us INTEGER NOT NULL
		)`,
		`CREATE INDEX faces_person ON faces(person_id)`,
	},
	// 2: kept enrolment photos (Options.KeepPhotos), and an index for
	// listing people in creation order.
	{
		`CREATE TABLE photos (
			face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
			bytes BLOB NOT NULL
		)`,
		`CREATE INDEX people_created ON people(created_us, id)`,
	},
	// Version 3: a face holds one descriptor per model that described it
	// (a gallery migrating to a new model keeps the old descriptors until
	// every node has moved; fusion uses several).
	{
		`CREATE TABLE descriptors (
			face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
			model TEXT NOT NULL,
			vector BLOB NOT NULL,
			PRIMARY KEY (face_id, model)
		)`,
		`INSERT INTO descriptors (face_id, model, vector) SELECT id, model, descriptor FROM faces`,
		`ALTER TABLE faces DROP COLUMN descriptor`,
		`ALTER TABLE faces DROP COLUMN model`,
	},
	// Version 4: one row that the readiness check rewrites, to learn that
	// the store still takes writes (a read-only or full disk does not).
	{
		`CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), checked_us INTEGER NOT NULL)`,
	},
	// Version 5: the change feed (see changes.go). AUTOINCREMENT, so an ID
	// is never reused after the newest rows are pruned.
	{
		`CREATE TABLE changes (id INTEGER PRIMARY KEY AUTOINCREMENT, person_id TEXT NOT NULL)`,
	},
}

var sqliteDialect = dialect{
	name:       "sqlite",
	migrations: sqliteMigrations,
	version: func(ctx context.Context, tx *sql.Tx) (int, error) {
		var v int
		err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
		return v, err
	},
	setVersion: func(ctx context.Context, tx *sql.Tx, v int) error {
		// PRAGMA takes no bound parameters; v is an int we control.
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v))
		return err
	},
	constraint: func(err error) (fk, unique bool) {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false, false
		}
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return true, false
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return false, true
		}
		return false, false
	},
	unavailable: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		switch e.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return true
		}
		return false
	},
	afterDelete: func(ctx context.Context, db *sql.DB) error {
		// Copy the zeroed pages into the database file and empty the WAL,
		// which still holds earlier images of the deleted pages. The
		// truncation waits for readers of old snapshots; give up after
		// checkpointTimeout rather than hold up every writer behind the
		// one connection (the next checkpoint will get there).
		ctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
		defer cancel()
		var busy, logFrames, checkpointed int
		err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
		if err != nil && ctx.Err() == context.DeadlineExceeded {
			return nil
		}
		return err
	},
}

// checkpointTimeout bounds the WAL truncation after a deletion.
const checkpointTimeout = 2 * time.Second

// busyTimeoutMs is how long a connection waits for another process's write
// lock before failing with SQLITE_BUSY.
const busyTimeoutMs = 30000

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating it when absent) the SQLite store at path and
// upgrades its schema to the current version.
func OpenSQLite(path string, opt Options) (*SQLite, error) {
	if path == "" || strings.HasPrefix(path, ":") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("gallery: open sqlite: %w: want a file path, got %q", ErrInvalid, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("gallery: open sqlite %s: %w", path, err)
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "secure_delete(1)")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		// A file: URI with an escaped path, so names holding '?' or '#'
		// cannot be mistaken for parameters.
		u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
		return u.String()
	}
	// The file holds biometric data: only its owner may read it. SQLite
	// gives its -wal and -shm files the database file's permissions, so
	// creating the file first, 0600, covers them too.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("gallery: open sqlite %s: %w", path, err)
	}
	f.Close()
	w, err := sql.Open("sqlite", dsn("_pragma", "journal_mode(WAL)", "_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("gallery: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	// Switch the file to WAL (the writer's first connection does it) before
	// any reader connects.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("gallery: open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("gallery: open sqlite %s: %w", path, err)
	}
	s := &SQLite{sqlStore: newSQLStore(sqliteDialect, w, r, opt), path: path}
	if err := s.migrate(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("gallery: open sqlite %s: %w", path, err)
	}
	return s, nil
}

// Path returns the file the store was opened on.
func (s *SQLite) Path() string { return s.path }
