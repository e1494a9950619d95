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
	back, err := LoadEmbedNet(saveNet(t, net), nil)
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

// saveNet writes net's checkpoint to a temporary file and returns its path.
func saveNet(t *testing.T, net *EmbedNet) string {
	t.Helper()
	c, err := checkpoint.Capture(net.Arch(), net.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "net.safetensors")
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	return path
}

// syntheticDescriptor returns the pretrained network's input for a
// synthetic crop and its descriptor, L2-normalised: where a new head starts.
func syntheticDescriptor(t *testing.T, backbone *RecognitionNet) (x, want *tensor.Tensor) {
	t.Helper()
	x, err := Preprocess(nil, synthetic(150, 150))
	if err != nil {
		t.Fatal(err)
	}
	g := nn.NewInferenceGraph(nil)
	return x, g.L2Normalize(g.Input(backbone.Forward(nil, x), false)).Value
}

// TestPretrainedHeadStartsAtTheDescriptor: a new head initialised from the
// pretrained final layer gives the pretrained descriptor, L2-normalised.
func TestPretrainedHeadStartsAtTheDescriptor(t *testing.T) {
	backbone := testRecognitionNet(t)
	head, err := NewPretrainedHead(backbone, 0)
	if err != nil {
		t.Fatal(err)
	}
	x, want := syntheticDescriptor(t, backbone)
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

// TestPretrainedTail: a head that fine-tunes the last blocks starts at the
// pretrained descriptor, gets weight gradients in those blocks only (the
// shared pretrained network keeps its weights) and survives a checkpoint.
func TestPretrainedTail(t *testing.T) {
	backbone := testRecognitionNet(t)
	x, want := syntheticDescriptor(t, backbone)
	for _, tail := range []int{1, 4} {
		head, err := NewPretrainedHead(backbone, tail)
		if err != nil {
			t.Fatal(err)
		}
		in := backbone.prefix(nil, x, tail)
		got, err := head.Forward(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		if d := tensor.MaxAbsDiff(got.Data, want.Data); d > 1e-5 {
			t.Fatalf("tail %d: head differs from the normalised descriptor by %g", tail, d)
		}
		ps := head.Params()
		if len(ps) != 4*tail+2 {
			t.Fatalf("tail %d: %d params, want conv weights and biases of %d blocks and the dense layer", tail, len(ps), tail)
		}
		before := backbone.blocks[len(backbone.blocks)-1].conv2.W.Clone()
		tg := nn.NewGraph(nil)
		e := head.Graph(tg, tg.Input(in, false), true)
		if err := tg.Backward(tg.Sum(tg.Mul(e, tg.Input(randomBatch(1, 1, head.Config.Dim).Reshape(1, head.Config.Dim), false)))); err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			nonzero := false
			for _, v := range p.Grad.Data {
				nonzero = nonzero || v != 0
			}
			if !nonzero {
				t.Errorf("tail %d: %s has no gradient", tail, p.Name)
			}
			for i := range p.Value.Data {
				p.Value.Data[i] += 0.01 // a training step's change
			}
			p.Updated()
		}
		if d := tensor.MaxAbsDiff(before.Data, backbone.blocks[len(backbone.blocks)-1].conv2.W.Data); d != 0 {
			t.Fatalf("tail %d: training the head changed the shared network by %g", tail, d)
		}
		back, err := LoadEmbedNet(saveNet(t, head), func() (*RecognitionNet, error) { return backbone, nil })
		if err != nil {
			t.Fatal(err)
		}
		a, _ := head.Forward(nil, in)
		b, _ := back.Forward(nil, in)
		if d := tensor.MaxAbsDiff(a.Data, b.Data); d != 0 || back.Config.Tail != tail {
			t.Fatalf("tail %d: reloaded head differs by %g (tail %d)", tail, d, back.Config.Tail)
		}
	}
	if _, err := NewPretrainedHead(backbone, len(backbone.blocks)+1); err == nil {
		t.Error("a tail longer than the network was accepted")
	}
}
