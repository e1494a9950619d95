package photo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// imageExts are the file name extensions of the formats Decode reads.
var imageExts = []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".pnm"}

// IsImageName reports whether name ends with the extension of a format
// Decode reads (any case). Decode itself sniffs the bytes; the name only
// decides which files of a folder are taken for photos.
func IsImageName(name string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// Folder is one sub-folder of a dataset root: an identity named after the
// folder, and its image files.
type Folder struct {
	Name  string
	Files []string // paths under the root, sorted
}

// ListFolders returns the sub-folders of root, sorted by name, each with
// the image files (by [IsImageName]) directly in it, sorted; a folder
// without images is listed with none. Symbolic links are followed, both
// for the sub-folders (a dataset assembled from links to another one) and
// for the files; a link that leads nowhere is an error naming it, rather
// than a person or photo silently missing. Names starting with "." are
// skipped, as are plain files in root.
func ListFolders(root string) ([]Folder, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []Folder
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		isDir, err := followDir(dir, e)
		if err != nil {
			return nil, err
		}
		if !isDir {
			continue
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		f := Folder{Name: e.Name()}
		for _, fe := range files {
			if strings.HasPrefix(fe.Name(), ".") || !IsImageName(fe.Name()) {
				continue
			}
			path := filepath.Join(dir, fe.Name())
			if ok, err := followRegular(path, fe); err != nil {
				return nil, err
			} else if ok {
				f.Files = append(f.Files, path)
			}
		}
		slices.Sort(f.Files)
		out = append(out, f)
	}
	return out, nil
}

// followDir reports whether the entry at path is a folder, following a
// symbolic link.
func followDir(path string, e fs.DirEntry) (bool, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir(), nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("symbolic link %s: %w", path, err)
	}
	return fi.IsDir(), nil
}

// followRegular reports whether the entry at path is a regular file,
// following a symbolic link.
func followRegular(path string, e fs.DirEntry) (bool, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.Type().IsRegular(), nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("symbolic link %s: %w", path, err)
	}
	return fi.Mode().IsRegular(), nil
}
