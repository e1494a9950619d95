package eval

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Pair is one verification pair from an LFW pairs file.
type Pair struct {
	// Fold is the zero-based fold the pair belongs to (always 0 for View 1).
	Fold int
	// Same reports whether both images show the same person.
	Same bool
	// NameA and NameB are the people shown; they are equal when Same is true.
	NameA, NameB string
	// IndexA and IndexB are the one-based image numbers of each person.
	IndexA, IndexB int
}

// PathA returns the first image's path relative to the LFW image root.
func (p Pair) PathA() string { return ImagePath(p.NameA, p.IndexA) }

// PathB returns the second image's path relative to the LFW image root.
func (p Pair) PathB() string { return ImagePath(p.NameB, p.IndexB) }

// PairsFile is a parsed LFW pairs file.
type PairsFile struct {
	// Folds is the number of folds: 10 for View 2 pairs.txt, 1 for View 1.
	Folds int
	// PerClass is the number of matched (and of mismatched) pairs per fold.
	PerClass int
	// Pairs holds every pair in file order: per fold, the matched pairs
	// followed by the mismatched pairs.
	Pairs []Pair
}

// Same returns the labels of the pairs, in order, as taken by [KFold].
func (f *PairsFile) Same() []bool {
	s := make([]bool, len(f.Pairs))
	for i, p := range f.Pairs {
		s[i] = p.Same
	}
	return s
}

// FoldIndex returns the fold of each pair, in order, as taken by [KFold].
func (f *PairsFile) FoldIndex() []int {
	s := make([]int, len(f.Pairs))
	for i, p := range f.Pairs {
		s[i] = p.Fold
	}
	return s
}

// ImagePath returns the LFW path of a person's index-th image (one-based)
// relative to the image root, e.g. "Aaron_Peirsol/Aaron_Peirsol_0001.jpg".
func ImagePath(name string, index int) string {
	return fmt.Sprintf("%s/%s_%04d.jpg", name, name, index)
}

// lineReader yields the non-blank lines of r split into fields, tracking
// line numbers so errors can point at the offending line.
type lineReader struct {
	sc   *bufio.Scanner
	line int
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{sc: bufio.NewScanner(r)}
}

// next returns the fields of the next non-blank line, or io.EOF.
func (lr *lineReader) next() ([]string, error) {
	for lr.sc.Scan() {
		lr.line++
		if f := strings.Fields(lr.sc.Text()); len(f) > 0 {
			return f, nil
		}
	}
	if err := lr.sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lr.line+1, err)
	}
	return nil, io.EOF
}

// mustNext is next with end of input turned into an error naming what
// was expected.
func (lr *lineReader) mustNext(what string) ([]string, error) {
	f, err := lr.next()
	if err == io.EOF {
		return nil, fmt.Errorf("line %d: unexpected end of file, want %s", lr.line+1, what)
	}
	return f, err
}

// expectEOF fails if any non-blank line is left.
func (lr *lineReader) expectEOF() error {
	_, err := lr.next()
	switch err {
	case io.EOF:
		return nil
	case nil:
		return fmt.Errorf("line %d: unexpected extra line", lr.line)
	default:
		return err
	}
}

// positive parses a strictly positive decimal integer field.
func positive(s, what string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive integer", what, s)
	}
	return n, nil
}

// checkName rejects names that could escape the image root once turned
// into a path; LFW names are plain words joined by underscores.
func checkName(s string) error {
	if s == "." || s == ".." || strings.ContainsAny(s, `/\`) {
		return fmt.Errorf("invalid person name %q", s)
	}
	return nil
}

// ParsePairs reads an LFW pairs file in either of its two formats:
//
//   - View 2 (pairs.txt): a header "folds n", then for each fold n matched
//     lines "name i j" followed by n mismatched lines "name1 i name2 j".
//   - View 1 (pairsDevTrain.txt, pairsDevTest.txt): a header "n", then n
//     matched lines and n mismatched lines, read as a single fold.
//
// Fields may be separated by any white space and blank lines are ignored.
// Errors name the offending line.
func ParsePairs(r io.Reader) (*PairsFile, error) {
	lr := newLineReader(r)
	head, err := lr.mustNext("header")
	if err != nil {
		return nil, fmt.Errorf("parse pairs: %w", err)
	}
	f := &PairsFile{Folds: 1}
	switch len(head) {
	case 1:
		f.PerClass, err = positive(head[0], "pair count")
	case 2:
		f.Folds, err = positive(head[0], "fold count")
		if err == nil {
			f.PerClass, err = positive(head[1], "pair count")
		}
	default:
		err = fmt.Errorf("header has %d fields, want 1 or 2", len(head))
	}
	if err != nil {
		return nil, fmt.Errorf("parse pairs: line %d: %w", lr.line, err)
	}
	// Guard the allocation against absurd headers; LFW has 6000 pairs.
	const maxPairs = 1 << 24
	if f.Folds > maxPairs || f.PerClass > maxPairs || f.Folds*f.PerClass > maxPairs/2 {
		return nil, fmt.Errorf("parse pairs: line %d: header declares too many pairs", lr.line)
	}
	f.Pairs = make([]Pair, 0, 2*f.Folds*f.PerClass)
	for fold := 0; fold < f.Folds; fold++ {
		for k := 0; k < 2*f.PerClass; k++ {
			same := k < f.PerClass
			p, err := parsePairLine(lr, fold, same)
			if err != nil {
				return nil, fmt.Errorf("parse pairs: %w", err)
			}
			f.Pairs = append(f.Pairs, p)
		}
	}
	if err := lr.expectEOF(); err != nil {
		return nil, fmt.Errorf("parse pairs: %w", err)
	}
	return f, nil
}

// parsePairLine reads one matched or mismatched pair line.
func parsePairLine(lr *lineReader, fold int, same bool) (Pair, error) {
	want, kind := 4, "mismatched pair \"name1 i name2 j\""
	if same {
		want, kind = 3, "matched pair \"name i j\""
	}
	fields, err := lr.mustNext(kind)
	if err != nil {
		return Pair{}, err
	}
	if len(fields) != want {
		return Pair{}, fmt.Errorf("line %d: %d fields, want %s", lr.line, len(fields), kind)
	}
	p := Pair{Fold: fold, Same: same, NameA: fields[0]}
	if same {
		p.NameB = fields[0]
		p.IndexA, err = positive(fields[1], "image number")
		if err == nil {
			p.IndexB, err = positive(fields[2], "image number")
		}
	} else {
		p.NameB = fields[2]
		p.IndexA, err = positive(fields[1], "image number")
		if err == nil {
			p.IndexB, err = positive(fields[3], "image number")
		}
	}
	if err == nil {
		err = checkName(p.NameA)
	}
	if err == nil {
		err = checkName(p.NameB)
	}
	if err != nil {
		return Pair{}, fmt.Errorf("line %d: %w", lr.line, err)
	}
	return p, nil
}

// Person is one entry of an LFW people file.
type Person struct {
	// Fold is the zero-based fold (always 0 for the View 1 files).
	Fold int
	// Name is the person's name as used in image paths.
	Name string
	// Images is how many images of the person exist, numbered from 1.
	Images int
}

// Paths returns the person's image paths relative to the LFW image root.
func (p Person) Paths() []string {
	paths := make([]string, p.Images)
	for i := range paths {
		paths[i] = ImagePath(p.Name, i+1)
	}
	return paths
}

// ParsePeople reads an LFW people file. It accepts the View 1 format of
// peopleDevTrain.txt and peopleDevTest.txt (a count n, then n lines
// "name count") and the View 2 format of people.txt (a fold count, then per
// fold a count n followed by n such lines). Errors name the offending line.
func ParsePeople(r io.Reader) ([]Person, error) {
	lr := newLineReader(r)
	head, err := lr.mustNext("header")
	if err != nil {
		return nil, fmt.Errorf("parse people: %w", err)
	}
	if len(head) != 1 {
		return nil, fmt.Errorf("parse people: line %d: header has %d fields, want 1", lr.line, len(head))
	}
	n, err := positive(head[0], "count")
	if err != nil {
		return nil, fmt.Errorf("parse people: line %d: %w", lr.line, err)
	}
	first, err := lr.mustNext("person \"name count\" or fold size")
	if err != nil {
		return nil, fmt.Errorf("parse people: %w", err)
	}
	var people []Person
	if len(first) != 1 {
		// View 1: the header counted people and first is the first of them.
		if people, err = readPeople(lr, people, 0, n, first); err != nil {
			return nil, fmt.Errorf("parse people: %w", err)
		}
	} else {
		// View 2: a lone number after the header means the header counted
		// folds and first is the size of the first fold.
		for fold := 0; fold < n; fold++ {
			if fold > 0 {
				if first, err = lr.mustNext("fold size"); err != nil {
					return nil, fmt.Errorf("parse people: %w", err)
				}
			}
			if len(first) != 1 {
				return nil, fmt.Errorf("parse people: line %d: %d fields, want a fold size", lr.line, len(first))
			}
			size, err := positive(first[0], "fold size")
			if err != nil {
				return nil, fmt.Errorf("parse people: line %d: %w", lr.line, err)
			}
			if people, err = readPeople(lr, people, fold, size, nil); err != nil {
				return nil, fmt.Errorf("parse people: %w", err)
			}
		}
	}
	if err := lr.expectEOF(); err != nil {
		return nil, fmt.Errorf("parse people: %w", err)
	}
	return people, nil
}

// readPeople appends count "name count" lines of the given fold to people.
// pending, when non-nil, holds the fields of an already read first line.
func readPeople(lr *lineReader, people []Person, fold, count int, pending []string) ([]Person, error) {
	for k := 0; k < count; k++ {
		fields := pending
		pending = nil
		if fields == nil {
			var err error
			if fields, err = lr.mustNext("person \"name count\""); err != nil {
				return nil, err
			}
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: %d fields, want person \"name count\"", lr.line, len(fields))
		}
		p := Person{Fold: fold, Name: fields[0]}
		images, err := positive(fields[1], "image count")
		if err == nil {
			err = checkName(p.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lr.line, err)
		}
		p.Images = images
		people = append(people, p)
	}
	return people, nil
}
