package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/server"
)

// TestServeFollowsAnotherProcess: a serving server finds a person enrolled
// in its SQLite file through another handle (as `facerec enroll` does),
// sees the person's rename, and stops matching them once deleted there,
// each within a second, without a restart.
func TestServeFollowsAnotherProcess(t *testing.T) {
	h := newHarness(t, harnessOptions{noKeys: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	h.url = "http://" + ln.Addr().String()

	store, other := openGallery(t, h.dbPath, fakeDecision, fakeDim)
	defer store.Close()
	const identity = 7
	v := make([]float32, fakeDim)
	v[identity] = 1
	match := func() string {
		out := h.identify("", onePerson(t, identity))
		if m := out.Faces[0].Match; m != nil {
			return m.ID + " " + m.Name
		}
		return ""
	}
	within := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s made by another process: not seen by the server after 1 s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}
	if m := match(); m != "" {
		t.Fatalf("matched %s before any enrolment", m)
	}
	p, _, err := other.Enroll(ctx, "Hedy Lamarr", nil, gallery.Face{Descriptors: map[string][]float32{fakeModel: v}, Score: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	enrol := within("an enrolment", func() bool { return match() == p.ID+" Hedy Lamarr" })
	if _, err := other.Rename(ctx, p.ID, "Hedwig Kiesler"); err != nil {
		t.Fatal(err)
	}
	rename := within("a rename", func() bool { return match() == p.ID+" Hedwig Kiesler" })
	if err := other.DeletePerson(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	del := within("a deletion", func() bool { return match() == "" })
	t.Logf("seen by the server after: enrolment %v, rename %v, deletion %v",
		enrol.Round(time.Millisecond), rename.Round(time.Millisecond), del.Round(time.Millisecond))

	var health map[string]string
	h.do(http.MethodGet, "/healthz", "", "", nil).decode(t, http.StatusOK, &health)
	if health["feed"] != "ok" {
		t.Errorf("healthz = %v, want feed ok", health)
	}
}

// switchable is a store whose person lookups fail as with the database
// down once down is set.
type switchable struct {
	gallery.Store
	down *atomic.Bool
}

func (s switchable) Person(ctx context.Context, id string) (gallery.Person, error) {
	if s.down.Load() {
		return gallery.Person{}, fmt.Errorf("gallery: person %s: %w: unexpected EOF", id, gallery.ErrUnavailable)
	}
	return s.Store.Person(ctx, id)
}

// TestIdentifyStoreUnreachable: with the store unreachable, identifying an
// enrolled face is 503 store_unavailable with Retry-After, never a bare 500
// and never a match the store could not confirm.
func TestIdentifyStoreUnreachable(t *testing.T) {
	var down atomic.Bool
	h := serverOver(t, func(s gallery.Store) gallery.Store { return switchable{Store: s, down: &down} })
	h.enroll("Known", onePerson(t, 8))
	down.Store(true)
	body, ct := multipartBody(t, file("photo", onePerson(t, 8)))
	r := h.do(http.MethodPost, "/v1/identify", "", ct, body)
	r.wantError(t, http.StatusServiceUnavailable, server.CodeUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After: %s", r.body)
	}
}
