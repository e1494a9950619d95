package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/facerec/facerec/model/registry"
)

func TestModelsList(t *testing.T) {
	for _, args := range [][]string{nil, {"list"}} {
		out, err := runCommand(t, modelsCmd(), "", args...)
		if err != nil {
			t.Fatalf("models %v: %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		all := append(registry.All(), registry.Optional()...)
		if len(lines) != len(all) {
			t.Fatalf("models %v printed %d lines, want one per manifest (%d)", args, len(lines), len(all))
		}
		for i, line := range lines {
			var got struct {
				Name, Package, ID, Weights string
				Files                      []registry.File
			}
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("models %v line %d: %v", args, i, err)
			}
			m := all[i]
			if got.Name != m.Name || got.Package != m.NPM() || got.ID != m.ID() || got.Weights != m.Weights ||
				len(got.Files) != len(m.Files) || got.Files[0] != m.Files[0] {
				t.Errorf("models %v line %d = %s, want %s's manifest", args, i, line, m.Name)
			}
		}
	}
	if _, err := runCommand(t, modelsCmd(), "", "lsit"); err == nil {
		t.Error("models with an unknown subcommand succeeded")
	}
}

func TestModelsVerifyMissing(t *testing.T) {
	t.Setenv("FACEREC_MODELS", t.TempDir())
	_, err := runCommand(t, modelsCmd(), "", "verify")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "is missing from") {
		t.Errorf("models verify of an empty folder: err = %v, want one saying a file is missing", err)
	}
}

func TestModelsByName(t *testing.T) {
	t.Setenv("FACEREC_MODELS", t.TempDir())
	for _, sub := range []string{"pull", "verify"} {
		if _, err := runCommand(t, modelsCmd(), "", sub, "no_such_model"); err == nil || !strings.Contains(err.Error(), `no model named "no_such_model"`) {
			t.Errorf("models %s of an unknown name: %v", sub, err)
		}
	}
	// fr_feature is listed, though not fetched by default.
	out, err := runCommand(t, modelsCmd(), "", "list")
	if err != nil || !strings.Contains(out, `"name":"fr_feature"`) || !strings.Contains(out, `"default":false`) {
		t.Errorf("models list = %q, %v; want fr_feature, not by default", out, err)
	}
	if _, err := runCommand(t, modelsCmd(), "", "verify", "fr_feature"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("verify fr_feature in an empty folder: %v, want a missing file", err)
	}
}

func TestVersion(t *testing.T) {
	v := version()
	for _, want := range []string{"facerec ", "GEMM kernel", registry.FaceRecognition.ID(), registry.FRFeature.ID()} {
		if !strings.Contains(v, want) {
			t.Errorf("version text lacks %q:\n%s", want, v)
		}
	}
}
