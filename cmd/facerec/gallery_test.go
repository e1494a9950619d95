package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/spf13/cobra"
)

// runCommand executes a command with args and stdin, returning its stdout.
func runCommand(t *testing.T, cmd *cobra.Command, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if errOut.Len() > 0 {
		t.Logf("%s: stderr: %s", strings.Join(args, " "), strings.TrimSpace(errOut.String()))
	}
	return out.String(), err
}

func TestDefaultPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	var f galleryFlags
	db, err := f.dbPath()
	if err != nil || db != filepath.Join(dir, "facerec", "gallery.db") {
		t.Errorf("default db = %q, %v", db, err)
	}
	if k, err := f.keysPath(); err != nil || k != db+".keys.json" {
		t.Errorf("default keys file = %q, %v; want beside the db", k, err)
	}
	f.db = "postgres://u@h/facerec"
	if k, err := f.keysPath(); err != nil || k != filepath.Join(dir, "facerec", "keys.json") {
		t.Errorf("keys file with PostgreSQL = %q, %v; want in the data dir", k, err)
	}
	f.keys = "/etc/k.json"
	if k, _ := f.keysPath(); k != "/etc/k.json" {
		t.Errorf("--keys ignored: %q", k)
	}
}

func TestKeysCommands(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	out, err := runCommand(t, keysCmd(), "", "create", "--scope", "recognize")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Key, ID, Scope string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Key == "" || created.Scope != "recognize" {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}
	out, err = runCommand(t, keysCmd(), "", "list")
	if err != nil || !strings.Contains(out, created.ID) || strings.Contains(out, created.Key) {
		t.Errorf("keys list = %q, %v; want the id and never the key", out, err)
	}
	if _, err := runCommand(t, keysCmd(), "", "create", "--scope", "admin"); err == nil {
		t.Error("keys create --scope admin succeeded")
	}
	if _, err := runCommand(t, keysCmd(), "", "rm", created.ID); err != nil {
		t.Error(err)
	}
	if out, _ := runCommand(t, keysCmd(), "", "list"); out != "" {
		t.Errorf("keys list after rm = %q", out)
	}
}

func TestServeRefusesOpenAddress(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("FACEREC_API_KEY", "")
	_, err := runCommand(t, serveCmd(), "", "--addr", "0.0.0.0:0")
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("serve on 0.0.0.0 without keys: %v, want a refusal", err)
	}
}

// realModels skips a test in short mode or without the pretrained models,
// and returns their directory.
func realModels(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the real pipeline in short mode")
	}
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "the pretrained models", err)
	return dir
}

// TestGalleryCommands enrols, identifies, lists, exports, removes and
// re-imports a person with the real pipeline.
func TestGalleryCommands(t *testing.T) {
	realModels(t)
	lfw := sharedtest.Path(t, "data", "lfw", "deepfunneled")
	photo := func(name string, i int) string {
		return filepath.Join(lfw, name, fmt.Sprintf("%s_%04d.jpg", name, i))
	}
	db := []string{"--db", filepath.Join(t.TempDir(), "g.db")}
	auditLog := filepath.Join(t.TempDir(), "audit.jsonl")
	withAudit := func(args ...string) []string { return append(args, "--audit", auditLog) }

	out, err := runCommand(t, enrollCmd(), "", withAudit(append(db, "--name", "Aaron Peirsol",
		photo("Aaron_Peirsol", 1), photo("Aaron_Peirsol", 2))...)...)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ID, Name string
		Faces    int
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Faces != 2 || p.Name != "Aaron Peirsol" {
		t.Fatalf("enroll printed %q (%v); want Aaron Peirsol with 2 faces", out, err)
	}
	// A photo that fails is reported, the others still count.
	if _, err := runCommand(t, enrollCmd(), "", append(db, "--name", "X", "/nonexistent.jpg")...); err == nil {
		t.Error("enroll from a missing file succeeded")
	}

	identify := func() []string {
		out, err := runCommand(t, identifyCmd(), "", append(db, photo("Aaron_Peirsol", 3), photo("George_W_Bush", 1))...)
		if err != nil {
			t.Fatal(err)
		}
		var matches []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r struct {
				Photo string
				Faces []struct{ Match *struct{ ID string } }
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil || len(r.Faces) != 1 {
				t.Fatalf("identify line %q (%v)", line, err)
			}
			id := "null"
			if r.Faces[0].Match != nil {
				id = r.Faces[0].Match.ID
			}
			matches = append(matches, id)
		}
		return matches
	}
	if got := identify(); len(got) != 2 || got[0] != p.ID || got[1] != "null" {
		t.Errorf("identify Aaron, Bush = %v, want [%s null]", got, p.ID)
	}

	if out, err := runCommand(t, peopleCmd(), "", append([]string{"list"}, db...)...); err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, p.ID) {
		t.Errorf("people list = %q, %v", out, err)
	}
	export, err := runCommand(t, galleryCmd(), "", append([]string{"export"}, db...)...)
	if err != nil || strings.Count(export, "\n") != 1 {
		t.Fatalf("gallery export = %q, %v", export, err)
	}
	if _, err := runCommand(t, peopleCmd(), "", withAudit(append([]string{"rm", p.ID}, db...)...)...); err != nil {
		t.Fatal(err)
	}
	if got := identify(); got[0] != "null" {
		t.Errorf("after people rm, Aaron identified as %s", got[0])
	}
	if _, err := runCommand(t, galleryCmd(), export, withAudit(append([]string{"import"}, db...)...)...); err != nil {
		t.Fatal(err)
	}
	// The CLI's changes, run with --audit, are in the log: the
	// enrolment, the added face, the deletion and the import.
	logged, err := runCommand(t, auditCmd(), "", auditLog, "--kind", "change")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, line := range strings.Split(strings.TrimSpace(logged), "\n") {
		var ev audit.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if ev.Source != "cli" || (ev.Action != audit.ActionImport && ev.Person != p.ID) {
			t.Errorf("audit record %+v: want a cli change of %s", ev, p.ID)
		}
		actions = append(actions, ev.Action+" "+ev.Endpoint)
	}
	if want := []string{"enroll enroll", "add_face enroll", "delete people rm", "import gallery import"}; !slices.Equal(actions, want) {
		t.Errorf("audited changes %q, want %q", actions, want)
	}
	if got := identify(); got[0] != p.ID {
		t.Errorf("after gallery import, Aaron identified as %s, want %s", got[0], p.ID)
	}
}

// TestEnrollJitter checks that enroll stores the descriptor with
// --enroll-jitter copies (by default 10 for dlib, none for MobileFaceNet),
// and the plain one with 0.
func TestEnrollJitter(t *testing.T) {
	dir := realModels(t)
	path := sharedtest.Path(t, "data", "lfw", "deepfunneled", "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg")
	plain, err := face.Load(context.Background(), dir, face.Options{Descriptor: face.DescriptorDlib}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jit, err := plain.WithJitter(face.DefaultEnrollJitter)
	if err != nil {
		t.Fatal(err)
	}
	mfn, err := face.Load(context.Background(), dir, face.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := func(p *face.Pipeline) []float32 {
		ph, err := readPhoto(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := p.Subject(context.Background(), ph.Image)
		if err != nil {
			t.Fatal(err)
		}
		return f.Descriptor.Vector
	}
	for _, c := range []struct {
		flags []string
		model string
		want  []float32
	}{
		{[]string{"--descriptor", "dlib"}, plain.Model().ID(), want(jit)},
		{[]string{"--descriptor", "dlib", "--enroll-jitter", "0"}, plain.Model().ID(), want(plain)},
		{nil, mfn.Model().ID(), want(mfn)},
	} {
		db := []string{"--db", filepath.Join(t.TempDir(), "g.db")}
		if _, err := runCommand(t, enrollCmd(), "", append(append(db, c.flags...), "--name", "A", path)...); err != nil {
			t.Fatal(err)
		}
		export, err := runCommand(t, galleryCmd(), "", append([]string{"export"}, db...)...)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Faces []struct{ Descriptors map[string][]float32 }
		}
		if err := json.Unmarshal([]byte(export), &rec); err != nil || len(rec.Faces) != 1 {
			t.Fatalf("export %q: %v", export, err)
		}
		if !slices.Equal(rec.Faces[0].Descriptors[c.model], c.want) {
			t.Errorf("enroll %v stored a descriptor other than the pipeline's with that jitter", c.flags)
		}
	}
}

// trainedCheckpoint writes a small network from facerec train's model
// family (random weights) and returns its path.
func trainedCheckpoint(t *testing.T) string {
	t.Helper()
	net, err := model.NewEmbedNet(model.DefaultEmbedNetConfig(), 7)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Capture(net.Arch(), net.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "best.safetensors")
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestModelIdentity: a gallery enrolled with the pretrained model refuses
// a trained network (serve and identify say which two models), and
// `gallery reembed --model` moves it to that network from the kept photos,
// after which both models find the person.
func TestModelIdentity(t *testing.T) {
	dir := realModels(t)
	aaron := sharedtest.Path(t, "data", "lfw", "deepfunneled", "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg")
	trained := trainedCheckpoint(t)
	tm, err := face.LoadDescriptorModel(context.Background(), dir, trained, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tm.ID() == face.PretrainedID || !strings.Contains(tm.ID(), "sha256:") {
		t.Fatalf("trained model ID %q", tm.ID())
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("FACEREC_API_KEY", "")
	db := []string{"--db", filepath.Join(t.TempDir(), "g.db")}
	out, err := runCommand(t, enrollCmd(), "", append(db, "--keep-photos", "--name", "Aaron", aaron)...)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.ID == "" {
		t.Fatalf("enroll printed %q (%v)", out, err)
	}

	// Refused, naming both models.
	for _, c := range []struct {
		name string
		cmd  *cobra.Command
		args []string
	}{
		{"serve", serveCmd(), append(db, "--model", trained, "--addr", "127.0.0.1:0")},
		{"identify", identifyCmd(), append(db, "--model", trained, aaron)},
	} {
		_, err := runCommand(t, c.cmd, "", c.args...)
		if err == nil || !errors.Is(err, gallery.ErrModelMismatch) || !strings.Contains(err.Error(), face.MobileFaceNetID) || !strings.Contains(err.Error(), tm.ID()) {
			t.Errorf("%s --model on a pretrained gallery: %v; want a model mismatch naming %s and %s", c.name, err, face.MobileFaceNetID, tm.ID())
		}
	}

	out, err = runCommand(t, galleryCmd(), "", append([]string{"reembed", "--model", trained}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Model      string
		Reembedded int
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Model != tm.ID() || r.Reembedded != 1 {
		t.Fatalf("reembed printed %q (%v); want 1 face with %s", out, err, tm.ID())
	}
	for _, model := range [][]string{{"--model", trained}, nil} {
		out, err := runCommand(t, identifyCmd(), "", append(append(db, model...), aaron)...)
		if err != nil {
			t.Fatalf("identify %v after reembed: %v", model, err)
		}
		if !strings.Contains(out, p.ID) {
			t.Errorf("identify %v after reembed = %s, want Aaron (%s)", model, out, p.ID)
		}
	}
	// A second run has nothing left to do.
	if out, err := runCommand(t, galleryCmd(), "", append([]string{"reembed", "--model", trained}, db...)...); err != nil || !strings.Contains(out, `"reembedded":0`) {
		t.Errorf("second reembed = %q, %v", out, err)
	}
}

// TestReembedWithoutPhotos: faces enrolled without --keep-photos cannot be
// re-embedded, and the command says so with a failing exit status.
func TestReembedWithoutPhotos(t *testing.T) {
	realModels(t)
	aaron := sharedtest.Path(t, "data", "lfw", "deepfunneled", "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg")
	db := []string{"--db", filepath.Join(t.TempDir(), "g.db")}
	if _, err := runCommand(t, enrollCmd(), "", append(db, "--name", "Aaron", aaron)...); err != nil {
		t.Fatal(err)
	}
	_, err := runCommand(t, galleryCmd(), "", append([]string{"reembed", "--model", trainedCheckpoint(t)}, db...)...)
	if err == nil || !strings.Contains(err.Error(), "no kept photo") {
		t.Errorf("reembed without kept photos: %v, want an error about the photos", err)
	}
}

// TestGalleryKeepsItsDescriptor: a gallery enrolled with dlib's network
// (the default before MobileFaceNet) keeps being served by it when
// --descriptor is not given: its people are still recognised, and a new
// enrolment is described by dlib too, so the gallery stays one model's.
func TestGalleryKeepsItsDescriptor(t *testing.T) {
	realModels(t)
	lfw := sharedtest.Path(t, "data", "lfw", "deepfunneled")
	photo := func(name string, i int) string {
		return filepath.Join(lfw, name, fmt.Sprintf("%s_%04d.jpg", name, i))
	}
	db := []string{"--db", filepath.Join(t.TempDir(), "g.db")}
	out, err := runCommand(t, enrollCmd(), "", append(db, "--descriptor", "dlib", "--name", "Aaron", photo("Aaron_Peirsol", 1))...)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.ID == "" {
		t.Fatalf("enroll printed %q (%v)", out, err)
	}
	out, err = runCommand(t, identifyCmd(), "", append(db, photo("Aaron_Peirsol", 3))...)
	if err != nil || !strings.Contains(out, `"match":{"id":"`+p.ID+`"`) {
		t.Fatalf("identify without --descriptor on a dlib gallery = %s, %v; want Aaron", out, err)
	}
	if _, err := runCommand(t, enrollCmd(), "", append(db, "--name", "Tony", photo("Tony_Blair", 1))...); err != nil {
		t.Fatal(err)
	}
	export, err := runCommand(t, galleryCmd(), "", append([]string{"export"}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(export, `"`+face.PretrainedID+`"`); n != 2 || strings.Contains(export, face.MobileFaceNetID) {
		t.Errorf("export holds %d dlib descriptors (want 2, none of MobileFaceNet): %s", n, export)
	}
}
