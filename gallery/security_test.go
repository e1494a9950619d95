package gallery

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	for _, bad := range []string{"", "  ", "Ali\u200bce", "Ali\u202ece", "\ufeffAlice", "Ali\u2066ce", "Ali\u2028ce", "Ali\u2029ce", "a\nb", "a\x00b", "\xff"} {
		if n, err := CleanName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CleanName(%+q) = %q, %v; want ErrInvalid", bad, n, err)
		}
	}
	// One name, one spelling: e + combining acute is stored as é.
	if n, err := CleanName(" Zoe\u0301 "); err != nil || n != "Zo\u00e9" {
		t.Errorf("CleanName(decomposed) = %+q, %v; want the NFC form", n, err)
	}
	if n, err := CleanName("Jean-Luc Picard"); err != nil || n != "Jean-Luc Picard" {
		t.Errorf("CleanName of a plain name = %q, %v", n, err)
	}
}

// TestStoredNameIsClean: the store applies the same rule, whoever calls it.
func TestStoredNameIsClean(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "g.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	if _, _, err := s.Enroll(ctx, "Ali\u200bce", nil, testFace(rng)); !errors.Is(err, ErrInvalid) {
		t.Errorf("enrol with a zero-width space: %v, want ErrInvalid", err)
	}
	p, _, err := s.Enroll(ctx, "Zoe\u0301", nil, testFace(rng))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Person(ctx, p.ID); err != nil || got.Name != "Zo\u00e9" || p.Name != got.Name {
		t.Errorf("stored %+q (returned %+q), %v; want the NFC form", got.Name, p.Name, err)
	}
}

// TestSQLiteFilesArePrivate: the database and its -wal and -shm files hold
// names and descriptors, so only their owner may read them.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.db")
	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Enroll(context.Background(), "A", nil, testFace(rand.New(rand.NewPCG(5, 6)))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(f), st.Mode().Perm())
		}
	}
}

// TestRevocationFailsClosed: when the store cannot delete (here the
// writer refuses writes, as on a read-only or full disk) the error is
// ErrUnavailable and says the store still holds the person, and the person
// stops matching at once all the same.
func TestRevocationFailsClosed(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "g.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	g, err := Open(ctx, s, testModel, testDim)
	if err != nil {
		t.Fatal(err)
	}
	f := testFace(rand.New(rand.NewPCG(7, 8)))
	p, _, err := g.Enroll(ctx, "Revoked", nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	err = g.DeletePerson(ctx, p.ID)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "still holds") {
		t.Fatalf("delete on a store that cannot write: %v, want ErrUnavailable saying the store still holds them", err)
	}
	if ms, err := g.Search(f.Descriptors[testModel], 1); err != nil || len(ms) != 0 {
		t.Errorf("after the failed deletion the person still matches: %+v, %v", ms, err)
	}
	if _, err := s.Person(ctx, p.ID); err != nil {
		t.Errorf("the store should still hold the person: %v", err)
	}
	// Other writes say the same.
	if _, _, err := g.Enroll(ctx, "New", nil, testFace(rand.New(rand.NewPCG(9, 9)))); !errors.Is(err, ErrUnavailable) {
		t.Errorf("enrol on a store that cannot write: %v, want ErrUnavailable", err)
	}
	// Once the store writes again, the retried deletion goes through.
	if _, err := s.w.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		t.Fatal(err)
	}
	if err := g.DeletePerson(ctx, p.ID); err != nil {
		t.Fatalf("retried deletion: %v", err)
	}
	if _, err := s.Person(ctx, p.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the retried deletion: %v, want ErrNotFound", err)
	}
}

// TestCheckWrites: Check makes a write, so a store that takes none fails it.
func TestCheckWrites(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "g.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check of a working store: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("check of a store that takes no writes: %v, want ErrUnavailable", err)
	}
}
