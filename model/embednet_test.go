package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

func smallEmbedNet(t *testing.T, pool string) *EmbedNet {
	t.Helper()
	// 15 px: the strided stages round up (15 → 8 → 4), which the flatten
	// head's size must follow.
	cfg := EmbedNetConfig{Kind: "embednet", Input: 15, Channels: 3, Widths: []int{4, 8}, Blocks: 1, Dim: 8, Pool: pool}
	net, err := NewEmbedNet(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func randomBatch(n, s, c int) *tensor.Tensor {
	x := tensor.New(n, s, s, c)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)*0.37)) * 0.9
	}
	return x
}

// TestEmbedNetForwardMatchesGraph checks that the plain inference path and
// the graph in inference mode compute the same embeddings, and that they
// have unit length.
func TestEmbedNetForwardMatchesGraph(t *testing.T) {
	for _, pool := range []string{"", PoolFlatten} {
		t.Run("pool="+pool, func(t *testing.T) { testForwardMatchesGraph(t, pool) })
	}
	if _, err := NewEmbedNet(EmbedNetConfig{Kind: "embednet", Input: 16, Channels: 3, Widths: []int{4}, Dim: 8, Pool: "max"}, 1); err == nil {
		t.Error("an unknown pooling was accepted")
	}
}

func testForwardMatchesGraph(t *testing.T, pool string) {
	net := smallEmbedNet(t, pool)
	if pool == PoolFlatten && net.fc.W.Shape[0] != 4*4*8 {
		t.Fatalf("flatten head takes %d features, want 4·4·8", net.fc.W.Shape[0])
	}
	x := randomBatch(3, 15, 3)
	// One training pass moves the running statistics away from 0/1 so that
	// the inference path has something to get wrong.
	g := nn.NewGraph(nil)
	net.Graph(g, g.Input(x, false), true)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	g2 := nn.NewGraph(nil)
	want := net.Graph(g2, g2.Input(x, false), false)
	if err := g2.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := net.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(got.Data, want.Value.Data); d > 1e-5 {
		t.Fatalf("forward differs from the graph by %g", d)
	}
	for i := 0; i < 3; i++ {
		s := 0.0
		for _, v := range got.Data[i*8 : (i+1)*8] {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-4 {
			t.Fatalf("embedding %d has squared norm %v", i, s)
		}
	}
}

// TestLoadEmbedNet round-trips a network through a checkpoint file.
func TestLoadEmbedNet(t *testing.T) {
	net := smallEmbedNet(t, PoolFlatten)
	g := nn.NewGraph(nil)
	net.Graph(g, g.Input(randomBatch(2, 15, 3), false), true) // change running stats
	c, err := checkpoint.Capture(net.Arch(), net.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "net.safetensors")
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := LoadEmbedNet(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := randomBatch(2, 15, 3)
	a, _ := net.Forward(nil, x)
	b, _ := back.Forward(nil, x)
	if d := tensor.MaxAbsDiff(a.Data, b.Data); d != 0 {
		t.Fatalf("reloaded net differs by %g", d)
	}
	if _, err := LoadEmbedNet(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// TestPretrainedHeadStartsAtTheDescriptor: a new head initialised from the
// pretrained final layer gives the pretrained descriptor, L2-normalised.
func TestPretrainedHeadStartsAtTheDescriptor(t *testing.T) {
	backbone := testRecognitionNet(t)
	head, err := NewPretrainedHead(backbone)
	if err != nil {
		t.Fatal(err)
	}
	crop := synthetic(150, 150)
	x, err := Preprocess(nil, crop)
	if err != nil {
		t.Fatal(err)
	}
	g := nn.NewInferenceGraph(nil)
	want := g.L2Normalize(g.Input(backbone.Forward(nil, x), false)).Value
	got, err := head.Forward(nil, backbone.Features(nil, x))
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(got.Data, want.Data); d > 1e-6 {
		t.Fatalf("head differs from the normalised descriptor by %g", d)
	}
	if n := len(head.Params()); n != 2 {
		t.Fatalf("head has %d params, want the dense weights and bias only", n)
	}
}
