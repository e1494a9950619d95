package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
)

// auditHarness is a harness whose server writes its audit log to a file,
// with a rule that refuses a match whose runner-up is within 0.1.
func auditHarness(t *testing.T) (*harness, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	h := newHarness(t, harnessOptions{
		cfg: func(c *server.Config) { c.Audit = log },
		svc: func(c *recognition.Config) { c.Decision.Margin = 0.1 },
	})
	return h, path
}

// readAudit reads every record of the log file.
func readAudit(t *testing.T, path string) []audit.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	if err := audit.Read(bytes.NewReader(data), func(line int, ev audit.Event, err error) error {
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func keyIDOf(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])[:12]
}

// TestAuditLog: a known, an unknown and two refused decisions, and the
// changes (enrolment, added face, rename, deletion) are in the log, written
// before the answers came, with the fields an auditor needs and neither
// the key nor any photo or descriptor.
func TestAuditLog(t *testing.T) {
	h, path := auditHarness(t)
	alice := h.enroll("Alice", onePerson(t, 1))
	// Added face and rename.
	body, ct := multipartBody(t, file("photo", onePerson(t, 1)))
	if r := h.do(http.MethodPost, "/v1/people/"+alice.ID+"/faces", h.fullKey, ct, body); r.status != http.StatusCreated {
		t.Fatalf("add face: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodPatch, "/v1/people/"+alice.ID, h.fullKey, "application/json", strings.NewReader(`{"name":"Alicia"}`)); r.status != http.StatusOK {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}

	if out := h.identify(h.recKey, onePerson(t, 1)); out.Faces[0].Match == nil {
		t.Fatal("Alice not recognised")
	}
	if out := h.identify(h.recKey, onePerson(t, 7)); out.Faces[0].Match != nil {
		t.Fatal("a stranger recognised")
	}
	noFace := pixelPhoto(t, 3, 0, layoutEqual)
	body, ct = multipartBody(t, file("photo", noFace))
	h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body)

	events := readAudit(t, path)
	if len(events) != 6 {
		t.Fatalf("%d records after 3 changes and 3 identifications, want 6: %+v", len(events), events)
	}
	for i, want := range []string{audit.ActionEnroll, audit.ActionAddFace, audit.ActionRename} {
		ev := events[i]
		if ev.Kind != audit.KindChange || ev.Action != want || ev.Person != alice.ID || ev.Key != "master" || ev.Source != "server" {
			t.Errorf("record %d = %+v, want the %s of %s by the master key", i, ev, want, alice.ID)
		}
	}
	rec := keyIDOf(h.recKey)
	known, unknown, refused := events[3], events[4], events[5]
	if known.Kind != audit.KindDecision || known.Result != audit.Known || known.Person != alice.ID || known.Key != rec ||
		known.Endpoint != "POST /v1/identify" || known.Distance == nil || known.Threshold == nil || known.Model != fakeModel {
		t.Errorf("known decision: %+v", known)
	}
	if unknown.Result != audit.Unknown || unknown.Person != "" || unknown.Distance == nil || *unknown.Distance < 1 ||
		unknown.Threshold == nil || *unknown.Threshold <= 0 || unknown.Key != rec {
		t.Errorf("unknown decision: %+v", unknown)
	}
	if refused.Result != audit.Refused || refused.Reason != "no_face" || refused.Key != rec {
		t.Errorf("refused decision: %+v", refused)
	}

	// A second person from the same face makes the runner-up too close:
	// the rule refuses, and the log says why.
	body, ct = multipartBody(t, field("name", "Twin"), file("photo", onePerson(t, 1)))
	if r := h.do(http.MethodPost, "/v1/people", h.fullKey, ct, body); r.status != http.StatusCreated {
		t.Fatalf("enrolling the twin: %d %s", r.status, r.body)
	}
	if out := h.identify(h.recKey, onePerson(t, 1)); out.Faces[0].Match != nil {
		t.Fatal("matched despite a runner-up at the same distance")
	}
	// Verification: the claim holds, then fails.
	body, ct = multipartBody(t, field("person_id", alice.ID), file("photo", onePerson(t, 7)))
	h.do(http.MethodPost, "/v1/verify", h.recKey, ct, body)
	if r := h.do(http.MethodDelete, "/v1/people/"+alice.ID, h.fullKey, "", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	events = readAudit(t, path)[6:]
	if len(events) != 4 {
		t.Fatalf("%d more records, want 4 (enrol, refusal, verification, deletion): %+v", len(events), events)
	}
	if ev := events[1]; ev.Result != audit.Refused || ev.Reason != "runner_up_too_close" || ev.Distance == nil {
		t.Errorf("runner-up refusal: %+v", ev)
	}
	if ev := events[2]; ev.Result != audit.Unknown || ev.Claimed != alice.ID || ev.Endpoint != "POST /v1/verify" || ev.Distance == nil || ev.Threshold == nil {
		t.Errorf("failed verification: %+v", ev)
	}
	if ev := events[3]; ev.Kind != audit.KindChange || ev.Action != audit.ActionDelete || ev.Person != alice.ID || ev.Key != "master" {
		t.Errorf("deletion: %+v", ev)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{h.recKey, masterKey, "Alicia", "Alice"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the log holds %q", secret)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the log's mode: %v %v, want 0600", st.Mode(), err)
	}
}

// TestEventsEndpoint: GET /v1/events gives the latest records, newest
// first, filtered by kind and time, to a full key only.
func TestEventsEndpoint(t *testing.T) {
	h, _ := auditHarness(t)
	alice := h.enroll("Alice", onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 9))

	if r := h.do(http.MethodGet, "/v1/events", h.recKey, "", nil); r.status != http.StatusForbidden {
		t.Errorf("a recognize key read the events: %d", r.status)
	}
	var out struct {
		Events []audit.Event `json:"events"`
	}
	h.do(http.MethodGet, "/v1/events", h.fullKey, "", nil).decode(t, http.StatusOK, &out)
	if len(out.Events) != 3 || out.Events[0].Result != audit.Unknown || out.Events[1].Person != alice.ID || out.Events[2].Action != audit.ActionEnroll {
		t.Fatalf("events: %+v", out.Events)
	}
	h.do(http.MethodGet, "/v1/events?kind=change&limit=5", h.fullKey, "", nil).decode(t, http.StatusOK, &out)
	if len(out.Events) != 1 || out.Events[0].Kind != audit.KindChange {
		t.Errorf("kind=change: %+v", out.Events)
	}
	h.do(http.MethodGet, "/v1/events?since=2099-01-01", h.fullKey, "", nil).decode(t, http.StatusOK, &out)
	if len(out.Events) != 0 {
		t.Errorf("since the future: %+v", out.Events)
	}
	h.do(http.MethodGet, "/v1/events?limit=1", h.fullKey, "", nil).decode(t, http.StatusOK, &out)
	if len(out.Events) != 1 {
		t.Errorf("limit=1: %d events", len(out.Events))
	}
	for _, q := range []string{"since=yesterday", "kind=other", "limit=0"} {
		if r := h.do(http.MethodGet, "/v1/events?"+q, h.fullKey, "", nil); r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte("invalid_field")) {
			t.Errorf("%s: %d %s, want 400 invalid_field", q, r.status, r.body)
		}
	}
	// Without an audit log the endpoint says so.
	plain := newHarness(t, harnessOptions{})
	if r := plain.do(http.MethodGet, "/v1/events", plain.fullKey, "", nil); r.status != http.StatusNotFound || !bytes.Contains(r.body, []byte("--audit")) {
		t.Errorf("without a log: %d %s", r.status, r.body)
	}
}

// TestAuditUnavailable: a decision the log cannot take is not given.
func TestAuditUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.Audit = log }})
	h.enroll("Alice", onePerson(t, 1))
	log.Close() // every later record fails
	body, ct := multipartBody(t, file("photo", onePerson(t, 1)))
	r := h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body)
	if r.status != http.StatusServiceUnavailable || !bytes.Contains(r.body, []byte(server.CodeAuditUnavailable)) || bytes.Contains(r.body, []byte("Alice")) {
		t.Errorf("identify with a broken log: %d %s, want 503 audit_unavailable without the decision", r.status, r.body)
	}
}

// TestDecisionCounters: /metrics counts known, unknown and refused
// decisions (by reason), with or without an audit log.
func TestDecisionCounters(t *testing.T) {
	t.Run("no log", func(t *testing.T) { testDecisionCounters(t, harnessOptions{}) })
	t.Run("with a log", func(t *testing.T) {
		log, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		testDecisionCounters(t, harnessOptions{cfg: func(c *server.Config) { c.Audit = log }})
	})
}

func testDecisionCounters(t *testing.T, opts harnessOptions) {
	h := newHarness(t, opts)
	count := func(labels string) float64 {
		t.Helper()
		re := regexp.MustCompile(`(?m)^facerec_decisions_total\{` + regexp.QuoteMeta(labels) + `\} (\S+)$`)
		m := re.FindStringSubmatch(h.metricsText())
		if m == nil {
			return 0
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const known, unknown, noFace = `reason="",result="known"`, `reason="",result="unknown"`, `reason="no_face",result="refused"`
	if !strings.Contains(h.metricsText(), "facerec_decisions_total{"+known+"} 0") {
		t.Error("the known counter is not shown at 0 before any decision")
	}
	h.enroll("Alice", onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 1))
	h.identify(h.recKey, pixelPhoto(t, 5, 2, layoutEqual)) // two strangers
	body, ct := multipartBody(t, file("photo", pixelPhoto(t, 3, 0, layoutEqual)))
	h.do(http.MethodPost, "/v1/identify", h.recKey, ct, body)
	for labels, want := range map[string]float64{known: 2, unknown: 2, noFace: 1} {
		if got := count(labels); got != want {
			t.Errorf("facerec_decisions_total{%s} = %v, want %v", labels, got, want)
		}
	}
	// The enrolment is a change, not a decision.
	if m := regexp.MustCompile(`(?m)^facerec_decisions_total\{reason="",result=""\}.*$`).FindString(h.metricsText()); m != "" {
		t.Errorf("a change counted as a decision: %s", m)
	}
	var info map[string]any
	if err := json.Unmarshal(h.get("/v1/info").body, &info); err != nil || info["audit"] != (opts.cfg != nil) {
		t.Errorf("/v1/info audit = %v (%v), want %v", info["audit"], err, opts.cfg != nil)
	}
}
