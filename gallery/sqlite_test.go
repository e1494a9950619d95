package gallery

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sqliteV1DDL is the schema of version 1, written out by hand rather than
// taken from sqliteMigrations, so that the test also catches an edit to a
// released migration step.
const sqliteV1DDL = `
CREATE TABLE people (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	metadata TEXT NOT NULL DEFAULT '{}',
	created_us INTEGER NOT NULL
);
CREATE TABLE faces (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
	descriptor BLOB NOT NULL,
	model TEXT NOT NULL,
	score REAL NOT NULL,
	created_us INTEGER NOT NULL
);
CREATE INDEX faces_person ON faces(person_id);
PRAGMA user_version = 1;
`

// sqliteV2DDL takes a version-1 schema to version 2, written out by hand
// like sqliteV1DDL.
const sqliteV2DDL = `
CREATE TABLE photos (
	face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
	bytes BLOB NOT NULL
);
CREATE INDEX people_created ON people(created_us, id);
PRAGMA user_version = 2;
`

// oldSQLite creates an SQLite file at an old schema version by running
// ddl, and fills it with oldData.
func oldSQLite(t *testing.T, ddl string, faces []oldFace) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := openOldSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	oldData(t, db, false, faces)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// openOldSQLite opens path as the stores of old versions did in the
// respect that matters to TestSQLiteMigratedDeleteLeavesNoTrace: with
// secure_delete on every connection. Without it SQLite leaves stale copies
// of moved rows in pages, which no later deletion can know of.
func openOldSQLite(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=secure_delete(1)")
}

func TestSQLiteMigrateFromV1(t *testing.T) {
	faces := oldFaces(rand.New(rand.NewPCG(10, 10)), false)
	s, err := OpenSQLite(oldSQLite(t, sqliteV1DDL, faces), Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s, faces)
}

// TestSQLiteMigrateFromV2 upgrades a file of the last schema with one
// descriptor column per face, and kept photos, to descriptors by model.
func TestSQLiteMigrateFromV2(t *testing.T) {
	faces := oldFaces(rand.New(rand.NewPCG(13, 13)), true)
	s, err := OpenSQLite(oldSQLite(t, sqliteV1DDL+sqliteV2DDL, faces), Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s, faces)
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(sqliteMigrations)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(path, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v, want a refusal", err)
	}
}

// TestSQLiteFailedMigrationRollsBack checks that a migration step that
// fails leaves the file at its old version, with nothing half-applied.
func TestSQLiteFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// A v1 file that already has a "photos" table: step 2 cannot create it.
	if _, err := db.Exec(sqliteV1DDL + `CREATE TABLE photos (x INTEGER);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenSQLite(path, Options{}); err == nil {
		t.Fatal("migration over a conflicting table succeeded")
	}
	db, _ = sql.Open("sqlite", path)
	defer db.Close()
	var v, idx int
	db.QueryRow(`PRAGMA user_version`).Scan(&v)
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'people_created'`).Scan(&idx)
	if v != 1 || idx != 0 {
		t.Errorf("after the failed migration: user_version %d, people_created index %d; want 1 and 0", v, idx)
	}
}

// TestSQLiteFailedV3MigrationRollsBack makes step 3 fail after it has
// copied the descriptors, and checks that the file is left a working
// version-2 one: the old columns not dropped, nothing copied. With the
// obstacle gone, the upgrade then goes through.
func TestSQLiteFailedV3MigrationRollsBack(t *testing.T) {
	faces := oldFaces(rand.New(rand.NewPCG(14, 14)), true)
	path := oldSQLite(t, sqliteV1DDL+sqliteV2DDL, faces)
	// An obstacle step 3 meets only after it has created and filled the
	// descriptors table: a view reading faces.descriptor, which DROP
	// COLUMN refuses to break.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE VIEW old_descriptors AS SELECT descriptor FROM faces`); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSQLite(path, Options{}); err == nil {
		t.Fatal("migration over a view of the dropped column succeeded")
	}
	var v, tables, n int
	db.QueryRow(`PRAGMA user_version`).Scan(&v)
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'descriptors'`).Scan(&tables)
	if err := db.QueryRow(`SELECT count(*) FROM faces WHERE descriptor IS NOT NULL AND model IS NOT NULL`).Scan(&n); err != nil {
		t.Fatalf("the old columns are gone after the failed migration: %v", err)
	}
	if v != 2 || tables != 0 || n != len(faces) {
		t.Errorf("after the failed migration: user_version %d, descriptors tables %d, old faces %d; want 2, 0, %d", v, tables, n, len(faces))
	}
	if _, err := db.Exec(`DROP VIEW old_descriptors`); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s, faces)
}

// TestSQLitePragmas checks the durability and privacy settings of both
// pools, as SQLite reports them.
func TestSQLitePragmas(t *testing.T) {
	s := openSQLiteTest(t, Options{}).(*SQLite)
	want := map[string]string{
		"journal_mode":  "wal",
		"synchronous":   "2", // FULL
		"foreign_keys":  "1",
		"secure_delete": "1",
		"busy_timeout":  fmt.Sprint(busyTimeoutMs),
	}
	for pool, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		for name, v := range want {
			var got string
			if err := db.QueryRow("PRAGMA " + name).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool, name, got, v)
			}
		}
	}
	if _, err := s.r.Exec(`DELETE FROM people`); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

func TestSQLiteOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?#%")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gallery ?x=1.db")
	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Enroll(context.Background(), "x", nil, testFace(rand.New(rand.NewPCG(1, 2)))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
	for _, bad := range []string{"", ":memory:", "file:x.db"} {
		if _, err := OpenSQLite(bad, Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("OpenSQLite(%q): %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := OpenSQLite(filepath.Join(t.TempDir(), "missing", "dir", "x.db"), Options{}); err == nil {
		t.Error("OpenSQLite in a missing directory succeeded")
	}
}

// readStoreFiles returns the database file and its WAL, concatenated.
func readStoreFiles(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestSQLiteDeleteLeavesNoTrace checks that after DeletePerson the person's
// name, descriptor and photo are nowhere in the database file or its WAL,
// neither in free pages (secure_delete) nor in old WAL frames (checkpoint).
// It first checks that they were there, so it cannot pass vacuously.
func TestSQLiteDeleteLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trace.db")
	s, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(11, 11))
	// A photo larger than a page, so it spills into overflow pages, and a
	// small one that stays in its row.
	big := bytes.Repeat([]byte("SECRET-PHOTO-BYTES-"), 1000)
	small := []byte("SMALL-SECRET-PHOTO")
	f1, f2 := testFace(rng), testFace(rng)
	f1.Photo, f2.Photo = big, small
	f2.Descriptors["other@2"] = randDescriptorN(rng, 64)
	p, _, err := s.Enroll(ctx, "Secret Name Zebedee", nil, f1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFace(ctx, p.ID, f2); err != nil {
		t.Fatal(err)
	}
	// Someone else stays, so the pages are reused rather than dropped.
	for range 20 {
		if _, _, err := s.Enroll(ctx, "bystander", nil, testFace(rng)); err != nil {
			t.Fatal(err)
		}
	}
	secrets := map[string][]byte{
		"name":               []byte("Secret Name Zebedee"),
		"big photo":          big[:64],
		"small photo":        small,
		"descriptor 1":       encodeDescriptor(f1.Descriptors[testModel])[:64],
		"descriptor 2":       encodeDescriptor(f2.Descriptors[testModel])[64:128],
		"other descriptor 2": encodeDescriptor(f2.Descriptors["other@2"])[:64],
	}
	files := readStoreFiles(t, path)
	for what, b := range secrets {
		if !bytes.Contains(files, b) {
			t.Fatalf("the %s is not in the files before the delete: the test would prove nothing", what)
		}
	}
	if err := s.DeletePerson(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	files = readStoreFiles(t, path)
	for what, b := range secrets {
		if bytes.Contains(files, b) {
			t.Errorf("the deleted person's %s is still in the files", what)
		}
	}
}

// TestSQLiteMigratedDeleteLeavesNoTrace is TestSQLiteDeleteLeavesNoTrace
// for a file upgraded from version 2: the upgrade copies each descriptor
// into the descriptors table and rewrites the faces rows without it, and
// neither may leave a copy that outlives the person's deletion.
func TestSQLiteMigratedDeleteLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(16, 16))
	faces := oldFaces(rng, true)
	faces[0].photo = bytes.Repeat([]byte("OLD-SECRET-PHOTO-"), 500)
	path := oldSQLite(t, sqliteV1DDL+sqliteV2DDL, faces)
	// Bystanders in the same tables, so the pages are reused rather than
	// dropped.
	db, err := openOldSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		id := fmt.Sprintf("bystander%d", i)
		if _, err := db.Exec(`INSERT INTO people (id, name, created_us) VALUES (?, 'bystander', 1)`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO faces (person_id, descriptor, model, score, created_us) VALUES (?, ?, ?, 0.5, 1)`,
			id, encodeDescriptor(randDescriptor(rng)), testModel); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	secrets := map[string][]byte{
		"name":         []byte("Old Person"),
		"photo":        faces[0].photo[:64],
		"descriptor 1": encodeDescriptor(faces[0].desc)[:64],
		"descriptor 2": encodeDescriptor(faces[1].desc)[64:128],
	}
	files := readStoreFiles(t, path)
	for what, b := range secrets {
		if !bytes.Contains(files, b) {
			t.Fatalf("the %s is not in the files before the delete: the test would prove nothing", what)
		}
	}
	if err := s.DeletePerson(ctx, "oldperson"); err != nil {
		t.Fatal(err)
	}
	files = readStoreFiles(t, path)
	for what, b := range secrets {
		if bytes.Contains(files, b) {
			t.Errorf("the deleted person's %s is still in the files", what)
		}
	}
}

// crashEnv names the database the helper process enrols into.
const crashEnv = "FACEREC_GALLERY_CRASH_DB"

// TestHelperEnrollLoop is not a test: TestCrashKeepsAcknowledgedWrites runs
// the test binary with it as a child process that enrols people from four
// goroutines until it is killed, printing each person's ID once Enroll has
// returned nil.
func TestHelperEnrollLoop(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process of TestCrashKeepsAcknowledgedWrites; runs only as its child")
	}
	s, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := 0; ; i++ {
				f := testFace(rng)
				f.Photo = bytes.Repeat([]byte{byte(i)}, 2000)
				p, _, err := s.Enroll(context.Background(), fmt.Sprintf("crash %d/%d", g, i), nil, f)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "enrolled %s\n", p.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedWrites kills (SIGKILL) a process in the middle
// of enrolling and checks that every enrolment it had acknowledged is in
// the file. It shows crash safety of the process; power-loss safety rests
// on synchronous=FULL (TestSQLitePragmas), which a test cannot cut power to
// check.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the crash test in short mode")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEnrollLoop$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill the child if it stalls, so the test cannot hang.
		timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		var acked []string
		sc := bufio.NewScanner(out)
		killAt := 100 + 50*round
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "enrolled "); ok {
				acked = append(acked, id)
			}
			if len(acked) == killAt {
				cmd.Process.Kill() // SIGKILL: no deferred calls, no Close
			}
		}
		timer.Stop()
		cmd.Wait()
		if len(acked) < killAt {
			t.Fatalf("round %d: the child acknowledged only %d enrolments before it ended; stderr:\n%s", round, len(acked), stderr.String())
		}

		s, err := OpenSQLite(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range acked {
			if _, err := s.Person(context.Background(), id); err != nil {
				t.Errorf("round %d: acknowledged person %s lost: %v", round, id, err)
			}
		}
		_, total, err := s.People(context.Background(), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		t.Logf("round %d: killed after %d acknowledged enrolments; %d people in the file", round, len(acked), total)
	}
}
