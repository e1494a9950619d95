package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/facerec/facerec/gallery"
)

// buildFacerec builds the facerec binary the crash tests kill.
func buildFacerec(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "facerec")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe starts `facerec serve` on db and waits until it answers.
func startServe(t *testing.T, bin, db string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--db", db, "--addr", addr, "--explain=false")
	// No key anywhere: the keyless loopback mode (with PostgreSQL the keys
	// file would be in the data dir).
	cmd.Env = append(os.Environ(), "FACEREC_API_KEY=", "XDG_DATA_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return cmd, addr, &stderr
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("serve did not come up; stderr:\n%s", stderr.String())
	return nil, "", nil
}

// enrollOnce enrols photo under name through the API; it returns the new
// person's ID on 201, and "" on anything else (the kill cuts requests).
func enrollOnce(addr, name string, photo []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", name)
	fw, _ := mw.CreateFormFile("photo", "photo.jpg")
	fw.Write(photo)
	mw.Close()
	res, err := http.Post("http://"+addr+"/v1/people", mw.FormDataContentType(), &body)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("%s: %s", res.Status, b)
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.ID == "" {
		return "", fmt.Errorf("201 without a person: %s", b)
	}
	return p.ID, nil
}

// checkGalleryFile opens the gallery at db (a file or a postgres:// URL)
// and checks that it is sound, that every ID in want is there, and that
// every person has a face.
func checkGalleryFile(t *testing.T, db string, want []string) (people, faces int) {
	t.Helper()
	ctx := context.Background()
	s, err := gallery.OpenURL(ctx, db, gallery.Options{})
	if err != nil {
		t.Fatalf("the gallery does not open after the kill: %v", err)
	}
	defer s.Close()
	if !gallery.IsPostgresURL(db) {
		// The gallery package registers the SQLite driver.
		raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var ok string
		err = raw.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok)
		raw.Close()
		if err != nil || ok != "ok" {
			t.Fatalf("the gallery is not sound after the kill: %q, %v", ok, err)
		}
	}
	for _, id := range want {
		if _, err := s.Person(ctx, id); err != nil {
			t.Errorf("acknowledged person %s lost: %v", id, err)
		}
	}
	per := map[string]int{}
	if err := s.Faces(ctx, func(f gallery.Face) error { per[f.PersonID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	ps, total, err := s.People(ctx, 10000, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if per[p.ID] == 0 {
			t.Errorf("person %s (%s) has no face: half-written", p.ID, p.Name)
		}
		faces += per[p.ID]
	}
	return total, faces
}

// TestKillServeDuringEnrolments SIGKILLs the built `facerec serve` while two
// clients enrol people through the API, restarts it on the same file, and
// checks after each round that every enrolment answered 201 is there and
// nothing half-written is.
func TestKillServeDuringEnrolments(t *testing.T) {
	realModels(t)
	killServe(t, filepath.Join(t.TempDir(), "gallery.db"))
}

// TestKillServeDuringEnrolmentsPostgres is TestKillServeDuringEnrolments
// on a PostgreSQL gallery (a fresh schema of FACEREC_TEST_POSTGRES; see
// gallery/testdata/postgres.sh).
func TestKillServeDuringEnrolmentsPostgres(t *testing.T) {
	realModels(t)
	base := os.Getenv("FACEREC_TEST_POSTGRES")
	if base == "" {
		t.Skip("FACEREC_TEST_POSTGRES is unset: export FACEREC_TEST_POSTGRES=$(gallery/testdata/postgres.sh) to run the PostgreSQL crash test")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("crash_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	killServe(t, u.String())
}

// killServe runs the kill rounds against the gallery at db.
func killServe(t *testing.T, db string) {
	bin := buildFacerec(t)
	var photos [][]byte
	for _, n := range []string{"Ada", "Bruno", "Chen"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", "samples", "known", n+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		photos = append(photos, b)
	}
	var acked []string
	const rounds = 3
	for round := range rounds {
		srv, addr, stderr := startServe(t, bin, db)
		killAt := 6 + 3*round
		var (
			mu      sync.Mutex
			n       int
			wg      sync.WaitGroup
			done    = make(chan struct{})
			once    sync.Once
			killed  time.Time
			refused int
		)
		for c := range 2 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					id, err := enrollOnce(addr, fmt.Sprintf("crash %d-%d-%d", round, c, i), photos[(c+i)%len(photos)])
					mu.Lock()
					if err == nil {
						acked = append(acked, id)
						n++
					} else {
						refused++
					}
					if n >= killAt {
						once.Do(func() {
							srv.Process.Signal(syscall.SIGKILL)
							killed = time.Now()
							close(done)
						})
					}
					mu.Unlock()
					if err != nil && refused > 50 {
						once.Do(func() { close(done) })
						return
					}
				}
			})
		}
		wg.Wait()
		srv.Wait()
		if killed.IsZero() {
			t.Fatalf("round %d: serve was never killed (%d acknowledged, %d failed); stderr:\n%s", round, n, refused, stderr.String())
		}
		people, faces := checkGalleryFile(t, db, acked)
		t.Logf("round %d: SIGKILL after %d acknowledged enrolments in the round (%d in all); the gallery holds %d people, %d faces", round, n, len(acked), people, faces)
	}
	// And the killed gallery serves again.
	srv, _, _ := startServe(t, bin, db)
	srv.Process.Signal(syscall.SIGKILL)
	srv.Wait()
}

// TestKillDuringImport SIGKILLs `facerec gallery import` part way through a
// large export and checks that the gallery opens, that every person in it
// is whole, and that a second import of the rest finishes the job.
func TestKillDuringImport(t *testing.T) {
	realModels(t)
	bin := buildFacerec(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	// One real enrolment gives a record of the default model; copies of it
	// under new IDs and names make the export large.
	photo := filepath.Join("..", "..", "docs", "samples", "known", "Ada.jpg")
	if out, err := exec.Command(bin, "enroll", "--db", src, "--name", "Ada", photo).CombinedOutput(); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	exp, err := exec.Command(bin, "gallery", "export", "--db", src).Output()
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(exp), &rec); err != nil {
		t.Fatal(err)
	}
	const total = 3000
	big := filepath.Join(dir, "big.jsonl")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	ids := make([]string, total)
	for i := range total {
		ids[i] = fmt.Sprintf("import%08d", i)
		rec["id"], rec["name"] = ids[i], fmt.Sprintf("Imported %d", i)
		b, _ := json.Marshal(rec)
		w.Write(append(b, '\n'))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db := filepath.Join(dir, "gallery.db")
	imp := exec.Command(bin, "gallery", "import", "--db", db, "--file", big)
	var stderr bytes.Buffer
	imp.Stderr = &stderr
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once some people are in: poll the file's row count.
	deadline := time.Now().Add(2 * time.Minute)
	var seen int
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if s, err := gallery.OpenSQLite(db, gallery.Options{}); err == nil {
			_, seen, _ = s.People(context.Background(), 1, 0)
			s.Close()
		}
		if seen >= 200 {
			break
		}
	}
	imp.Process.Signal(syscall.SIGKILL)
	imp.Wait()
	people, faces := checkGalleryFile(t, db, nil)
	atKill := people
	if people == 0 || people >= total || faces != people {
		t.Fatalf("after the kill: %d people, %d faces (of %d; import stderr:\n%s)", people, faces, total, stderr.String())
	}
	// The people in are a prefix of the export (each in its own
	// transaction, in order): import the rest.
	ctx := context.Background()
	s, err := gallery.OpenSQLite(db, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids[:people] {
		if _, err := s.Person(ctx, id); err != nil {
			t.Fatalf("record %d (%s) missing after the kill although %d people are in", i, id, people)
		}
	}
	s.Close()
	rest := filepath.Join(dir, "rest.jsonl")
	all, _ := os.ReadFile(big)
	lines := bytes.SplitAfter(all, []byte("\n"))
	if err := os.WriteFile(rest, bytes.Join(lines[people:], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "gallery", "import", "--db", db, "--file", rest).CombinedOutput(); err != nil {
		t.Fatalf("importing the rest: %v\n%s", err, out)
	}
	people, faces = checkGalleryFile(t, db, ids)
	if people != total || faces != total {
		t.Errorf("after importing the rest: %d people, %d faces, want %d", people, faces, total)
	}
	t.Logf("import of %d people SIGKILLed with %d seen in (polled), %d in the file after it; the rest imported, %d people whole", total, seen, atKill, people)
}
