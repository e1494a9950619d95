package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/checkpoint"
)

// TestUnnormalizedEmbedNet checks that Unnormalized leaves the dense
// layer's output as it is (the normalised net's rows are that output scaled
// to unit length) and that a checkpoint brings the setting back.
func TestUnnormalizedEmbedNet(t *testing.T) {
	cfg := EmbedNetConfig{Kind: "embednet", Input: 15, Channels: 3, Widths: []int{4, 8}, Blocks: 1, Dim: 8}
	unit, err := NewEmbedNet(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Unnormalized = true
	free, err := NewEmbedNet(cfg, 7) // the same seed: the same weights
	if err != nil {
		t.Fatal(err)
	}
	x := randomBatch(3, 15, 3)
	u, err := unit.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	f, err := free.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		var norm float64
		for _, v := range f.Data[i*8 : (i+1)*8] {
			norm += float64(v) * float64(v)
		}
		norm = math.Sqrt(norm)
		if math.Abs(norm-1) < 1e-3 {
			t.Fatalf("row %d has unit length %v: not left as it was", i, norm)
		}
		for k := 0; k < 8; k++ {
			if got, want := float64(f.Data[i*8+k])/norm, float64(u.Data[i*8+k]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("row %d: free/‖free‖ = %v, unit = %v", i, got, want)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "free.safetensors")
	c, err := checkpoint.Capture(free.Arch(), free.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := LoadEmbedNet(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Config.Unnormalized {
		t.Fatal("the checkpoint lost Unnormalized")
	}
}
