package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
)

func TestRestartKeepsGallery(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gallery.db")
	h := newHarness(t, harnessOptions{dbPath: db})
	alice := h.enroll("Alice", onePerson(t, 1))
	bob := h.enroll("Bob", onePerson(t, 2))
	h.form("/v1/people/"+alice.ID+"/faces", file("photo", onePerson(t, 11))).decode(t, http.StatusCreated, &person{})
	h.do(http.MethodDelete, "/v1/people/"+bob.ID, masterKey, "", nil)
	h.close()

	h = newHarness(t, harnessOptions{dbPath: db})
	var got person
	h.get("/v1/people/"+alice.ID).decode(t, http.StatusOK, &got)
	if got.Name != "Alice" || got.Faces != 2 {
		t.Errorf("after the restart Alice is %+v, want 2 faces", got)
	}
	h.get("/v1/people/"+bob.ID).wantError(t, http.StatusNotFound, server.CodeNotFound)
	// The search index is rebuilt from the file: both of Alice's faces.
	for _, identity := range []uint8{1, 11} {
		out := h.identify(h.recKey, onePerson(t, identity))
		if out.Faces[0].Match == nil || out.Faces[0].Match.ID != alice.ID {
			t.Errorf("after the restart, face %d identified as %+v, want Alice", identity, out.Faces[0].Match)
		}
	}
	if out := h.identify(h.recKey, onePerson(t, 2)); out.Faces[0].Match != nil {
		t.Errorf("deleted Bob identified after the restart: %+v", out.Faces[0].Match)
	}
}

// childEnv makes the test binary, re-executed, run a server instead of
// the tests (see TestKillDuringEnrolment).
const childEnv = "FACEREC_SERVER_TEST_CHILD_DB"

// TestKillDuringEnrolment SIGKILLs a server process in the middle of a
// stream of enrolments and checks that every enrolment it acknowledged
// (201) is in the database afterwards.
func TestKillDuringEnrolment(t *testing.T) {
	if db := os.Getenv(childEnv); db != "" {
		runChildServer(t, db)
		return
	}
	db := filepath.Join(t.TempDir(), "gallery.db")
	child := exec.Command(os.Args[0], "-test.run=^TestKillDuringEnrolment$")
	child.Env = append(os.Environ(), childEnv+"="+db)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				addr <- a
			}
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("the child server did not start")
	}

	// Enrol from several connections at once until well past the kill.
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	photo := onePerson(t, 1)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, ct := multipartBody(t, field("name", fmt.Sprintf("w%d-%d", w, i)), file("photo", photo))
				resp, err := client.Post(url+"/v1/people", ct, body)
				if err != nil {
					continue // the server is gone, or going
				}
				var p person
				err = json.NewDecoder(resp.Body).Decode(&p)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated && err == nil {
					mu.Lock()
					acked = append(acked, p.ID)
					mu.Unlock()
				}
			}
		}()
	}
	waitFor(t, "some enrolments", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 150
	})
	if err := child.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	err = child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child ended with %v, want killed", err)
	}
	close(stop)
	wg.Wait()

	store, err := gallery.OpenSQLite(db, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for _, id := range acked {
		if _, err := store.Person(ctx, id); err != nil {
			t.Errorf("acknowledged enrolment %s lost: %v", id, err)
		}
	}
	_, total, err := store.People(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total < len(acked) {
		t.Errorf("%d people stored, fewer than the %d acknowledged", total, len(acked))
	}
	t.Logf("%d enrolments acknowledged before SIGKILL, %d stored", len(acked), total)
}

// runChildServer is the child side of TestKillDuringEnrolment: a real
// server on a real port, with the fake recognizer and no keys, serving
// until it is killed.
func runChildServer(t *testing.T, db string) {
	store, g := openGallery(t, db, fakeDecision, fakeDim)
	defer store.Close()
	svc, err := recognition.New(recognition.Config{Recognizer: &pixelRecognizer{}, Gallery: g, Decision: fakeDecision})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Service: svc, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	if err := srv.Serve(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
}

// TestModelMismatch verifies a person whose only face was made by another
// model version: no comparison is possible, and the answer says so.
func TestModelMismatch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gallery.db")
	store, err := gallery.OpenSQLite(db, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float32, fakeDim)
	d[1] = 1
	old, _, err := store.Enroll(context.Background(), "Old", nil, gallery.Face{Descriptors: map[string][]float32{"face_recognition_model@old": d}, Score: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	h := newHarness(t, harnessOptions{dbPath: db})
	body, ct := multipartBody(t, field("person_id", old.ID), file("photo", onePerson(t, 1)))
	h.do(http.MethodPost, "/v1/verify", h.recKey, ct, body).wantError(t, http.StatusConflict, server.CodeModelMismatch)
	// The old face is not searched either.
	if out := h.identify(h.recKey, onePerson(t, 1)); out.Faces[0].Match != nil {
		t.Errorf("a face of another model matched: %+v", out.Faces[0].Match)
	}
	h.stillServing()
}

// serverOver runs a keyless test server with the fake recognizer over a
// new SQLite store wrapped by wrap (a store that fails in some way).
func serverOver(t *testing.T, wrap func(gallery.Store) gallery.Store) *harness {
	t.Helper()
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := gallery.Open(context.Background(), wrap(store), fakeModel, fakeDim)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := recognition.New(recognition.Config{Recognizer: &pixelRecognizer{}, Gallery: g, Decision: fakeDecision})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Service: svc, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{t: t, url: ts.URL, srv: srv, gal: g}
}

// unwritableStore is a store whose deletions fail as on a full disk.
type unwritableStore struct{ gallery.Store }

func (unwritableStore) DeletePerson(ctx context.Context, id string) error {
	return fmt.Errorf("%w: database or disk is full", gallery.ErrUnavailable)
}

// TestDeleteOnUnwritableStore: a deletion the store cannot make is a clear
// 503 store_unavailable with Retry-After, never a bare 500, and the person
// stops matching at once.
func TestDeleteOnUnwritableStore(t *testing.T) {
	h := serverOver(t, func(s gallery.Store) gallery.Store { return unwritableStore{s} })
	p := h.enroll("Revoked", onePerson(t, 4))
	if out := h.identify("", onePerson(t, 4)); out.Faces[0].Match == nil {
		t.Fatal("not identified before the deletion")
	}
	r := h.do(http.MethodDelete, "/v1/people/"+p.ID, "", "", nil)
	r.wantError(t, http.StatusServiceUnavailable, server.CodeUnavailable)
	if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "no longer matches") {
		t.Errorf("answer %s (Retry-After %q), want one saying the person no longer matches", r.body, r.header.Get("Retry-After"))
	}
	if out := h.identify("", onePerson(t, 4)); out.Faces[0].Match != nil {
		t.Errorf("the person still matches after the failed deletion: %+v", out.Faces[0].Match)
	}
}

// TestReadiness: /readyz is 503 with Retry-After while the store takes no
// writes, and /healthz stays 200 but names the failing dependency.
func TestReadiness(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var body map[string]string
	h.do(http.MethodGet, "/readyz", "", "", nil).decode(t, http.StatusOK, &body)
	if body["status"] != "ready" {
		t.Errorf("readyz of a working server = %v", body)
	}

	bad := serverOver(t, func(s gallery.Store) gallery.Store { return readOnlyStore{s} })
	r := bad.do(http.MethodGet, "/readyz", "", "", nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "read-only") {
		t.Errorf("readyz with a read-only store: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	bad.do(http.MethodGet, "/healthz", "", "", nil).decode(t, http.StatusOK, &body)
	if body["status"] != "degraded" || !strings.Contains(body["store"], "read-only") {
		t.Errorf("healthz with a read-only store = %v, want degraded naming the store", body)
	}
}

// readOnlyStore is a store that no longer takes writes.
type readOnlyStore struct{ gallery.Store }

func (readOnlyStore) Check(context.Context) error {
	return fmt.Errorf("%w: the disk is read-only", gallery.ErrUnavailable)
}
