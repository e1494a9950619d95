package photo

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestListFoldersFollowsLinks: identity folders and photos that are
// symbolic links are listed like real ones (a dataset subset made of
// links); hidden entries, plain files in the root and non-images are not;
// a dangling link is an error that names it.
func TestListFoldersFollowsLinks(t *testing.T) {
	src := t.TempDir()
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(src, "ann", "ann_1.jpg"))
	write(filepath.Join(src, "ann", "ann_2.PNG"))
	write(filepath.Join(src, "bob", "bob_1.jpg"))
	write(filepath.Join(src, "loose.jpg"))

	root := t.TempDir()
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	link(filepath.Join(src, "ann"), "ann")          // a linked folder
	write(filepath.Join(root, "cy", "cy_1.jpg"))    // a real one
	write(filepath.Join(root, "cy", "notes.txt"))   // not an image
	write(filepath.Join(root, "cy", ".hidden.jpg")) // hidden
	if err := os.Symlink(filepath.Join(src, "loose.jpg"), filepath.Join(root, "cy", "cy_2.jpg")); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(root, "README.jpg")) // a file in the root is no identity
	write(filepath.Join(root, ".git", "x.jpg"))
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := ListFolders(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Folder{
		{"ann", []string{filepath.Join(root, "ann", "ann_1.jpg"), filepath.Join(root, "ann", "ann_2.PNG")}},
		{"cy", []string{filepath.Join(root, "cy", "cy_1.jpg"), filepath.Join(root, "cy", "cy_2.jpg")}},
		{"empty", nil},
	}
	if !slices.EqualFunc(got, want, func(a, b Folder) bool { return a.Name == b.Name && slices.Equal(a.Files, b.Files) }) {
		t.Errorf("ListFolders = %v, want %v", got, want)
	}

	link(filepath.Join(src, "gone"), "dan")
	if _, err := ListFolders(root); err == nil || !strings.Contains(err.Error(), "dan") {
		t.Errorf("dangling folder link: %v, want an error naming it", err)
	}
	if _, err := ListFolders(filepath.Join(root, "nope")); err == nil {
		t.Error("a missing root listed")
	}
}

func TestIsImageName(t *testing.T) {
	for name, want := range map[string]bool{"a.jpg": true, "b.JPEG": true, "c.pgm": true, "d.webp": true, "e.txt": false, "f": false, "g.jpg.bak": false} {
		if IsImageName(name) != want {
			t.Errorf("IsImageName(%q) = %v", name, !want)
		}
	}
}
