package server_test

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/facerec/facerec/server"
)

// immutable sets or clears the immutable attribute of files (chattr), which
// makes the kernel refuse writes even to descriptors already open, even
// for root: a real SQLite file that stops taking writes under a running
// server, as a read-only remount or a full disk does. It reports whether
// the attribute could be set.
func immutable(t *testing.T, on bool, paths ...string) bool {
	t.Helper()
	flag := "-i"
	if on {
		flag = "+i"
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if out, err := exec.Command("chattr", flag, p).CombinedOutput(); err != nil {
			if on {
				t.Logf("chattr %s %s: %v: %s", flag, p, err, out)
			}
			return false
		}
	}
	return true
}

// TestReadOnlySQLiteFile: when the gallery's SQLite file stops taking
// writes under a running server, readiness fails, an enrolment and a
// deletion are answered 503 store_unavailable with Retry-After (never a
// bare 500), the person whose deletion was not stored stops matching at
// once and the answer says the store still holds them; once the file takes
// writes again, the deletion can be retried and succeeds.
func TestReadOnlySQLiteFile(t *testing.T) {
	h := newHarness(t, harnessOptions{noKeys: true})
	p := h.enroll("Revoked", onePerson(t, 5))
	if out := h.identify("", onePerson(t, 5)); out.Faces[0].Match == nil {
		t.Fatal("not identified before the file went read-only")
	}
	files := []string{h.dbPath, h.dbPath + "-wal", h.dbPath + "-journal"}
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("no chattr: cannot make the file read-only under the server")
	}
	if !immutable(t, true, files...) {
		immutable(t, false, files...)
		t.Skip("cannot set the immutable attribute here (not root, or a file system without it)")
	}
	defer immutable(t, false, files...)

	r := h.do(http.MethodGet, "/readyz", "", "", nil)
	// A check made within the last 2 s may still be cached: wait it out.
	waitFor(t, "readyz to fail", func() bool {
		r = h.do(http.MethodGet, "/readyz", "", "", nil)
		return r.status == http.StatusServiceUnavailable
	})
	if r.header.Get("Retry-After") == "" {
		t.Errorf("readyz 503 without Retry-After: %s", r.body)
	}

	body, ct := multipartBody(t, field("name", "Newcomer"), file("photo", onePerson(t, 6)))
	er := h.do(http.MethodPost, "/v1/people", "", ct, body)
	er.wantError(t, http.StatusServiceUnavailable, server.CodeUnavailable)
	if er.header.Get("Retry-After") == "" {
		t.Errorf("enrolment 503 without Retry-After: %s", er.body)
	}

	dr := h.do(http.MethodDelete, "/v1/people/"+p.ID, "", "", nil)
	dr.wantError(t, http.StatusServiceUnavailable, server.CodeUnavailable)
	if dr.header.Get("Retry-After") == "" || !strings.Contains(string(dr.body), "still holds them") {
		t.Errorf("deletion answer %s (Retry-After %q): want one saying the gallery still holds them", dr.body, dr.header.Get("Retry-After"))
	}
	if out := h.identify("", onePerson(t, 5)); out.Faces[0].Match != nil {
		t.Errorf("the person still matches after the deletion that could not be stored: %+v", out.Faces[0].Match)
	}

	immutable(t, false, files...)
	waitFor(t, "readyz to recover", func() bool {
		return h.do(http.MethodGet, "/readyz", "", "", nil).status == http.StatusOK
	})
	if r := h.do(http.MethodDelete, "/v1/people/"+p.ID, "", "", nil); r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Errorf("retried deletion: %d %s", r.status, r.body)
	}
	if r := h.get("/v1/people/" + p.ID); r.status != http.StatusNotFound {
		t.Errorf("after the retried deletion the person is still stored: %d %s", r.status, r.body)
	}
	h.stillServing()
}
