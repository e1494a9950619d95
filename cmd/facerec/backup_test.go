package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/gallery"
)

// TestGalleryBackup: gallery backup copies a SQLite gallery to a new file
// that the other commands open as a gallery, says how many people it
// holds, and refuses to overwrite a file or to copy PostgreSQL.
func TestGalleryBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	store, err := gallery.OpenSQLite(db, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float32, 128)
	d[3] = 1
	p, _, err := store.Enroll(context.Background(), "Ada", nil, gallery.Face{Descriptors: map[string][]float32{"m@1": d}, Score: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close() // the gallery stays open, as under a running server

	out := filepath.Join(dir, "backup.db")
	got, err := runCommand(t, galleryCmd(), "", "backup", "--db", db, out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Backup string
		People int
		Bytes  int64
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil || res.People != 1 || res.Backup != out || res.Bytes <= 0 {
		t.Fatalf("backup printed %q (%v)", got, err)
	}
	list, err := runCommand(t, peopleCmd(), "", "list", "--db", out)
	if err != nil || !strings.Contains(list, p.ID) {
		t.Errorf("people list of the backup = %q, %v; want %s", list, err, p.ID)
	}
	if _, err := runCommand(t, galleryCmd(), "", "backup", "--db", db, out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a backup over an existing file: %v", err)
	}
	if _, err := runCommand(t, galleryCmd(), "", "backup", "--db", "postgres://u@127.0.0.1/x", filepath.Join(dir, "b2.db")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("a backup of PostgreSQL: %v", err)
	}
}
