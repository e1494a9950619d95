package train

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDatasetLinkedFolders: a dataset root whose identity folders are
// symbolic links to another dataset's (a subset made of links) opens with
// those identities and their images, as a copy would.
func TestDatasetLinkedFolders(t *testing.T) {
	src := makeFolder(t, map[string]int{"ann": 3, "bob": 2, "cy": 1}, 10, 10)
	root := t.TempDir()
	for _, name := range []string{"ann", "bob", "cy"} {
		if err := os.Symlink(filepath.Join(src, name), filepath.Join(root, name)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	d, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Aligned: true, MinImages: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.Name(0) != "ann" || d.Name(1) != "bob" || !slices.Equal(d.Counts(), []int{3, 2}) {
		t.Fatalf("linked folders: %d identities %v, want ann (3) and bob (2)", d.Len(), d.Counts())
	}
	if p := d.Paths(1)[0]; p != filepath.Join(root, "bob", "bob_0001.png") {
		t.Errorf("path %s, want it under the linked folder", p)
	}
	if _, err := d.Image(0, 2); err != nil {
		t.Errorf("reading through the link: %v", err)
	}
	// People names a linked folder as well as a real one.
	if sel, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Aligned: true, People: []string{"bob"}}); err != nil || sel.Len() != 1 {
		t.Errorf("People over linked folders: %v", err)
	}
}
