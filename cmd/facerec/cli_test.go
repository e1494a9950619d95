package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/recognition"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runMain runs the whole command line as main does and returns the exit
// status with stdout and stderr.
func runMain(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := rootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	cmd, err := execute(context.Background(), root, args)
	status = exitStatus(err, cmd, &errOut)
	if errOut.Len() > 0 {
		t.Logf("facerec %s: stderr: %s", strings.Join(args, " "), strings.TrimSpace(errOut.String()))
	}
	return status, out.String(), errOut.String()
}

// TestFlagPlaceholders: every flag that takes a text value names what it
// takes (`--model PATH`, `--format json|csv|text`), never "string" nor a
// word of the text that happened to be in backquotes.
func TestFlagPlaceholders(t *testing.T) {
	placeholder := regexp.MustCompile(`^(int|uint|float|duration|[^ ]*[A-Z|][^ ]*)$`)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if name, _ := pflag.UnquoteUsage(f); name != "" && !placeholder.MatchString(name) {
				t.Errorf("%s --%s shows the placeholder %q; name what it takes in backquotes (PATH, DIR, a|b)", c.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(rootCmd())
}

// TestExitStatus: 2 for a wrong command line (nothing done), 1 for inputs
// that fail, each error prefixed "facerec:"; the root help documents it.
func TestExitStatus(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"idnetify", "x.jpg"}, exitUsage},
		{[]string{"people", "lst"}, exitUsage},
		{[]string{"gallery", "exprot"}, exitUsage},
		{[]string{"people"}, exitOK}, // the group's help
		{[]string{"identify"}, exitUsage},
		{[]string{"identify", "--bogus", "x.jpg"}, exitUsage},
		{[]string{"identify", "--format", "xml", "x.jpg"}, exitUsage},
		{[]string{"identify", "--k", "0", "x.jpg"}, exitUsage},
		{[]string{"verify", "a.jpg"}, exitUsage},
		{[]string{"eval", "lfw"}, exitUsage},
		{[]string{"enroll", "--folders", dir, "--name", "X"}, exitUsage},
		{[]string{"enroll", "a.jpg"}, exitUsage},
		{[]string{"enroll", "--name", "  ", "a.jpg"}, exitUsage},
		// Failures found before any model is loaded.
		{[]string{"identify", filepath.Join(dir, "missing.jpg")}, exitFailure},
		{[]string{"identify", dir}, exitFailure}, // an empty folder
		{[]string{"detect", dir}, exitFailure},
		{[]string{"enroll", "--folders", dir}, exitFailure},
		{[]string{"enroll", "--folders", filepath.Join(dir, "missing")}, exitFailure},
		{[]string{"--version"}, exitOK},
	} {
		status, _, stderr := runMain(t, c.args...)
		if status != c.want {
			t.Errorf("facerec %s: exit status %d, want %d", strings.Join(c.args, " "), status, c.want)
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if status != exitOK && line != "" && !strings.HasPrefix(line, "facerec: ") {
				t.Errorf("facerec %s: stderr line %q without the facerec: prefix", strings.Join(c.args, " "), line)
			}
		}
	}
	_, help, _ := runMain(t, "--help")
	for _, want := range []string{"Exit status: 0", "1 on failure, and on partial success", "2 when the command line is wrong"} {
		if !strings.Contains(help, want) {
			t.Errorf("root help lacks %q", want)
		}
	}
	if _, v, _ := runMain(t, "--version"); !strings.HasPrefix(v, "facerec ") || !strings.Contains(v, "face_recognition@") {
		t.Errorf("--version = %q, want the version and the models' IDs", v)
	}
}

// touch writes a small file, making its folder.
func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExpandPhotos: folders stand for the photos under them, recursively
// (through links, a link loop ending), files are taken as given, and
// a missing path or a folder without photos is one problem each.
func TestExpandPhotos(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "in", "b.jpg"))
	touch(t, filepath.Join(dir, "in", "a.PNG"))
	touch(t, filepath.Join(dir, "in", "notes.txt"))
	touch(t, filepath.Join(dir, "in", ".hidden.jpg"))
	touch(t, filepath.Join(dir, "in", "sub", "c.webp"))
	touch(t, filepath.Join(dir, "other", "d.jpg"))
	if err := os.Symlink(filepath.Join(dir, "other"), filepath.Join(dir, "in", "linked")); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "in"), filepath.Join(dir, "in", "sub", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(dir, "given.dat"))
	var note bytes.Buffer
	files, problems := expandPhotos([]string{filepath.Join(dir, "given.dat"), filepath.Join(dir, "in"), filepath.Join(dir, "missing.jpg"), filepath.Join(dir, "empty")}, &note)
	in := filepath.Join(dir, "in")
	want := []string{filepath.Join(dir, "given.dat"), filepath.Join(in, "a.PNG"), filepath.Join(in, "b.jpg"),
		filepath.Join(in, "linked", "d.jpg"), filepath.Join(in, "sub", "c.webp")}
	if !slices.Equal(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	if len(problems) != 2 || !strings.Contains(problems[0].Error(), "missing.jpg: no such file or folder") || !strings.Contains(problems[1].Error(), "no photo in this folder") {
		t.Errorf("problems %v, want the missing path and the empty folder", problems)
	}
	if !strings.Contains(note.String(), "notes.txt") {
		t.Errorf("note %q does not name the file left out", note.String())
	}
}

// TestKnownPeople: Name.jpg is a person, Name/ a person with every photo
// in it, both the same person.
func TestKnownPeople(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "Ann.jpg"))
	touch(t, filepath.Join(dir, "Ann", "2.jpg"))
	touch(t, filepath.Join(dir, "Ann", "1.png"))
	touch(t, filepath.Join(dir, "Bob Smith.jpeg"))
	touch(t, filepath.Join(dir, "notes.txt"))
	touch(t, filepath.Join(dir, ".DS_Store"))
	if err := os.Mkdir(filepath.Join(dir, "Cy"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := knownPeople(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []knownPerson{
		{"Ann", []string{filepath.Join(dir, "Ann.jpg"), filepath.Join(dir, "Ann", "1.png"), filepath.Join(dir, "Ann", "2.jpg")}},
		{"Bob Smith", []string{filepath.Join(dir, "Bob Smith.jpeg")}},
		{"Cy", nil},
	}
	if !slices.EqualFunc(got, want, func(a, b knownPerson) bool { return a.name == b.name && slices.Equal(a.photos, b.photos) }) {
		t.Errorf("knownPeople = %v, want %v", got, want)
	}
	if _, err := knownPeople(filepath.Join(dir, "Ann.jpg")); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("knownPeople of a file: %v", err)
	}
}

// TestFormats: the three formats of identify, verify and detect, rounded.
func TestFormats(t *testing.T) {
	faces := func() []recognition.FaceResult {
		return []recognition.FaceResult{
			{Box: [4]float64{10.04, 20.06, 100.449, 120}, Score: 0.98765,
				Match:      &recognition.Match{ID: "p1", Name: "Ann, Jr.", Distance: 0.412345},
				Candidates: []recognition.Match{{ID: "p1", Name: "Ann, Jr.", Distance: 0.412345}, {ID: "p2", Name: "Bob", Distance: 0.7}}},
			{Box: [4]float64{1, 2, 3, 4}, Score: 0.5, Candidates: []recognition.Match{{ID: "p2", Name: "Bob", Distance: 0.62049}}},
		}
	}
	var b bytes.Buffer
	if err := newIdentifyWriter("json", &b).write("a.jpg", faces()); err != nil {
		t.Fatal(err)
	}
	if want := `{"photo":"a.jpg","faces":[{"box":[10,20.1,100.4,120],"score":0.988,"match":{"id":"p1","name":"Ann, Jr.","distance":0.4123},"candidates":[{"id":"p1","name":"Ann, Jr.","distance":0.4123},{"id":"p2","name":"Bob","distance":0.7}]},{"box":[1,2,3,4],"score":0.5,"match":null,"candidates":[{"id":"p2","name":"Bob","distance":0.6205}]}]}` + "\n"; b.String() != want {
		t.Errorf("identify json:\n%s want\n%s", b.String(), want)
	}
	b.Reset()
	w := newIdentifyWriter("csv", &b)
	if err := w.write("a.jpg", faces()); err != nil {
		t.Fatal(err)
	}
	if err := w.write("none.jpg", nil); err != nil { // no face: a row without one
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || !slices.Equal(rows[3], []string{"none.jpg", "", "", "", "", "", "", "", "", "", "", "", ""}) || rows[0][0] != "photo" || !slices.Equal(rows[1], []string{"a.jpg", "1", "10", "20.1", "100.4", "120", "0.988", "p1", "Ann, Jr.", "0.4123", "p1", "Ann, Jr.", "0.4123"}) ||
		!slices.Equal(rows[2], []string{"a.jpg", "2", "1", "2", "3", "4", "0.5", "", "", "", "p2", "Bob", "0.6205"}) {
		t.Errorf("identify csv rows %q", rows)
	}
	b.Reset()
	w = newIdentifyWriter("text", &b)
	w.write("a.jpg", faces())
	w.write("none.jpg", nil)
	if want := "a.jpg: 2 faces\n  face 1 at x 10 y 20.1, 100.4×120 px: Ann, Jr. (distance 0.4123)\n  face 2 at x 1 y 2, 3×4 px: unknown (nearest: Bob at 0.6205)\nnone.jpg: no face\n"; b.String() != want {
		t.Errorf("identify text:\n%s want\n%s", b.String(), want)
	}

	p := 0.912345
	for _, c := range []struct {
		format string
		d      face.Decision
		want   string
	}{
		{"json", face.Decision{Distance: 0.31641234, Threshold: 0.61, Same: true}, `{"a":"a.jpg","b":"b.jpg","decided_by":"threshold","distance":0.3164,"model":"m","same":true,"threshold":0.61}` + "\n"},
		{"json", face.Decision{Distance: 0.5, Threshold: 0.61, Same: true, Probability: &p}, `{"a":"a.jpg","b":"b.jpg","decided_by":"head","distance":0.5,"model":"m","probability":0.9123,"same":true,"threshold":0.61}` + "\n"},
		{"csv", face.Decision{Distance: 0.71649, Threshold: 0.61}, "a,b,model,distance,threshold,same,decided_by,probability,refused,quality_reasons\na.jpg,b.jpg,m,0.7165,0.61,false,threshold,,,\n"},
		{"text", face.Decision{Distance: 0.71649, Threshold: 0.61}, "different people: distance 0.7165 ≥ threshold 0.61 (m)\n"},
		{"text", face.Decision{Distance: 0.3, Threshold: 0.61, Same: true}, "same person: distance 0.3 < threshold 0.61 (m)\n"},
		{"text", face.Decision{Distance: 0.3, Threshold: 0.61, Refused: "poor_quality", QualityReasons: []string{"blurred"}}, "try again: the photo B is too poor: blurred (m)\n"},
		{"json", face.Decision{Distance: 0.3, Threshold: 0.61, Refused: "poor_quality", QualityReasons: []string{"blurred"}},
			`{"a":"a.jpg","b":"b.jpg","decided_by":"threshold","distance":0.3,"model":"m","quality_reasons":["blurred"],"refused":"poor_quality","same":false,"threshold":0.61}` + "\n"},
	} {
		b.Reset()
		if err := writeVerify(c.format, &b, "a.jpg", "b.jpg", "m", c.d); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("verify %s:\n%s want\n%s", c.format, b.String(), c.want)
		}
	}

	f := face.Face{Box: face.Rect{X: 1.26, Y: 2, W: 30.04, H: 40}, Score: 0.99991}
	f.Landmarks[0] = face.Point{X: 5.55, Y: 6.449}
	j := toJSON(&f, false)
	if j.Box != [4]float64{1.3, 2, 30, 40} || j.Score != 1 || j.Landmarks[0] != [2]float64{5.6, 6.4} {
		t.Errorf("detect rounding: %+v", j)
	}
	j.Landmarks = j.Landmarks[:1]
	for format, want := range map[string]string{
		"json": `{"file":"a.png","width":64,"height":48,"faces":[{"box":[1.3,2,30,40],"score":1,"landmarks":[[5.6,6.4]]}]}` + "\n" +
			`{"file":"none.png","width":8,"height":8,"faces":[]}` + "\n",
		"csv":  "file,width,height,face,x,y,w,h,score\na.png,64,48,1,1.3,2,30,40,1\nnone.png,8,8,,,,,,\n",
		"text": "a.png (64×48): 1 face\n  face 1 at x 1.3 y 2, 30×40 px, score 1\nnone.png (8×8): no face\n",
	} {
		b.Reset()
		w := newDetectWriter(format, &b)
		if err := w.write("a.png", 64, 48, []faceJSON{j}); err != nil {
			t.Fatal(err)
		}
		if err := w.write("none.png", 8, 8, []faceJSON{}); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("detect %s:\n%s want\n%s", format, b.String(), want)
		}
	}
}

// TestEnrollFoldersIdentifyDir: enrol a known_people folder (a sub-folder
// with two photos, a linked sub-folder, a Name.jpg, a broken photo and an
// empty folder), then identify a folder recursively, with the real
// pipeline: the good photos count, the bad ones are named and the exit
// status is 1 with a line saying so.
func TestEnrollFoldersIdentifyDir(t *testing.T) {
	realModels(t)
	lfw := sharedtest.Path(t, "data", "lfw", "deepfunneled")
	photo := func(name, n string) string { return filepath.Join(lfw, name, name+"_"+n+".jpg") }
	link := func(target, path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Skipf("no symbolic links: %v", err)
		}
	}
	dir := t.TempDir()
	known := filepath.Join(dir, "known")
	link(photo("Aaron_Peirsol", "0001"), filepath.Join(known, "Aaron Peirsol", "1.jpg"))
	link(photo("Aaron_Peirsol", "0002"), filepath.Join(known, "Aaron Peirsol", "2.jpg"))
	link(photo("George_W_Bush", "0001"), filepath.Join(known, "George W Bush.jpg"))
	link(filepath.Join(lfw, "Tony_Blair"), filepath.Join(known, "Tony Blair")) // a linked folder: all his photos
	touch(t, filepath.Join(known, "Broken.jpg"))
	if err := os.Mkdir(filepath.Join(known, "Nobody"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Tony Blair's 144 photos are too many for a test: a folder of two links.
	if err := os.Remove(filepath.Join(known, "Tony Blair")); err != nil {
		t.Fatal(err)
	}
	blair := filepath.Join(dir, "blair")
	link(photo("Tony_Blair", "0001"), filepath.Join(blair, "1.jpg"))
	link(photo("Tony_Blair", "0002"), filepath.Join(blair, "2.jpg"))
	link(blair, filepath.Join(known, "Tony Blair"))

	db := filepath.Join(dir, "g.db")
	status, out, stderr := runMain(t, "enroll", "--db", db, "--enroll-jitter", "0", "--folders", known)
	if status != exitFailure {
		t.Errorf("enroll --folders with a broken photo: exit status %d, want 1", status)
	}
	faces := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var p struct {
			Name  string
			Faces int
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("enroll line %q: %v", line, err)
		}
		faces[p.Name] = p.Faces
	}
	if len(faces) != 3 || faces["Aaron Peirsol"] != 2 || faces["George W Bush"] != 1 || faces["Tony Blair"] != 2 {
		t.Errorf("enrolled %v, want Aaron Peirsol (2 faces), George W Bush (1), Tony Blair (2)", faces)
	}
	for _, want := range []string{"Broken.jpg", "Nobody", "partial success: 3 of 5 people enrolled; 1 of 6 photos failed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("enroll stderr lacks %q", want)
		}
	}

	probes := filepath.Join(dir, "probes")
	link(photo("Aaron_Peirsol", "0003"), filepath.Join(probes, "a.jpg"))
	link(photo("George_W_Bush", "0002"), filepath.Join(probes, "deeper", "b.jpg"))
	link(photo("Aaron_Peirsol", "0004"), filepath.Join(probes, "deeper", "c.jpg"))
	touch(t, filepath.Join(probes, "deeper", "bad.png"))
	touch(t, filepath.Join(probes, "README.txt"))
	status, out, stderr = runMain(t, "identify", "--db", db, "--format", "csv", probes)
	if status != exitFailure || !strings.Contains(stderr, "bad.png") || !strings.Contains(stderr, "1 of 4 photos failed") || !strings.Contains(stderr, "README.txt") {
		t.Errorf("identify DIR with a bad photo: exit status %d, stderr %q", status, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, filepath.Base(r[0])+"="+r[8])
	}
	if want := []string{"a.jpg=Aaron Peirsol", "b.jpg=George W Bush", "c.jpg=Aaron Peirsol"}; !slices.Equal(got, want) {
		t.Errorf("identify --format csv: %v, want %v", got, want)
	}
	status, out, _ = runMain(t, "identify", "--db", db, "--format", "text", filepath.Join(probes, "a.jpg"))
	if status != exitOK || !strings.Contains(out, ": Aaron Peirsol (distance 0.") {
		t.Errorf("identify --format text: %d %q", status, out)
	}
}

// TestSamples runs the README's first steps on the drawn sample faces of
// docs/samples (no ../shared needed): enrolling known/ and identifying
// door/ names each visitor, and detect finds one face in every drawing.
func TestSamples(t *testing.T) {
	realModels(t)
	samples := filepath.Join("..", "..", "docs", "samples")
	db := filepath.Join(t.TempDir(), "g.db")
	status, out, _ := runMain(t, "enroll", "--db", db, "--folders", filepath.Join(samples, "known"))
	if status != exitOK || strings.Count(out, "\n") != 3 {
		t.Fatalf("enroll --folders docs/samples/known: exit status %d, %q", status, out)
	}
	status, out, _ = runMain(t, "identify", "--db", db, "--format", "csv", filepath.Join(samples, "door"))
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if status != exitOK || err != nil || len(rows) != 4 {
		t.Fatalf("identify docs/samples/door: exit status %d, %v, %q", status, err, out)
	}
	for _, r := range rows[1:] {
		if want := strings.TrimSuffix(filepath.Base(r[0]), "_2.jpg"); r[8] != want {
			t.Errorf("%s identified as %q, want %s", r[0], r[8], want)
		}
	}
	status, out, _ = runMain(t, "detect", "--format", "csv", samples)
	if rows, err := csv.NewReader(strings.NewReader(out)).ReadAll(); status != exitOK || err != nil || len(rows) != 7 {
		t.Errorf("detect docs/samples: exit status %d, %v, %d rows, want a face in each of the 6 drawings", status, err, len(rows)-1)
	}
}
