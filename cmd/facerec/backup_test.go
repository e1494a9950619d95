package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/facerec/facerec/gallery"
)

// TestGalleryBackupCommand runs `facerec gallery backup` on a gallery that
// another writer keeps enrolling into, and checks the summary it prints
// against the copy, which opens as a gallery with everyone enrolled before
// the command ran.
func TestGalleryBackupCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "gallery.db")
	s, err := gallery.OpenSQLite(db, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	face := func(i int) gallery.Face {
		d := make([]float32, 128)
		d[i%128] = 1
		return gallery.Face{Descriptors: map[string][]float32{"test@1": d}, Score: 0.9}
	}
	var before []string
	for i := range 10 {
		p, _, err := s.Enroll(ctx, fmt.Sprintf("before %d", i), nil, face(i))
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, p.ID)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			if _, _, err := s.Enroll(ctx, fmt.Sprintf("during %d", i), nil, face(i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	out := filepath.Join(dir, "backup.db")
	stdout, err := runCommand(t, galleryCmd(), "", "backup", "--db", db, out)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var info gallery.BackupInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatalf("stdout %q is not the JSON summary: %v", stdout, err)
	}
	c, err := gallery.OpenSQLite(out, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, id := range before {
		if _, err := c.Person(ctx, id); err != nil {
			t.Errorf("person %s enrolled before the backup is not in it: %v", id, err)
		}
	}
	_, n, err := c.People(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != info.People || info.People < len(before) || info.Faces != info.People || info.Path != out {
		t.Errorf("summary %+v; the copy holds %d people, %d were enrolled before", info, n, len(before))
	}

	// A second backup to the same file is refused, and so is PostgreSQL.
	if _, err := runCommand(t, galleryCmd(), "", "backup", "--db", db, out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v, want a refusal", err)
	}
	if _, err := runCommand(t, galleryCmd(), "", "backup", "--db", "postgres://localhost/x", out+"2"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup of PostgreSQL: %v, want a pointer to pg_dump", err)
	}
	if _, err := runCommand(t, galleryCmd(), "", "backup", "--db", filepath.Join(dir, "none.db"), out+"3"); err == nil {
		t.Error("backup of a missing gallery succeeded")
	}
}
