package model

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"golang.org/x/image/draw"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// EmbedNetConfig describes a trainable embedding CNN. It is stored as JSON
// in every checkpoint, so a file alone rebuilds its network.
type EmbedNetConfig struct {
	// Kind is KindScratch for a ResNet trained from scratch, or
	// KindPretrainedHead for a new final layer on the frozen pretrained
	// descriptor network (whose weights come from the model directory).
	Kind     string `json:"kind"`
	Input    int    `json:"input"`    // input side in pixels (square)
	Channels int    `json:"channels"` // 3 (RGB) or 1 (grey)
	Widths   []int  `json:"widths"`   // channels of each stage; each stage halves the resolution
	Blocks   int    `json:"blocks"`   // residual blocks per stage
	Dim      int    `json:"dim"`      // embedding size
	// Pool is how the last feature map becomes a vector: "" (global
	// average pooling) or "flatten", which keeps where on the face each
	// feature was found at the price of a larger final layer.
	Pool string `json:"pool,omitempty"`
	// Unnormalized leaves the embedding as the dense layer makes it instead
	// of scaling it to unit length: Hermans et al.'s set-up for the soft
	// margin, where the loss can keep pushing classes apart without the
	// sphere's bound on distances.
	Unnormalized bool `json:"unnormalized,omitempty"`
	// EmbeddingBN batch-normalises the dense layer's output, with neither a
	// learned scale nor a shift, before the L2 normalisation. In training
	// every component then has zero mean and unit variance over the batch,
	// so the embeddings cannot all draw onto one point, the trivial minimum
	// that hard triplet mining falls into from a random start; it also
	// removes the offset that a random net gives every embedding (they start
	// spread over the sphere instead of bunched in one direction).
	// Inference uses the running statistics.
	EmbeddingBN bool `json:"embedding_bn,omitempty"`
	// Tail is, for KindPretrainedHead, how many of the pretrained
	// network's last residual blocks are trained with the new final layer
	// (fine-tuning its last stage); 0 trains the final layer alone on the
	// frozen pooled features.
	Tail int `json:"tail,omitempty"`
	// Align names the crop the training chips were cut with (a
	// face.Alignment: "dlib", "arcface" or "faceapi"), so that inference
	// cuts the same one. Empty for chips given ready-made (--aligned) and
	// in checkpoints written before it was recorded, whose chips were
	// dlib's; a KindPretrainedHead net reads dlib chips, its backbone's.
	Align string `json:"align,omitempty"`
}

// PoolFlatten is the EmbedNetConfig.Pool that flattens the last map.
const PoolFlatten = "flatten"

// finalSide is the side of the last feature map: each stage's stride-2
// "same" convolution rounds up.
func (c EmbedNetConfig) finalSide() int {
	s := c.Input
	for range c.Widths {
		s = (s + 1) / 2
	}
	return s
}

// The kinds of EmbedNet.
const (
	KindScratch        = "embednet"
	KindPretrainedHead = "pretrained-head"
)

// featureSize is the width of the pretrained network's pooled features.
const featureSize = 256

// DefaultEmbedNetConfig is a CPU-sized net: 64×64 RGB input, four stages,
// 128-d output.
func DefaultEmbedNetConfig() EmbedNetConfig {
	return EmbedNetConfig{Kind: "embednet", Input: 64, Channels: 3, Widths: []int{32, 64, 128, 256}, Blocks: 1, Dim: DescriptorSize}
}

func (c EmbedNetConfig) validate() error {
	if c.Kind == KindPretrainedHead {
		if c.Dim < 1 || c.Dim > 4096 || c.Tail < 0 {
			return fmt.Errorf("model: bad head size %d or tail %d", c.Dim, c.Tail)
		}
		return nil
	}
	if c.Kind != KindScratch {
		return fmt.Errorf("model: network kind %q, want %s or %s", c.Kind, KindScratch, KindPretrainedHead)
	}
	if c.Input < 8 || c.Input > 1024 || (c.Channels != 1 && c.Channels != 3) || len(c.Widths) == 0 || len(c.Widths) > 8 ||
		c.Blocks < 0 || c.Blocks > 16 || c.Dim < 1 || c.Dim > 4096 || (c.Pool != "" && c.Pool != PoolFlatten) {
		return fmt.Errorf("model: bad embednet config %+v", c)
	}
	for _, w := range c.Widths {
		if w < 1 || w > 4096 {
			return fmt.Errorf("model: bad embednet stage width %d", w)
		}
	}
	return nil
}

// convBN is a bias-free 3×3 convolution followed by a batch norm.
type convBN struct {
	conv *nn.Conv2D
	bn   *nn.BatchNorm
}

type embedBlock struct{ a, b convBN }

type embedStage struct {
	down   convBN // 3×3 stride 2: halves the resolution, changes the width
	blocks []embedBlock
	// names are the layer names Graph gives the stage's outputs (the down
	// conv's, then each block's), made once so that naming costs nothing.
	names []string
}

// EmbedNet is a small ResNet that maps a face chip to an L2-normalised
// embedding: a 3×3 stem, stages of (strided conv + residual blocks), global
// average pooling, a dense layer and L2 normalisation. The network is
// defined once, by Graph: training records it on a graph, and Forward runs
// it in an inference graph, which is safe for concurrent use once training
// is over.
type EmbedNet struct {
	Config EmbedNetConfig
	stem   convBN
	stages []embedStage
	fc     *nn.Dense
	embBN  *nn.BatchNorm // Config.EmbeddingBN: fixed scale 1 and shift 0

	backbone *RecognitionNet // KindPretrainedHead: frozen, feeds tail or fc
	tail     []resBlock      // KindPretrainedHead: trainable copies of its last blocks
}

// NewPretrainedHead builds a KindPretrainedHead net on the pretrained
// descriptor network: a new dense layer (initialised with the pretrained
// one, so training starts from the pretrained descriptor, L2-normalised)
// over its frozen pooled features, or, with tail > 0, over trainable
// copies of its last tail residual blocks (initialised with theirs), which
// then read the frozen network's activations before those blocks.
func NewPretrainedHead(backbone *RecognitionNet, tail int) (*EmbedNet, error) {
	w := backbone.FC().Clone()
	fc, err := nn.NewDense(w, make([]float32, w.Shape[1]))
	if err != nil {
		return nil, err
	}
	blocks, err := backbone.trainableTail(tail)
	if err != nil {
		return nil, err
	}
	cfg := EmbedNetConfig{Kind: KindPretrainedHead, Input: RecognitionInput, Channels: 3, Dim: w.Shape[1], Tail: tail}
	return &EmbedNet{Config: cfg, fc: fc, backbone: backbone, tail: blocks}, nil
}

// NewEmbedNet builds a network with He-initialised weights from seed.
func NewEmbedNet(cfg EmbedNetConfig, seed uint64) (*EmbedNet, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Kind == KindPretrainedHead {
		return nil, fmt.Errorf("model: build a %s net with NewPretrainedHead", cfg.Kind)
	}
	r := rand.New(rand.NewPCG(seed, 0x0e3bed))
	mk := func(cin, cout, stride int) (convBN, error) {
		w := tensor.New(3, 3, cin, cout)
		std := math.Sqrt(2 / float64(9*cin))
		for i := range w.Data {
			w.Data[i] = float32(r.NormFloat64() * std)
		}
		c, err := nn.NewConv2D(w, stride, nn.Same)
		if err != nil {
			return convBN{}, err
		}
		bn, err := nn.NewBatchNorm(cout)
		return convBN{c, bn}, err
	}
	n := &EmbedNet{Config: cfg}
	var err error
	if n.stem, err = mk(cfg.Channels, cfg.Widths[0], 1); err != nil {
		return nil, err
	}
	cin := cfg.Widths[0]
	for _, w := range cfg.Widths {
		var s embedStage
		if s.down, err = mk(cin, w, 2); err != nil {
			return nil, err
		}
		for b := 0; b < cfg.Blocks; b++ {
			var blk embedBlock
			if blk.a, err = mk(w, w, 1); err != nil {
				return nil, err
			}
			if blk.b, err = mk(w, w, 1); err != nil {
				return nil, err
			}
			s.blocks = append(s.blocks, blk)
		}
		st := len(n.stages) + 1
		s.names = append(s.names, fmt.Sprintf("stage%d/down", st))
		for b := range s.blocks {
			s.names = append(s.names, fmt.Sprintf("stage%d/block%d", st, b+1))
		}
		n.stages = append(n.stages, s)
		cin = w
	}
	features := cin
	if cfg.Pool == PoolFlatten {
		features *= cfg.finalSide() * cfg.finalSide()
	}
	fw := tensor.New(features, cfg.Dim)
	std := math.Sqrt(1 / float64(features))
	for i := range fw.Data {
		fw.Data[i] = float32(r.NormFloat64() * std)
	}
	if n.fc, err = nn.NewDense(fw, make([]float32, cfg.Dim)); err != nil {
		return nil, err
	}
	if cfg.EmbeddingBN {
		if n.embBN, err = nn.NewBatchNorm(cfg.Dim); err != nil {
			return nil, err
		}
		// Without gradients they are constants: a learned scale could
		// shrink to zero and bring the collapse back.
		n.embBN.Gamma.Grad, n.embBN.Beta.Grad = nil, nil
	}
	return n, nil
}

// Arch is the configuration as the JSON a checkpoint records.
func (n *EmbedNet) Arch() string {
	b, _ := json.Marshal(n.Config)
	return string(b)
}

// Params lists every parameter (batch-norm running statistics included, as
// buffers) with stable names.
func (n *EmbedNet) Params() []*nn.Param {
	if n.backbone != nil {
		var ps []*nn.Param
		for _, b := range n.tail {
			ps = append(ps, b.conv1.Params("tail."+b.name+".conv1.")...)
			ps = append(ps, b.conv2.Params("tail."+b.name+".conv2.")...)
		}
		return append(ps, n.fc.Params("fc.")...)
	}
	var ps []*nn.Param
	add := func(prefix string, c convBN) {
		ps = append(ps, c.conv.Params(prefix+"conv.")...)
		ps = append(ps, c.bn.Params(prefix+"bn.")...)
	}
	add("stem.", n.stem)
	for i, s := range n.stages {
		add(fmt.Sprintf("stage%d.down.", i), s.down)
		for j, b := range s.blocks {
			add(fmt.Sprintf("stage%d.block%d.a.", i, j), b.a)
			add(fmt.Sprintf("stage%d.block%d.b.", i, j), b.b)
		}
	}
	ps = append(ps, n.fc.Params("fc.")...)
	if n.embBN != nil {
		ps = append(ps, n.embBN.Params("embedding_bn.")...)
	}
	return ps
}

// Graph records the forward pass of a batch x [N, S, S, C] on g and returns
// the L2-normalised embeddings [N, Dim] (left as they are with
// Config.Unnormalized). training selects batch statistics
// (and updates the running ones); without it the running statistics are
// used, as inference does.
//
// A KindPretrainedHead net takes the backbone's features [N, 256], or with
// a tail its activations before the tail, instead (see Input).
func (n *EmbedNet) Graph(g *nn.Graph, x *nn.Var, training bool) *nn.Var {
	if n.backbone != nil {
		for i := range n.tail {
			x = n.tail[i].graph(g, x)
		}
		if len(n.tail) > 0 {
			x = poolGraph(g, x)
		}
		return g.L2Normalize(g.Dense(x, n.fc))
	}
	cbr := func(h *nn.Var, c convBN, relu bool) *nn.Var {
		h = g.BatchNorm(g.Conv2D(h, c.conv), c.bn, training)
		if relu {
			h = g.ReLU(h)
		}
		return h
	}
	// The names are for the feature visualisations (nn.Graph.Tap); they
	// cost nothing otherwise.
	h := g.Named("stem", cbr(x, n.stem, true))
	for _, s := range n.stages {
		h = g.Named(s.names[0], cbr(h, s.down, true))
		for j, b := range s.blocks {
			y := cbr(cbr(h, b.a, true), b.b, false)
			h = g.Named(s.names[j+1], g.AddReLUInPlace(y, h)) // y is read by nothing else
		}
	}
	if n.Config.Pool == PoolFlatten {
		h = g.Flatten(h)
	} else {
		h = g.GlobalAvgPool(h)
	}
	h = g.Dense(h, n.fc)
	if n.embBN != nil {
		h = g.BatchNorm(h, n.embBN, training)
	}
	if n.Config.Unnormalized {
		return h
	}
	return g.L2Normalize(h)
}

// Forward embeds a batch x [N, S, S, C] for inference: Graph with the
// running statistics, in an inference graph on arena. Nothing is recorded
// and no parameter is written, so it is safe for concurrent use.
func (n *EmbedNet) Forward(arena *tensor.Arena, x *tensor.Tensor) (*tensor.Tensor, error) {
	g := nn.NewInferenceGraph(arena)
	e := n.Graph(g, g.Input(x, false), false)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("model: embed: %w", err)
	}
	return e.Value, nil
}

// ScaleChip resizes a face chip to size×size with bilinear filtering and
// returns its bytes: RGB triplets, or BT.601 luma when grey. Training data
// and inference inputs both go through it, so a trained net sees the same
// pixels either way.
func ScaleChip(img *image.RGBA, size int, grey bool) []uint8 {
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.BiLinear.Scale(dst, dst.Rect, img, img.Rect, draw.Src, nil)
	c := 3
	if grey {
		c = 1
	}
	out := make([]uint8, size*size*c)
	for i := 0; i < size*size; i++ {
		r, g, b := dst.Pix[4*i], dst.Pix[4*i+1], dst.Pix[4*i+2]
		if grey {
			out[i] = uint8((299*int(r) + 587*int(g) + 114*int(b) + 500) / 1000)
		} else {
			out[3*i], out[3*i+1], out[3*i+2] = r, g, b
		}
	}
	return out
}

// NormalizeInput maps pixel values 0..255 to −1..1, the range EmbedNet
// trains on.
func NormalizeInput(p []float32) {
	for i, v := range p {
		p[i] = (v - 127.5) / 127.5
	}
}

// Input prepares a face chip for the network: scaled to the input size,
// grey if the net is, normalised; the result is [1, S, S, C].
//
// For a KindPretrainedHead net the input is the frozen backbone's features
// [1, 256] of the image (or, with a tail, its activations before the
// tail), preprocessed as the pretrained network wants.
func (n *EmbedNet) Input(img *image.RGBA) *tensor.Tensor {
	if n.backbone != nil {
		x, err := Preprocess(nil, photo.ToTensor(img))
		if err != nil { // only for an empty image
			x = tensor.New(1, RecognitionInput, RecognitionInput, 3)
		}
		if len(n.tail) > 0 {
			return n.backbone.prefix(nil, x, len(n.tail))
		}
		return n.backbone.Features(nil, x)
	}
	s, c := n.Config.Input, n.Config.Channels
	b := ScaleChip(img, s, c == 1)
	t := tensor.New(1, s, s, c)
	for i, v := range b {
		t.Data[i] = float32(v)
	}
	NormalizeInput(t.Data)
	return t
}

// LoadEmbedNet rebuilds a trained network from a checkpoint file
// (facerec train's best.safetensors or last.safetensors). A
// KindPretrainedHead net calls backbone for the frozen pretrained network
// it was trained on (loaded from the caller's model directory); other
// kinds never call it.
func LoadEmbedNet(path string, backbone func() (*RecognitionNet, error)) (*EmbedNet, error) {
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	var cfg EmbedNetConfig
	if err := json.Unmarshal([]byte(c.Arch), &cfg); err != nil {
		return nil, fmt.Errorf("model: %s: architecture: %w", path, err)
	}
	var net *EmbedNet
	if cfg.Kind == KindPretrainedHead {
		if backbone == nil {
			return nil, fmt.Errorf("model: %s: a head on the pretrained network needs it", path)
		}
		b, err := backbone()
		if err != nil {
			return nil, err
		}
		if net, err = NewPretrainedHead(b, cfg.Tail); err != nil {
			return nil, err
		}
	} else if net, err = NewEmbedNet(cfg, 0); err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	if err := c.Restore(net.Params(), nil); err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	return net, nil
}
