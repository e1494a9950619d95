package model

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
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

// TestEmbeddingBN checks that the embedding batch norm gives every
// component zero mean and unit variance over a training batch (so the batch
// cannot sit on one point), that its scale and shift are not trained, and
// that a checkpoint brings it back.
func TestEmbeddingBN(t *testing.T) {
	cfg := EmbedNetConfig{Kind: "embednet", Input: 15, Channels: 3, Widths: []int{4, 8}, Blocks: 1, Dim: 8,
		Unnormalized: true, EmbeddingBN: true}
	net, err := NewEmbedNet(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.Params() {
		if (strings.HasSuffix(p.Name, "embedding_bn.gamma") || strings.HasSuffix(p.Name, "embedding_bn.beta")) && p.Grad != nil {
			t.Errorf("%s is trainable", p.Name)
		}
	}
	g := nn.NewGraph(&tensor.Arena{})
	const n = 6
	e := net.Graph(g, g.Input(randomBatch(n, 15, 3), false), true).Value
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 8; k++ {
		var mean, sq float64
		for i := 0; i < n; i++ {
			v := float64(e.Data[i*8+k])
			mean += v / n
			sq += v * v / n
		}
		if math.Abs(mean) > 1e-4 || math.Abs(sq-mean*mean-1) > 0.05 { // Eps lowers the variance of a component that varies little
			t.Errorf("component %d: batch mean %v, variance %v; want 0 and 1", k, mean, sq-mean*mean)
		}
	}
	path := filepath.Join(t.TempDir(), "bn.safetensors")
	c, err := checkpoint.Capture(net.Arch(), net.Params(), nil)
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
	if !back.Config.EmbeddingBN {
		t.Fatal("the checkpoint lost EmbeddingBN")
	}
	x := randomBatch(2, 15, 3)
	a, err := net.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := back.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("reloaded net differs at %d: %v vs %v (running statistics lost?)", i, a.Data[i], b.Data[i])
		}
	}
}
