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

func TestSQLiteMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(sqliteV1DDL); err != nil {
		t.Fatal(err)
	}
	desc := randDescriptor(rand.New(rand.NewPCG(10, 10)))
	v1Data(t, db, false, desc)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigratedV1(t, s, desc)
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
		"name":         []byte("Secret Name Zebedee"),
		"big photo":    big[:64],
		"small photo":  small,
		"descriptor 1": encodeDescriptor(f1.Descriptor)[:64],
		"descriptor 2": encodeDescriptor(f2.Descriptor)[64:128],
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
