package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDir returns /work/shared as seen from the module root (the
// directory holding go.mod, then ../shared), skipping the test when the
// shared data is not there.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory; cannot locate ../shared")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared data directory %s is missing: %v", shared, err)
	}
	return shared
}

// lfwDir returns the LFW data directory, skipping when it is missing.
func lfwDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "data", "lfw")
	if _, err := os.Stat(filepath.Join(dir, "pairs.txt")); err != nil {
		t.Skipf("LFW data is missing under %s: %v", dir, err)
	}
	return dir
}

func parsePairsFile(t *testing.T, path string) *PairsFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := ParsePairs(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pf
}

func TestImagePath(t *testing.T) {
	if got, want := ImagePath("Aaron_Peirsol", 1), "Aaron_Peirsol/Aaron_Peirsol_0001.jpg"; got != want {
		t.Errorf("ImagePath = %q, want %q", got, want)
	}
	if got, want := ImagePath("George_W_Bush", 530), "George_W_Bush/George_W_Bush_0530.jpg"; got != want {
		t.Errorf("ImagePath = %q, want %q", got, want)
	}
}

func TestParsePairsSmall(t *testing.T) {
	in := "2\t1\nAl\t1\t2\nBo\t1\tCy\t3\n\nDe 2 4\nEd 1 Fa 2\n"
	pf, err := ParsePairs(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{Fold: 0, Same: true, NameA: "Al", NameB: "Al", IndexA: 1, IndexB: 2},
		{Fold: 0, Same: false, NameA: "Bo", NameB: "Cy", IndexA: 1, IndexB: 3},
		{Fold: 1, Same: true, NameA: "De", NameB: "De", IndexA: 2, IndexB: 4},
		{Fold: 1, Same: false, NameA: "Ed", NameB: "Fa", IndexA: 1, IndexB: 2},
	}
	if pf.Folds != 2 || pf.PerClass != 1 || len(pf.Pairs) != len(want) {
		t.Fatalf("got %d folds, %d per class, %d pairs", pf.Folds, pf.PerClass, len(pf.Pairs))
	}
	for i := range want {
		if pf.Pairs[i] != want[i] {
			t.Errorf("pair %d = %+v, want %+v", i, pf.Pairs[i], want[i])
		}
	}
	if got := pf.Pairs[1].PathB(); got != "Cy/Cy_0003.jpg" {
		t.Errorf("PathB = %q", got)
	}
	if s, f := pf.Same(), pf.FoldIndex(); !s[0] || s[1] || f[2] != 1 || f[1] != 0 {
		t.Errorf("Same = %v, FoldIndex = %v", s, f)
	}

	// View 1: one count, one fold.
	pf, err = ParsePairs(strings.NewReader("1\nAl 1 2\nBo 1 Cy 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pf.Folds != 1 || pf.PerClass != 1 || len(pf.Pairs) != 2 || !pf.Pairs[0].Same || pf.Pairs[1].Same {
		t.Errorf("view 1 parse = %+v", pf)
	}
}

func TestParsePairsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "line 1"},
		{"bad header", "x\n", "line 1"},
		{"three header fields", "1 2 3\n", "line 1"},
		{"zero count", "0\n", "line 1"},
		{"matched with 4 fields", "1\nAl 1 Bo 2\nBo 1 Cy 1\n", "line 2"},
		{"mismatched with 3 fields", "1\nAl 1 2\nBo 1 3\n", "line 3"},
		{"bad index", "1\nAl 1 x\nBo 1 Cy 1\n", "line 2"},
		{"zero index", "1\nAl 1 2\nBo 0 Cy 1\n", "line 3"},
		{"negative index", "1\nAl -1 2\nBo 1 Cy 1\n", "line 2"},
		{"truncated", "2\nAl 1 2\nBo 1 3\nCy 1 Dd 2\n", "line 5"},
		{"extra line", "1\nAl 1 2\nBo 1 Cy 1\nDe 1 2\n", "line 4"},
		{"path escape", "1\n.. 1 2\nBo 1 Cy 1\n", "line 2"},
		{"slash in name", "1\nAl 1 2\nBo 1 a/b 1\n", "line 3"},
		{"huge header", "1000000000 1000000000\n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePairs(strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParsePairsLFW(t *testing.T) {
	dir := lfwDir(t)
	root := filepath.Join(dir, "deepfunneled")
	for _, tc := range []struct {
		file              string
		folds, pairs, per int
	}{
		{"pairs.txt", 10, 6000, 300},
		{"pairsDevTrain.txt", 1, 2200, 1100},
		{"pairsDevTest.txt", 1, 1000, 500},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pf := parsePairsFile(t, filepath.Join(dir, tc.file))
			if pf.Folds != tc.folds || len(pf.Pairs) != tc.pairs || pf.PerClass != tc.per {
				t.Fatalf("got %d folds, %d pairs, %d per class; want %d, %d, %d",
					pf.Folds, len(pf.Pairs), pf.PerClass, tc.folds, tc.pairs, tc.per)
			}
			matched := 0
			perFold := make([]int, tc.folds)
			for _, p := range pf.Pairs {
				if p.Same {
					matched++
					if p.NameA != p.NameB {
						t.Errorf("matched pair with two names: %+v", p)
					}
				} else if p.NameA == p.NameB {
					t.Errorf("mismatched pair with one name: %+v", p)
				}
				perFold[p.Fold]++
			}
			if matched != tc.pairs/2 {
				t.Errorf("%d matched pairs, want %d", matched, tc.pairs/2)
			}
			for f, n := range perFold {
				if n != 2*tc.per {
					t.Errorf("fold %d has %d pairs, want %d", f, n, 2*tc.per)
				}
			}
			missing := 0
			for _, p := range pf.Pairs {
				for _, rel := range []string{p.PathA(), p.PathB()} {
					if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
						if missing++; missing <= 5 {
							t.Errorf("referenced image missing: %v", err)
						}
					}
				}
			}
			if missing > 0 {
				t.Errorf("%d referenced images missing", missing)
			}
		})
	}
	pf := parsePairsFile(t, filepath.Join(dir, "pairs.txt"))
	first := pf.Pairs[0]
	if first.NameA != "Abel_Pacheco" || first.IndexA != 1 || first.IndexB != 4 || !first.Same {
		t.Errorf("first pair of pairs.txt = %+v", first)
	}
}

func TestParsePeople(t *testing.T) {
	people, err := ParsePeople(strings.NewReader("2\nAl 3\nBo 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 2 || people[0] != (Person{Name: "Al", Images: 3}) || people[1].Name != "Bo" {
		t.Errorf("view 1 people = %+v", people)
	}
	if got := people[0].Paths(); len(got) != 3 || got[2] != "Al/Al_0003.jpg" {
		t.Errorf("Paths = %v", got)
	}

	people, err = ParsePeople(strings.NewReader("2\n1\nAl 3\n2\nBo 1\nCy 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Person{{0, "Al", 3}, {1, "Bo", 1}, {1, "Cy", 2}}
	if len(people) != len(want) {
		t.Fatalf("view 2 people = %+v", people)
	}
	for i := range want {
		if people[i] != want[i] {
			t.Errorf("person %d = %+v, want %+v", i, people[i], want[i])
		}
	}

	for _, tc := range []struct{ in, want string }{
		{"", "line 1"},
		{"2\nAl 3\n", "line 3"},
		{"1\nAl x\n", "line 2"},
		{"1\nAl 3 4\n", "line 2"},
		{"1\nAl 3\nBo 1\n", "line 3"},
		{"2\n1\nAl 3\nBo 1\n", "line 4"},
		{"1\n../x 3\n", "line 2"},
	} {
		if _, err := ParsePeople(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePeople(%q) error = %v, want one mentioning %q", tc.in, err, tc.want)
		}
	}
}

func TestParsePeopleLFW(t *testing.T) {
	dir := lfwDir(t)
	for _, tc := range []struct {
		file   string
		people int
	}{
		{"peopleDevTrain.txt", 4038},
		{"peopleDevTest.txt", 1711},
	} {
		f, err := os.Open(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		people, err := ParsePeople(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(people) != tc.people {
			t.Errorf("%s: %d people, want %d", tc.file, len(people), tc.people)
		}
		// Spot-check that the counts match the images on disk.
		for _, p := range people[:20] {
			for _, rel := range p.Paths() {
				if _, err := os.Stat(filepath.Join(dir, "deepfunneled", rel)); err != nil {
					t.Errorf("%s: %v", tc.file, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "deepfunneled", ImagePath(p.Name, p.Images+1))); err == nil {
				t.Errorf("%s: %s has more than %d images", tc.file, p.Name, p.Images)
			}
		}
	}
	f, err := os.Open(filepath.Join(dir, "people.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	people, err := ParsePeople(f)
	if err != nil {
		t.Fatalf("people.txt: %v", err)
	}
	if len(people) != 5749 {
		t.Errorf("people.txt: %d people, want 5749", len(people))
	}
	if folds := people[len(people)-1].Fold + 1; folds != 10 {
		t.Errorf("people.txt: %d folds, want 10", folds)
	}
}
