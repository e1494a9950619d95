package gallery

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestBackupRestore: a backup of a live gallery, restored as the README
// says (the copy in the gallery file's place, old -wal and -shm removed),
// holds exactly what the gallery held when it was made — deleted people
// excluded — and nothing written after; it is 0600 and never overwrites.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "gallery.db")
	s, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := openGallery(t, s)
	rng := rand.New(rand.NewPCG(15, 7))
	var gone string
	for i := range 6 {
		f := testFace(rng)
		f.Photo = []byte{byte(i), 1, 2, 3}
		p, _, err := g.Enroll(ctx, "Person", map[string]string{"n": string(rune('a' + i))}, f)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			gone = p.ID
		}
	}
	if err := g.DeletePerson(ctx, gone); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := g.Export(ctx, &want); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "backup.db")
	if n, err := s.Backup(ctx, out); err != nil || n != 5 {
		t.Fatalf("backup: %d people, %v; want 5", n, err)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want mode 0600", st, err)
	}
	if _, err := s.Backup(ctx, out); err == nil {
		t.Fatal("a second backup overwrote the first")
	}
	// Written after the backup: must not be in it.
	if _, _, err := g.Enroll(ctx, "Later", nil, testFace(rng)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Restore: the copy in the gallery's place, without the old WAL.
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenSQLite(path, Options{KeepPhotos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rg := openGallery(t, r)
	var got bytes.Buffer
	if err := rg.Export(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("the restored gallery exports\n%s\nwant\n%s", got.Bytes(), want.Bytes())
	}
	if people, faces := rg.Size(); people != 5 || faces != 5 {
		t.Errorf("restored index: %d people, %d faces; want 5, 5", people, faces)
	}
	if bytes.Contains(b, []byte("Later")) {
		t.Error("the backup holds a person enrolled after it was made")
	}
}
