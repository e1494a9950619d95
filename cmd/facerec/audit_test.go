package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facerec/facerec/audit"
)

// TestAuditCommand: facerec audit filters by time, kind and person, prints
// JSON lines or a table, and names a corrupt line, prints the rest and
// exits 1.
func TestAuditCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, th := 0.31, 0.6
	now := time.Now()
	for _, ev := range []audit.Event{
		{Time: now.Add(-48 * time.Hour), Kind: audit.KindChange, Source: "server", Key: "master", Endpoint: "POST /v1/people", Action: audit.ActionEnroll, Person: "p1"},
		{Time: now.Add(-time.Hour), Kind: audit.KindDecision, Source: "server", Key: "abc123abc123", Endpoint: "POST /v1/identify", Result: audit.Known, Person: "p1", Distance: &d, Threshold: &th},
		{Time: now.Add(-time.Minute), Kind: audit.KindDecision, Source: "server", Key: "abc123abc123", Endpoint: "POST /v1/identify", Result: audit.Refused, Reason: "no_face"},
	} {
		if err := log.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	log.Close()

	lines := func(out string) []audit.Event {
		var evs []audit.Event
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var ev audit.Event
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			evs = append(evs, ev)
		}
		return evs
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, 3},
		{[]string{"--since", "24h"}, 2},
		{[]string{"--since", now.Add(-30 * time.Minute).UTC().Format(time.RFC3339)}, 1},
		{[]string{"--kind", "change"}, 1},
		{[]string{"--person", "p1"}, 2},
		{[]string{"--person", "p1", "--kind", "decision"}, 1},
	} {
		status, out, _ := runMain(t, append([]string{"audit", path}, c.args...)...)
		if got := lines(out); status != 0 || len(got) != c.want {
			t.Errorf("audit %v: status %d, %d records, want 0 and %d", c.args, status, len(got), c.want)
		}
	}
	status, out, _ := runMain(t, "audit", path, "--format", "text")
	if status != 0 || !strings.Contains(out, "RESULT") || !strings.Contains(out, "0.31") || !strings.Contains(out, "no_face") || strings.Count(out, "\n") != 4 {
		t.Errorf("--format text: status %d:\n%s", status, out)
	}
	for _, bad := range [][]string{{"--kind", "x"}, {"--since", "soon"}, {"--format", "csv"}} {
		if status, _, _ := runMain(t, append([]string{"audit", path}, bad...)...); status != exitUsage {
			t.Errorf("audit %v: status %d, want %d", bad, status, exitUsage)
		}
	}

	// A torn line in the middle (an edited file) and at the end (a crash).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitAfter(string(data), "\n")
	torn := parts[0] + "{\"time\":\"2026-\n" + parts[1] + parts[2] + `{"kind":"decision"`
	if err := os.WriteFile(path, []byte(torn), 0o600); err != nil {
		t.Fatal(err)
	}
	status, out, stderr := runMain(t, "audit", path)
	if status != exitFailure || len(lines(out)) != 3 || !strings.Contains(stderr, "audit.jsonl:2:") || !strings.Contains(stderr, "audit.jsonl:5:") ||
		!strings.Contains(stderr, "2 corrupt line(s)") {
		t.Errorf("corrupt lines: status %d, %d records, stderr %q", status, len(lines(out)), stderr)
	}
	// The server's log reads the same file back, skipping those lines.
	log, err = audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if got := log.Recent(audit.Filter{}, 10); len(got) != 3 || got[0].Reason != "no_face" {
		t.Errorf("Recent after reopening: %+v", got)
	}
	// A record appended after the torn last line is a line of its own.
	if err := log.Append(audit.Event{Kind: audit.KindChange, Source: "cli", Endpoint: "people rm", Action: audit.ActionDelete, Person: "p1"}); err != nil {
		t.Fatal(err)
	}
	status, out, _ = runMain(t, "audit", path, "--kind", "change")
	if got := lines(out); status != exitFailure || len(got) != 2 || got[1].Action != audit.ActionDelete {
		t.Errorf("after appending to a torn log: status %d, %+v", status, got)
	}
	if status, _, stderr := runMain(t, "audit", filepath.Join(t.TempDir(), "none.jsonl")); status != exitFailure || !strings.Contains(stderr, "no such file") {
		t.Errorf("a missing file: status %d, %q", status, stderr)
	}
}
