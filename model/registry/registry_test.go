package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestAllManifests(t *testing.T) {
	all := All()
	if err := validate(all); err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string]bool{}
	for _, m := range all {
		names = append(names, m.Name)
		if m.Name == FRFeature.Name {
			continue // the ONNX descriptor: TestFRFeatureManifest
		}
		if m.NPM() != "@vladmandic/face-api@1.7.15" || m.Dir != "package/model" {
			t.Errorf("%s comes from %s/%s, want the face-api 1.7.15 tarball's package/model", m.Name, m.NPM(), m.Dir)
		}
		// The loaders take Weights; its manifest and one .bin must be
		// among the files.
		var got []string
		for _, f := range m.Files {
			got = append(got, f.Name)
			files[f.Name] = true
		}
		if want := []string{m.Weights + "-weights_manifest.json", m.Weights + ".bin"}; !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", m.Name, got, want)
		}
	}
	want := []string{"face_landmark_68", "face_landmark_68_tiny", "face_recognition", "fr_feature", "ssd_mobilenetv1", "tiny_face_detector"}
	if !slices.Equal(names, want) {
		t.Errorf("All() = %v, want %v in this order", names, want)
	}
	if len(files) != 10 {
		t.Errorf("the manifests list %d distinct files, want face-api's 10", len(files))
	}
	all[0].Name = "changed"
	if All()[0].Name == "changed" {
		t.Error("All returns a slice its caller can reorder the registry through")
	}
}

// TestID pins the identity of the descriptor network: it is derived from
// the compiled-in sums only, so it changes exactly when they do.
func TestID(t *testing.T) {
	// Measured once: printf 'NAME\0SHA\n' for both files | sha256sum.
	const want = "face_recognition@1.7.15:50ba8d64182c"
	if got := FaceRecognition.ID(); got != want {
		t.Errorf("FaceRecognition.ID() = %q, want %q (the weights changed? then update this test)", got, want)
	}
	if FaceRecognition.ID() != FaceRecognition.ID() {
		t.Error("ID is not stable")
	}
	ids := map[string]string{}
	for _, m := range All() {
		id := m.ID()
		if !strings.HasPrefix(id, m.Name+"@"+m.Version+":") || len(id) != len(m.Name+"@"+m.Version+":")+12 {
			t.Errorf("%s.ID() = %q, want name@version:12 hex digits", m.Name, id)
		}
		if other, ok := ids[id]; ok {
			t.Errorf("%s and %s share the ID %s", m.Name, other, id)
		}
		ids[id] = m.Name
	}

	// Variants of the manifest, each with its own copy of Files so that
	// the registry's stays untouched.
	variant := func(change func(fs []File) []File) Manifest {
		m := FaceRecognition
		m.Files = change(slices.Clone(m.Files))
		return m
	}
	for name, m := range map[string]Manifest{
		"a re-measured .bin": variant(func(fs []File) []File {
			sum := sha256.Sum256([]byte("other weights"))
			fs[1].SHA256 = hex.EncodeToString(sum[:])
			return fs
		}),
		"a renamed file":  variant(func(fs []File) []File { fs[0].Name = "x.json"; return fs }),
		"reordered files": variant(func(fs []File) []File { fs[0], fs[1] = fs[1], fs[0]; return fs }),
		"one file less":   variant(func(fs []File) []File { return fs[:1] }),
		"names and sums swapped across the boundary": variant(func(fs []File) []File {
			fs[0].Name, fs[0].SHA256 = fs[0].Name+fs[0].SHA256[:1], fs[0].SHA256[1:]+"0"
			return fs
		}),
	} {
		if m.ID() == want {
			t.Errorf("ID unchanged with %s", name)
		}
	}
	if FaceRecognition.ID() != want {
		t.Error("building variants changed the registry's manifest")
	}
}

func TestPath(t *testing.T) {
	m := FaceRecognition
	if got, want := m.Path("/models", m.Files[1].Name), filepath.Join("/models", "face_recognition_model.bin"); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	good := synthManifest()
	edit := func(change func(m *Manifest)) Manifest {
		m := good
		m.Files = slices.Clone(good.Files)
		change(&m)
		return m
	}
	other := edit(func(m *Manifest) { m.Name = "other"; m.Files[0].SHA256 = strings.Repeat("0", 64) })
	cases := []struct {
		name string
		ms   []Manifest
		want string
	}{
		{"no files", []Manifest{edit(func(m *Manifest) { m.Files = nil })}, "lacks"},
		{"no version", []Manifest{edit(func(m *Manifest) { m.Version = "" })}, "lacks"},
		{"twice", []Manifest{good, good}, "twice"},
		{"file twice", []Manifest{edit(func(m *Manifest) { m.Files[1] = m.Files[0] })}, "listed twice"},
		{"path in name", []Manifest{edit(func(m *Manifest) { m.Files[0].Name = "../x.bin" })}, "unsafe file name"},
		{"dot dot", []Manifest{edit(func(m *Manifest) { m.Files[0].Name = ".." })}, "unsafe file name"},
		{"escaping folder", []Manifest{edit(func(m *Manifest) { m.Dir = "../model" })}, "unsafe tarball folder"},
		{"absolute folder", []Manifest{edit(func(m *Manifest) { m.Dir = "/model" })}, "unsafe tarball folder"},
		{"short sum", []Manifest{edit(func(m *Manifest) { m.Files[0].SHA256 = "abc" })}, "64 lower-case hex"},
		{"upper-case sum", []Manifest{edit(func(m *Manifest) { m.Files[0].SHA256 = strings.ToUpper(m.Files[0].SHA256) })}, "64 lower-case hex"},
		{"not hex", []Manifest{edit(func(m *Manifest) { m.Files[0].SHA256 = strings.Repeat("g", 64) })}, "SHA-256"},
		{"one name, two sums", []Manifest{good, other}, "different SHA-256"},
	}
	for _, c := range cases {
		err := validate(c.ms)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
		// The exported entry points refuse them too, before touching dir.
		if err := Verify(t.TempDir(), c.ms...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Verify err = %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Two models may share a file with the same content.
	shared := edit(func(m *Manifest) { m.Name = "shared" })
	if err := validate([]Manifest{good, shared}); err != nil {
		t.Errorf("two manifests sharing a file: %v", err)
	}
}

// synthModel is a manifest over the given file bodies of the npm package
// pkg, with its sums measured here.
func synthModel(name, pkg string, bodies map[string][]byte) Manifest {
	m := Manifest{Name: name, Weights: name, Package: pkg, Version: "1.0.0", Dir: "package/model"}
	var names []string
	for n := range bodies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sum := sha256.Sum256(bodies[n])
		m.Files = append(m.Files, File{n, hex.EncodeToString(sum[:])})
	}
	return m
}

// writeFiles writes bodies into dir.
func writeFiles(t *testing.T, dir string, bodies map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range bodies {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifySynthetic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	writeFiles(t, dir, synthFiles)
	s := synthSet()
	if err := s.verify(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.bin"), []byte("0123456789!"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("0123456789!"))
	want := "registry: synth: file a.bin in " + dir + " failed its checksum (want " +
		s.manifests[0].Files[1].SHA256 + ", got " + hex.EncodeToString(sum[:]) + "); run `facerec models pull` to repair"
	err := s.verify(dir)
	if err == nil || err.Error() != want {
		t.Fatalf("verify of a tampered file:\n err = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrChecksum) {
		t.Errorf("err = %v does not wrap ErrChecksum", err)
	}
	if err := os.Remove(filepath.Join(dir, "a.bin")); err != nil {
		t.Fatal(err)
	}
	err = s.verify(dir)
	if want := "registry: synth: file a.bin is missing from " + dir; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("verify of a missing file: err = %v, want one starting %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v does not wrap fs.ErrNotExist", err)
	}
}

// fakeNPM installs a stand-in npm whose `npm pack SPEC --pack-destination
// DIR` copies tgzs[SPEC] into DIR, and returns a function listing the specs
// it was asked for.
func fakeNPM(t *testing.T, tgzs map[string]string) (calls func() []string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in npm is a shell script")
	}
	cp, err := exec.LookPath("cp") // PATH will hold only the stand-in
	if err != nil {
		t.Skip("no cp for the stand-in npm")
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	var script strings.Builder
	script.WriteString("#!/bin/sh\n[ \"$1\" = pack ] && [ \"$3\" = --pack-destination ] || exit 2\necho \"$2\" >> '" + log + "'\ncase \"$2\" in\n")
	for spec, tgz := range tgzs {
		script.WriteString("'" + spec + "') " + cp + " '" + tgz + "' \"$4/pkg.tgz\" ;;\n")
	}
	script.WriteString("*) echo \"npm error 404 $2\" >&2; exit 1 ;;\nesac\n")
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	return func() []string {
		b, err := os.ReadFile(log)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
}

// twoPackages returns three synthetic models, two from package synth-a and
// one from synth-b, with a tarball of each package.
func twoPackages(t *testing.T) (ms []Manifest, tgzs map[string]string) {
	a1 := map[string][]byte{"a-weights_manifest.json": synthFiles["a-weights_manifest.json"], "a.bin": synthFiles["a.bin"]}
	a2 := map[string][]byte{"b.bin": synthFiles["b.bin"]}
	b := map[string][]byte{"c.bin": []byte("from the other package")}
	ms = []Manifest{synthModel("a1", "synth-a", a1), synthModel("a2", "synth-a", a2), synthModel("b", "@scope/synth-b", b)}
	tgzs = map[string]string{
		"synth-a@1.0.0":        writeTGZ(t, synthEntries("")),
		"@scope/synth-b@1.0.0": writeTGZ(t, []tarEntry{{name: "package/model/c.bin", body: b["c.bin"]}}),
	}
	return ms, tgzs
}

// TestPullOnePackOnePackage checks that a pull runs npm once per distinct
// package@version, however many models come from it.
func TestPullOnePackPerPackage(t *testing.T) {
	ms, tgzs := twoPackages(t)
	calls := fakeNPM(t, tgzs)
	dir := filepath.Join(t.TempDir(), "models")
	var log bytes.Buffer
	s := synthSet().with(ms)
	if err := s.pull(context.Background(), dir, "", &log); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(), []string{"synth-a@1.0.0", "@scope/synth-b@1.0.0"}; !slices.Equal(got, want) {
		t.Errorf("npm packed %v, want %v", got, want)
	}
	if err := s.verify(dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "verified 4 model files") {
		t.Errorf("progress log %q lacks the verification line", log.String())
	}

	// One model: only its package.
	dir = filepath.Join(t.TempDir(), "models")
	if err := s.with(ms[2:]).pull(context.Background(), dir, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := calls(); len(got) != 3 || got[2] != "@scope/synth-b@1.0.0" {
		t.Errorf("npm packed %v, want synth-b once more", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("pulling one model installed %d files, want 1", len(entries))
	}

	// A --from source serves one package.
	err := s.pull(context.Background(), filepath.Join(t.TempDir(), "models"), tgzs["synth-a@1.0.0"], nil)
	if err == nil || !strings.Contains(err.Error(), "one package") {
		t.Errorf("pull --from with models of two packages: err = %v, want one saying it serves one package", err)
	}
	if err := s.with(ms[:2]).pull(context.Background(), filepath.Join(t.TempDir(), "models"), tgzs["synth-a@1.0.0"], nil); err != nil {
		t.Errorf("pull --from with the models of its package: %v", err)
	}
}

// TestEnsureSynthetic checks that Ensure pulls only when a file is missing
// or damaged, only the models concerned, and says why in its log line.
func TestEnsureSynthetic(t *testing.T) {
	ms, tgzs := twoPackages(t)
	calls := fakeNPM(t, tgzs)
	s := synthSet().with(ms)
	dir := filepath.Join(t.TempDir(), "models")
	if err := s.pull(context.Background(), dir, "", nil); err != nil {
		t.Fatal(err)
	}
	packs := len(calls())

	var log bytes.Buffer
	if err := s.ensure(context.Background(), dir, &log); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 || len(calls()) != packs {
		t.Errorf("Ensure of a verified folder logged %q and ran npm %d times", log.String(), len(calls())-packs)
	}

	if err := os.WriteFile(filepath.Join(dir, "c.bin"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.ensure(context.Background(), dir, &log); err != nil {
		t.Fatal(err)
	}
	line := log.String()
	if !strings.Contains(line, "file c.bin in "+dir+" failed its checksum (want ") ||
		!strings.Contains(line, "fetching @scope/synth-b@1.0.0 with npm") || strings.Count(line, "\n") != 1 {
		t.Errorf("Ensure logged %q, want one line naming the damaged file and the fetch", line)
	}
	if got := calls()[packs:]; !slices.Equal(got, []string{"@scope/synth-b@1.0.0"}) {
		t.Errorf("Ensure packed %v, want only the damaged model's package", got)
	}
	if err := s.verify(dir); err != nil {
		t.Fatalf("Ensure did not repair the folder: %v", err)
	}

	// A removed file is reported as missing.
	log.Reset()
	if err := os.Remove(filepath.Join(dir, "b.bin")); err != nil {
		t.Fatal(err)
	}
	if err := s.ensure(context.Background(), dir, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "a2: file b.bin is missing from "+dir) {
		t.Errorf("Ensure logged %q, want it to name the missing file", log.String())
	}
}
