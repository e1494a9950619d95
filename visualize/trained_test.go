package visualize

import (
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/model"
)

// TestTrainedCheckpoint: a `facerec train` checkpoint is a Net with its
// named stages, its stem's filters and input gradients (maximisation).
func TestTrainedCheckpoint(t *testing.T) {
	e, err := model.NewEmbedNet(model.DefaultEmbedNetConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Capture(e.Arch(), e.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "best.safetensors")
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	n, err := LoadNet(t.TempDir(), path)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := n.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) < 3 || ls[0].Name != "stem" || ls[1].Name != "stage1/down" {
		t.Fatalf("layers %+v", ls)
	}
	if _, err := n.Filters(); err != nil {
		t.Error(err)
	}
	m, err := n.Maximize("stage1/down", 0, MaximizeOptions{Steps: 5})
	if err != nil {
		t.Fatal(err)
	}
	if m.Final == m.Start {
		t.Errorf("maximisation did not move the activation (%v)", m.Start)
	}
	if _, err := LoadNet(t.TempDir(), filepath.Join(t.TempDir(), "absent.safetensors")); err == nil {
		t.Error("a missing checkpoint loaded")
	}
}
