package gallery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBackupLiveGallery backs up a gallery while writers enrol people, and
// checks each copy: it opens as a gallery, it holds every person whose
// enrolment returned before the backup started and none that was deleted
// before it, and every person in it has their faces (no half-written
// enrolment).
func TestBackupLiveGallery(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSQLite(filepath.Join(dir, "gallery.db"), Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	gone, _, err := s.Enroll(ctx, "deleted before the backup", nil, testFace(rng))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePerson(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}

	// acked holds the IDs of the enrolments that have returned nil.
	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; !stop.Load(); i++ {
				f := testFace(rng)
				f.Photo = []byte(fmt.Sprintf("photo %d/%d", w, i))
				p, _, err := s.Enroll(ctx, fmt.Sprintf("writer %d/%d", w, i), nil, f)
				if err != nil {
					t.Error(err)
					return
				}
				// A second face, in its own transaction: a copy may hold
				// the first alone, never a person without one.
				if _, err := s.AddFace(ctx, p.ID, testFace(rng)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, p.ID)
				mu.Unlock()
			}
		})
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	waitFor := func(n int) {
		for {
			mu.Lock()
			k := len(acked)
			mu.Unlock()
			if k >= n || t.Failed() {
				return
			}
		}
	}
	for round := range 3 {
		waitFor(20 * (round + 1))
		mu.Lock()
		before := append([]string(nil), acked...)
		mu.Unlock()
		out := filepath.Join(dir, fmt.Sprintf("backup-%d.db", round))
		info, err := s.Backup(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if info.People < len(before) || info.Faces < 2*len(before) {
			t.Errorf("round %d: backup info %+v, want at least %d people with 2 faces each", round, info, len(before))
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("round %d: backup mode %v, want 0600", round, st.Mode().Perm())
		}
		checkCopy(t, out, before, []string{gone.ID}, info)
		t.Logf("round %d: %d enrolments acknowledged before the backup, %d people and %d faces in it", round, len(before), info.People, info.Faces)
	}
}

// checkCopy opens the backup at path as a gallery and checks that it holds
// the people in want, none of absent, and the counts info reported, and
// that every person in it has at least one face.
func checkCopy(t *testing.T, path string, want, absent []string, info BackupInfo) {
	t.Helper()
	ctx := context.Background()
	c, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatalf("the backup does not open as a gallery: %v", err)
	}
	defer c.Close()
	for _, id := range want {
		if _, err := c.Person(ctx, id); err != nil {
			t.Errorf("acknowledged person %s not in the backup: %v", id, err)
		}
	}
	for _, id := range absent {
		if _, err := c.Person(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted person %s in the backup: %v", id, err)
		}
	}
	faces := map[string]int{}
	if err := c.Faces(ctx, func(f Face) error { faces[f.PersonID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	people, total, err := c.People(ctx, 10000, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range faces {
		n += k
	}
	if total != info.People || n != info.Faces {
		t.Errorf("backup holds %d people and %d faces, its info says %d and %d", total, n, info.People, info.Faces)
	}
	for _, p := range people {
		if faces[p.ID] == 0 {
			t.Errorf("person %s (%s) in the backup has no face", p.ID, p.Name)
		}
	}
}

// TestBackupRefuses checks that a backup never overwrites a file, the
// gallery included, and leaves no partial file behind when it fails.
func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "gallery.db")
	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{existing, path, filepath.Join(dir, "no such dir", "b.db")} {
		if _, err := s.Backup(ctx, out); err == nil {
			t.Errorf("backup to %s succeeded, want a refusal", out)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file changed: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch e.Name() {
		case "gallery.db", "gallery.db-wal", "gallery.db-shm", "existing.db":
		default:
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestRestoreBackup follows the restore procedure of docs/operations.md:
// the gallery is closed, its -wal and -shm removed, and the backup copied
// in its place; the restored gallery holds what the backup held, and not
// what was enrolled after it.
func TestRestoreBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "gallery.db")
	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var kept []string
	for i := range 5 {
		p, _, err := s.Enroll(ctx, fmt.Sprintf("kept %d", i), nil, testFace(rng))
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p.ID)
	}
	out := filepath.Join(dir, "backup.db")
	info, err := s.Backup(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	later, _, err := s.Enroll(ctx, "after the backup", nil, testFace(rng))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	copyFile(t, out, path)
	checkCopy(t, path, kept, []string{later.ID}, info)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
