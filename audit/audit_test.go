package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentAppends: records appended at once by many goroutines and
// two Logs on one file (two processes) come out whole, one a line.
func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	a, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		l := a
		if g%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if err := l.Append(Event{Kind: KindChange, Source: "cli", Endpoint: "test", Action: ActionEnroll, Person: fmt.Sprintf("g%d-%d", g, i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	b.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	if err := Read(bytes.NewReader(data), func(line int, ev Event, err error) error {
		if err != nil {
			t.Errorf("line %d: %v", line, err)
		}
		seen[ev.Person] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 800 {
		t.Errorf("%d distinct records, want 800", len(seen))
	}
}

func TestFilterAndParse(t *testing.T) {
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"90m":                  now.Add(-90 * time.Minute),
		"2026-12-01":           time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"2026-12-02T17:00:00Z": now.Add(-time.Hour),
	} {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1h", "yesterday", "2026-13-01"} {
		if _, err := ParseSince(bad, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}
	ev := Event{Time: now, Kind: KindDecision, Claimed: "p1"}
	for f, want := range map[Filter]bool{
		{}:                                 true,
		{Since: now.Add(time.Second)}:      false,
		{Kind: KindChange}:                 false,
		{Person: "p1", Kind: KindDecision}: true,
		{Person: "p2"}:                     false,
	} {
		if f.Match(ev) != want {
			t.Errorf("%+v.Match = %v, want %v", f, !want, want)
		}
	}
	if _, err := ParseKind("both"); err == nil {
		t.Error(`ParseKind("both") accepted`)
	}
}

// BenchmarkAppend: the cost of a record, synced or not (to compare with
// the ~30 ms of a recognition).
func BenchmarkAppend(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "a.jsonl"), Options{NoSync: noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			d := 0.4
			for b.Loop() {
				if err := l.Append(Event{Kind: KindDecision, Source: "server", Key: "0a1b2c3d4e5f", Endpoint: "POST /v1/identify",
					Result: Known, Person: "01JEXAMPLE", Distance: &d, Threshold: &d, Model: "m"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
