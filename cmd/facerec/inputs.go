package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/facerec/facerec/photo"
	"golang.org/x/term"
)

// expandPhotos turns the arguments of a command that reads photos into
// the photo files to read, in argument order: a file is taken as it is
// (whatever its name: the decoder says whether it is a photo), a folder
// stands for the photos under it, recursively (by their extension, sorted,
// following symbolic links). Problems (a missing path, a folder without a
// photo) are returned, one per argument, for the caller to report and
// count as failures; the other arguments still count. How many files in
// the folders were not photos is said once on stderr.
func expandPhotos(args []string, stderr io.Writer) (files []string, problems []error) {
	var skipped []string
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil {
			problems = append(problems, pathError(arg, err))
			continue
		}
		if !fi.IsDir() {
			files = append(files, arg)
			continue
		}
		found, others, err := photosUnder(arg)
		skipped = append(skipped, others...)
		switch {
		case err != nil:
			problems = append(problems, err)
		case len(found) == 0:
			problems = append(problems, fmt.Errorf("%s: no photo in this folder (looked for .jpg, .jpeg, .png, .webp, .gif, .bmp, .tif, .pgm, ...)", arg))
		}
		files = append(files, found...)
	}
	switch n := len(skipped); {
	case n == 1:
		fmt.Fprintf(stderr, "facerec: note: left out %s, not a photo by its name\n", skipped[0])
	case n > 1:
		fmt.Fprintf(stderr, "facerec: note: left out %d files that are not photos by their name, e.g. %s\n", n, skipped[0])
	}
	return files, problems
}

// pathError says what is wrong with a path without Go's "stat" prefix.
func pathError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file or folder", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied", path)
	}
	return err
}

// photosUnder lists the photos under dir, recursively, following symbolic
// links to folders (each real folder once, so a link loop ends), and the
// other files.
func photosUnder(dir string) (files, others []string, err error) {
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return pathError(dir, err)
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			mode := e.Type()
			if mode&fs.ModeSymlink != 0 {
				fi, err := os.Stat(path)
				if err != nil {
					return fmt.Errorf("symbolic link %s: %w", path, pathError(path, err))
				}
				mode = fi.Mode().Type()
			}
			switch {
			case mode.IsDir():
				if err := walk(path); err != nil {
					return err
				}
			case !mode.IsRegular():
			case photo.IsImageName(path):
				files = append(files, path)
			default:
				others = append(others, path)
			}
		}
		return nil
	}
	err = walk(dir)
	slices.Sort(files)
	return files, others, err
}

// knownPerson is one person of an enrolment folder and their photos.
type knownPerson struct {
	name   string
	photos []string
}

// knownPeople reads an enrolment folder as face_recognition's known_people
// is read: every photo directly in it is a person named after the file
// (Name.jpg), every sub-folder a person named after the folder with every
// photo in it. A name given both ways is one person with all the photos.
// People are sorted by name.
func knownPeople(root string) ([]knownPerson, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, pathError(root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder (--folders takes a folder of Name.jpg photos or Name/ sub-folders)", root)
	}
	byName := map[string][]string{}
	folders, err := photo.ListFolders(root)
	if err != nil {
		return nil, err
	}
	for _, f := range folders {
		byName[f.Name] = append(byName[f.Name], f.Files...)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !photo.IsImageName(name) {
			continue
		}
		path := filepath.Join(root, name)
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue // a folder named like a photo was listed above
		}
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		byName[stem] = append(byName[stem], path)
	}
	people := make([]knownPerson, 0, len(byName))
	for name, photos := range byName {
		slices.Sort(photos)
		people = append(people, knownPerson{name, photos})
	}
	slices.SortFunc(people, func(a, b knownPerson) int { return strings.Compare(a.name, b.name) })
	return people, nil
}

// bar is a progress bar; a nil *photoBar draws nothing.
type photoBar struct {
	bar interface {
		Add(int) error
		Clear() error
	}
}

// newPhotoBar is a progress bar on stderr over total photos, drawn only
// when there are several and stderr is a terminal (a log file gets the
// errors and the summary, not a bar's redraws).
func newPhotoBar(total int, what string) *photoBar {
	if total < 2 || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	return &photoBar{newBar(total, what)}
}

// add counts one photo done.
func (b *photoBar) add() {
	if b != nil {
		b.bar.Add(1)
	}
}

// clear erases the bar so that a line can be printed; the next add draws
// it again.
func (b *photoBar) clear() {
	if b != nil {
		b.bar.Clear()
	}
}
