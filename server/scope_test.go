package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestEveryEndpointByScope: every method of every path the OpenAPI document
// describes (TestOpenAPIRoutes keeps that the server's whole route table) is
// tried with no key, a recognize key and a full key. A path missing from
// the table below fails the test, so a new endpoint has to state who may
// call it.
func TestEveryEndpointByScope(t *testing.T) {
	const (
		open      = "open"      // no key needed
		recognize = "recognize" // a recognize key is enough
		full      = "full"      // a full key only
	)
	need := map[string]string{
		"GET /v1/people":             full,
		"POST /v1/people":            full,
		"GET /v1/people/{id}":        full,
		"PATCH /v1/people/{id}":      full,
		"DELETE /v1/people/{id}":     full,
		"POST /v1/people/{id}/faces": full,
		"GET /v1/history":            full,
		"GET /v1/events":             full,
		"POST /v1/identify":          recognize,
		"POST /v1/verify":            recognize,
		"POST /v1/compare":           recognize,
		"POST /v1/analyze":           recognize,
		"POST /v1/challenge":         recognize,
		"GET /metrics":               recognize,
		"GET /v1/info":               open,
		"GET /openapi.json":          open,
		"GET /healthz":               open,
		"GET /readyz":                open,
	}
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	h := newHarness(t, harnessOptions{})
	alice := h.enroll("Alice", onePerson(t, 1))
	seen := 0
	for path, ops := range doc.Paths {
		for m := range ops {
			method := strings.ToUpper(m)
			switch method {
			case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut:
			default:
				continue // parameters, summary
			}
			route := method + " " + path
			want, ok := need[route]
			if !ok {
				t.Errorf("%s: not in this test's table; say which scope it needs", route)
				continue
			}
			seen++
			url := strings.ReplaceAll(path, "{id}", alice.ID)
			for _, c := range []struct {
				who, key string
				denied   int // the status it must get, 0: anything but 401 and 403
			}{
				{"no key", "", map[string]int{open: 0, recognize: 401, full: 401}[want]},
				{"recognize key", h.recKey, map[string]int{open: 0, recognize: 0, full: 403}[want]},
				{"full key", h.fullKey, 0},
			} {
				// No body: an allowed POST answers 400, never 401/403.
				r := h.do(method, url, c.key, "", nil)
				switch {
				case c.denied != 0 && r.status != c.denied:
					t.Errorf("%s with %s: status %d, want %d", route, c.who, r.status, c.denied)
				case c.denied == 0 && (r.status == 401 || r.status == 403):
					t.Errorf("%s with %s: status %d, want it allowed", route, c.who, r.status)
				}
			}
		}
	}
	if seen != len(need) {
		t.Errorf("openapi.json describes %d of the table's %d routes", seen, len(need))
	}
}
