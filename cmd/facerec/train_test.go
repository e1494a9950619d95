package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/model"
)

// toyFaces writes ids folders of n 24×24 PNGs with a per-identity pattern.
func toyFaces(t *testing.T, ids, n int) string {
	t.Helper()
	root := t.TempDir()
	for id := range ids {
		dir := filepath.Join(root, fmt.Sprintf("p%d", id))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for k := range n {
			img := image.NewRGBA(image.Rect(0, 0, 24, 24))
			for y := range 24 {
				for x := range 24 {
					v := uint8((x*(id+1)*11 + y*(id+2)*7 + k*9) % 256)
					img.Set(x, y, color.RGBA{v, uint8(40 * id), 255 - v, 255})
				}
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.png", k)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	return root
}

// TestTrainCommand trains a tiny net from the command line, then fine-tunes
// it with --init, and checks the flag errors.
func TestTrainCommand(t *testing.T) {
	data := toyFaces(t, 4, 4)
	first := t.TempDir()
	common := []string{"--data", data, "--aligned", "--size", "16", "--widths", "4,8", "--dim", "16", "--p", "4", "--k", "2"}
	if _, err := runCommand(t, trainCmd(), "", append(common, "--epochs", "2", "--mining", "batch-all,batch-hard@0.5", "--soft-margin", "--euclidean", "--embedding-bn", "--warmup", "1",
		"--augment", "mirror,rotate=5,erase=0.5", "--pool", "flatten", "--out", first)...); err != nil {
		t.Fatal(err)
	}
	net, err := model.LoadEmbedNet(filepath.Join(first, "last.safetensors"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := net.Config; c.Input != 16 || c.Dim != 16 || c.Pool != model.PoolFlatten || len(c.Widths) != 2 || !c.EmbeddingBN {
		t.Fatalf("trained net config %+v, want the flags' architecture", c)
	}

	if m, err := os.ReadFile(filepath.Join(first, "metrics.jsonl")); err != nil || !strings.Contains(string(m), `"mining":"batch-all"`) ||
		!strings.Contains(string(m), `"mining":"batch-hard"`) {
		t.Errorf("the curriculum's stages are not in the metrics (%v): %s", err, m)
	}

	// --init takes the architecture and weights from the checkpoint (the
	// conflicting --size is overridden) and starts a fresh run.
	second := t.TempDir()
	if _, err := runCommand(t, trainCmd(), "", "--data", data, "--aligned", "--size", "32", "--p", "4", "--k", "2",
		"--epochs", "1", "--init", filepath.Join(first, "last.safetensors"), "--out", second); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(second, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n != 1 || !strings.Contains(string(raw), `"step":2,`) {
		t.Errorf("fine-tuning run logged %q; want one epoch of 2 steps counted from zero", raw)
	}
	tuned, err := model.LoadEmbedNet(filepath.Join(second, "last.safetensors"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tuned.Arch() != net.Arch() {
		t.Errorf("--init changed the architecture: %s → %s", net.Arch(), tuned.Arch())
	}

	for _, bad := range [][]string{
		{"--augment", "blur=1"},
		{"--pool", "max"},
		{"--init", filepath.Join(first, "last.safetensors"), "--resume", filepath.Join(first, "last.safetensors")},
		{"--init", filepath.Join(first, "missing.safetensors")},
		{"--init", filepath.Join(first, "last.safetensors"), "--pretrained"},
		{"--init", filepath.Join(first, "last.safetensors"), "--embedding-bn"},
		{"--mining", "batch-all,batch-hard"},
		{"--mining", "batch-all,batch-hard@1.5"},
	} {
		if _, err := runCommand(t, trainCmd(), "", append(append(common, "--epochs", "1", "--out", t.TempDir()), bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
