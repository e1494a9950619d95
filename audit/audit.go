// Package audit is the door's audit log: one JSON line per decision the
// server makes about a face (who it was, or unknown, or refused and why)
// and per change to the gallery (who changed what), appended to a file.
//
// A record holds identifiers, distances and thresholds, never a photo, a
// descriptor or a secret: the key that made a request is named by its id
// (the first 12 hex digits of its SHA-256, as `facerec keys list` shows
// it), "master" for FACEREC_API_KEY, "none" on a server without keys.
//
// # Durability
//
// Append writes the whole line with one write(2) on a file opened with
// O_APPEND (so that several processes appending to one file never
// interleave lines) and, unless Options.NoSync, fsyncs it before it
// returns. The server appends before it answers, so an answer a client
// received is in the log, on disk; with NoSync it survives a crash of
// the process but not of the machine.
package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is what a record is about.
type Kind string

const (
	// KindDecision is an identification or verification decision.
	KindDecision Kind = "decision"
	// KindChange is a change to the gallery.
	KindChange Kind = "change"
)

// Results of a decision.
const (
	Known   = "known"   // a person was recognised (identify) or the claim held (verify)
	Unknown = "unknown" // nobody within the threshold, or not the person claimed
	Refused = "refused" // no decision about a person: Reason says why
)

// Actions of a change.
const (
	ActionEnroll  = "enroll"
	ActionAddFace = "add_face"
	ActionDelete  = "delete"
	ActionRename  = "rename"
	ActionImport  = "import"
	ActionReembed = "reembed"
)

// Event is one record. Zero fields are left out of the JSON.
type Event struct {
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Source is "server" or "cli"; Key the id of the API key that asked
	// (never the key); Endpoint the route ("POST /v1/identify") or the
	// command ("facerec enroll").
	Source   string `json:"source"`
	Key      string `json:"key,omitempty"`
	Endpoint string `json:"endpoint"`

	// A decision: Result (Known, Unknown or Refused), the person
	// recognised (Person) or claimed (Claimed, verify), Reason of a
	// refusal (runner_up_too_close, not_live, no_face, multiple_faces,
	// corrupt_image...), the face's index in the photo, the distance to
	// the nearest (or claimed) person, the liveness score when the door
	// checks it, the threshold in force and the descriptor model.
	Result    string   `json:"result,omitempty"`
	Person    string   `json:"person,omitempty"`
	Claimed   string   `json:"claimed,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Face      *int     `json:"face,omitempty"`
	Distance  *float64 `json:"distance,omitempty"`
	Liveness  *float64 `json:"liveness,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Model     string   `json:"model,omitempty"`

	// A change: Action, the person changed (Person), and for a change of
	// many how many: people imported, faces re-embedded.
	Action string `json:"action,omitempty"`
	Count  int    `json:"count,omitempty"`
}

// Options configure a Log.
type Options struct {
	// NoSync skips the fsync after each record (see the package comment).
	NoSync bool
	// Recent is how many of the latest records Recent keeps in memory
	// (default DefaultRecent), read back from the end of the file at Open.
	Recent int
}

// DefaultRecent is Options.Recent's default.
const DefaultRecent = 1000

// seedBytes is how much of an existing log's end Open reads to fill the
// recent records.
const seedBytes = 1 << 20

// Log appends records to a file. It is safe for concurrent use.
type Log struct {
	path string
	opts Options

	mu     sync.Mutex
	f      *os.File
	recent []Event // oldest first, at most opts.Recent
	now    func() time.Time
}

// Open opens (creating it 0600: it says who came through the door when)
// the log at path for appending.
func Open(path string, opts Options) (*Log, error) {
	if opts.Recent <= 0 {
		opts.Recent = DefaultRecent
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: opening the log: %w", err)
	}
	l := &Log{path: path, opts: opts, f: f, now: time.Now}
	if err := l.seed(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// endLine ends a torn last line (a crash mid-write) so that the next
// record starts a line of its own instead of being lost with it.
func endLine(r *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	w, err := os.OpenFile(r.Name(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer w.Close()
	_, err = w.Write([]byte{'\n'})
	return err
}

// seed reads the latest records of an existing log; corrupt lines are
// skipped (`facerec audit` reports them).
func (l *Log) seed() error {
	r, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("audit: reading the log: %w", err)
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil {
		return fmt.Errorf("audit: reading the log: %w", err)
	}
	if err := endLine(r, st.Size()); err != nil {
		return fmt.Errorf("audit: ending the torn last line of %s: %w", l.path, err)
	}
	skipFirst := false
	if st.Size() > seedBytes {
		if _, err := r.Seek(st.Size()-seedBytes, io.SeekStart); err != nil {
			return fmt.Errorf("audit: reading the log: %w", err)
		}
		skipFirst = true // most likely the end of a line
	}
	return scan(r, func(_ int, ev Event, err error) error {
		if skipFirst {
			skipFirst = false
			return nil
		}
		if err == nil {
			l.remember(ev)
		}
		return nil
	})
}

// Path is the log's file.
func (l *Log) Path() string { return l.path }

// Append writes ev as one line (stamping Time when zero) and, unless
// NoSync, syncs it to disk; when it returns nil the record is in the log.
func (l *Log) Append(ev Event) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	ev.Time = ev.Time.UTC()
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if l.f == nil {
		return errors.New("audit: the log is closed")
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit: writing %s: %w", l.path, err)
	}
	if !l.opts.NoSync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("audit: syncing %s: %w", l.path, err)
		}
	}
	l.remember(ev)
	return nil
}

// remember keeps ev among the recent records; l.mu is held (or l is not
// shared yet).
func (l *Log) remember(ev Event) {
	if len(l.recent) == l.opts.Recent {
		l.recent = slices.Delete(l.recent, 0, 1)
	}
	l.recent = append(l.recent, ev)
}

// Recent returns up to limit of the latest records that match f (made
// by this process or read at Open), newest first.
func (l *Log) Recent(f Filter, limit int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for i := len(l.recent) - 1; i >= 0 && len(out) < limit; i-- {
		if f.Match(l.recent[i]) {
			out = append(out, l.recent[i])
		}
	}
	return out
}

// Close closes the file; later Appends fail.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Filter selects records; its zero value selects all.
type Filter struct {
	Since  time.Time // at or after
	Kind   Kind      // "" for both
	Person string    // the person recognised, claimed or changed
}

// Match reports whether ev passes the filter.
func (f Filter) Match(ev Event) bool {
	if !f.Since.IsZero() && ev.Time.Before(f.Since) {
		return false
	}
	if f.Kind != "" && ev.Kind != f.Kind {
		return false
	}
	if f.Person != "" && ev.Person != f.Person && ev.Claimed != f.Person {
		return false
	}
	return true
}

// ParseKind checks a kind's name ("" is both).
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case "", KindDecision, KindChange:
		return Kind(s), nil
	}
	return "", fmt.Errorf("unknown kind %q (want %s or %s)", s, KindDecision, KindChange)
}

// ParseSince reads a start time: a duration back from now ("90m", "24h")
// or a time in RFC 3339 ("2026-12-02T18:00:00Z") or as a date
// ("2026-12-02", UTC).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("since %q: a duration back from now must be positive", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (90m, 24h) or a time (2026-12-02T18:00:00Z, 2026-12-02)", s)
}

// CorruptError is a line of the log that is not a record.
type CorruptError struct {
	Line int
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("line %d: not an audit record: %v", e.Line, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// maxLine bounds a line: records are a few hundred bytes.
const maxLine = 1 << 20

// Read calls fn for each line of the log r, in order, with its number
// (from 1) and the record, or a *CorruptError for a line that is not one
// (a torn last line after a crash, an edited file); Read goes on after
// it unless fn returns an error, which Read then returns. Blank lines are
// skipped.
func Read(r io.Reader, fn func(line int, ev Event, err error) error) error {
	return scan(r, fn)
}

func scan(r io.Reader, fn func(line int, ev Event, err error) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var ev Event
		err := json.Unmarshal(b, &ev)
		if err == nil && ev.Kind != KindDecision && ev.Kind != KindChange {
			err = fmt.Errorf("kind %q", ev.Kind)
		}
		if err == nil && ev.Time.IsZero() {
			err = errors.New("no time")
		}
		if err != nil {
			err = &CorruptError{Line: n, Err: err}
		}
		if err := fn(n, ev, err); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("audit: reading the log: %w", err)
	}
	return nil
}
