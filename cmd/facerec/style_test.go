package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/model/registry"
)

// TestStyleCommand runs facerec style on the docs' procedural inputs at a
// tiny size: G, its cost plot and an intermediate image are written, and
// stdout has one JSON line of cost terms per step.
func TestStyleCommand(t *testing.T) {
	realModels(t)
	root := filepath.Join("..", "..", "docs", "style")
	out := filepath.Join(t.TempDir(), "g.png")
	stdout, err := runCommand(t, styleCmd(), "", "--content", filepath.Join(root, "content-scene.png"),
		"--style", filepath.Join(root, "style-mosaic.png"), "--style", filepath.Join(root, "style-stripes.png"), "--blend", "0.7,0.3",
		"--size", "48", "--iterations", "4", "--every", "2", "--colour", "histogram", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d JSON lines, want 4: %q", len(lines), stdout)
	}
	var step struct {
		Step                      int
		Content, Style, TV, Total float64
		Layers                    []float64
	}
	if err := json.Unmarshal([]byte(lines[3]), &step); err != nil || step.Step != 4 || len(step.Layers) != 5 || step.Total <= 0 {
		t.Errorf("last line %q (%v)", lines[3], err)
	}
	for _, f := range []string{out, strings.TrimSuffix(out, ".png") + ".costs.png", strings.TrimSuffix(out, ".png") + ".step0002.png"} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := runCommand(t, styleCmd(), "", "--content", filepath.Join(root, "content-scene.png"),
		"--style", filepath.Join(root, "style-mosaic.png"), "--blend", "0.5,0.5", "--out", out); err == nil {
		t.Error("two blend weights for one style accepted")
	}
}

// TestStyleCenterNet runs facerec style with centernet's backbone, when it
// is installed (it is optional: facerec models pull centernet).
func TestStyleCenterNet(t *testing.T) {
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.CenterNet)
	}
	if err != nil {
		t.Skipf("needs centernet in the model directory: %v", err)
	}
	root := filepath.Join("..", "..", "docs", "style")
	out := filepath.Join(t.TempDir(), "g.png")
	stdout, err := runCommand(t, styleCmd(), "", "--features", "centernet", "--content", filepath.Join(root, "content-scene.png"),
		"--style", filepath.Join(root, "style-mosaic.png"), "--size", "48", "--iterations", "3", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Split(strings.TrimSpace(stdout), "\n")); n != 3 {
		t.Errorf("%d JSON lines, want 3", n)
	}
	if _, err := runCommand(t, styleCmd(), "", "--features", "centernet", "--content", filepath.Join(root, "content-scene.png"),
		"--style", filepath.Join(root, "style-mosaic.png"), "--content-layer", "conv7", "--out", out); err == nil || !strings.Contains(err.Error(), "e10") {
		t.Errorf("an SSD layer name with centernet: %v, want an error listing centernet's layers", err)
	}
}
