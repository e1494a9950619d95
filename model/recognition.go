package model

import (
	"fmt"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// RecognitionName is the weight file of the face descriptor network.
const RecognitionName = "face_recognition_model"

// DescriptorSize is the length of a face descriptor.
const DescriptorSize = 128

// RecognitionInput is the side of the square crop the descriptor network reads.
const RecognitionInput = 150

// recognitionMean is the per-channel (R, G, B) mean face-api subtracts.
var recognitionMean = [3]float32{122.782, 117.001, 104.298}

// RecognitionNet is face-api's FaceRecognitionNet: a 29-layer ResNet ported
// from dlib's dlib_face_recognition_resnet_model_v1 that maps a 150×150 RGB
// face crop to a 128-d descriptor; two faces of one person lie closer than
// about 0.6 in Euclidean distance. The layer structure follows
// shared/oracle/ARCH.md §1 exactly (including the odd zero-padding of the
// last two downsampling blocks).
//
// The network is defined once, by Graph; Forward and Features run that
// definition in an inference graph. Its layers are frozen: on a recording
// graph the gradient reaches the input image (saliency, adversarial
// examples, training something in front of it) but no weight gradient is
// made.
//
// A RecognitionNet is read-only after construction and safe for concurrent
// use; each goroutine passes its own arena to Forward (or its own Graph).
type RecognitionNet struct {
	stem   *nn.Conv2D // conv32_down: 7×7 stride 2, ReLU
	blocks []resBlock
	fc     *nn.Dense // 256 → 128, no bias
}

type resBlock struct {
	name         string
	down         bool
	conv1, conv2 *nn.Conv2D
}

// recognitionBlocks lists the residual blocks in order; true marks a
// downsampling block.
var recognitionBlocks = []struct {
	name string
	down bool
}{
	{"conv32_1", false}, {"conv32_2", false}, {"conv32_3", false},
	{"conv64_down", true}, {"conv64_1", false}, {"conv64_2", false}, {"conv64_3", false},
	{"conv128_down", true}, {"conv128_1", false}, {"conv128_2", false},
	{"conv256_down", true}, {"conv256_1", false}, {"conv256_2", false},
	{"conv256_down_out", true},
}

// NewRecognitionNet builds the network from its tfjs weights.
func NewRecognitionNet(w Weights) (*RecognitionNet, error) {
	stem, err := affineConv(w, "conv32_down", 2, nn.Valid, nn.ReLU)
	if err != nil {
		return nil, err
	}
	net := &RecognitionNet{stem: stem}
	for _, b := range recognitionBlocks {
		stride, mode := 1, nn.Same
		if b.down {
			stride, mode = 2, nn.Valid
		}
		c1, err := affineConv(w, b.name+"/conv1", stride, mode, nn.ReLU)
		if err != nil {
			return nil, err
		}
		c2, err := affineConv(w, b.name+"/conv2", 1, nn.Same, nn.Linear)
		if err != nil {
			return nil, err
		}
		net.blocks = append(net.blocks, resBlock{name: b.name, down: b.down, conv1: c1, conv2: c2})
	}
	fcw, err := w.Get("fc", 256, DescriptorSize)
	if err != nil {
		return nil, err
	}
	if net.fc, err = nn.NewDense(fcw, nil); err != nil {
		return nil, err
	}
	net.fc.Frozen = true
	return net, nil
}

// affineConv builds face-api's convLayer: conv (no bias inside) + conv bias
// + scale + shift + activation, from the tensors under prefix.
func affineConv(w Weights, prefix string, stride int, mode nn.PadMode, act nn.Activation) (*nn.Conv2D, error) {
	filters, err := w.Get(prefix + "/conv/filters")
	if err != nil {
		return nil, err
	}
	if len(filters.Shape) != 4 {
		return nil, fmt.Errorf("model: %s/conv/filters has shape %v, want 4-D", prefix, filters.Shape)
	}
	cout := filters.Shape[3]
	var vecs [3]*tensor.Tensor
	for i, name := range []string{"/conv/bias", "/scale/weights", "/scale/biases"} {
		if vecs[i], err = w.Get(prefix+name, cout); err != nil {
			return nil, err
		}
	}
	c, err := nn.NewConv2D(filters, stride, mode)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", prefix, err)
	}
	c.Bias, c.Scale, c.Shift, c.Act = vecs[0].Data, vecs[1].Data, vecs[2].Data, act
	c.Frozen = true // pretrained: a constant to the graph
	return c, nil
}

// Preprocess turns a face crop [H, W, 3] (or [1, H, W, 3]) of RGB values in
// 0..255 into the network input [1, 150, 150, 3]: centred zero padding to a
// square, tfjs bilinear resize when the square is not 150×150, then
// (x - mean) / 255 per channel.
func Preprocess(arena *tensor.Arena, crop *tensor.Tensor) (*tensor.Tensor, error) {
	x := crop
	if len(x.Shape) == 3 {
		x = x.Reshape(1, x.Shape[0], x.Shape[1], x.Shape[2])
	}
	if len(x.Shape) != 4 || x.Shape[0] != 1 || x.Shape[3] != 3 || x.Shape[1] < 1 || x.Shape[2] < 1 {
		return nil, fmt.Errorf("model: a face crop must be [H, W, 3] RGB, got %v", crop.Shape)
	}
	x = nn.PadToSquare(arena, x, true)
	if x.Shape[1] != RecognitionInput {
		x = nn.ResizeBilinear(arena, x, RecognitionInput, RecognitionInput)
	}
	out := arena.NewUninit(x.Shape...)
	for i := 0; i < len(x.Data); i += 3 {
		for c := 0; c < 3; c++ {
			// Subtract, then divide (not multiply by 1/255): the reference does.
			out.Data[i+c] = (x.Data[i+c] - recognitionMean[c]) / 255
		}
	}
	return out, nil
}

// Forward runs the network on a preprocessed input [N, 150, 150, 3] and
// returns the descriptors [N, 128]: Graph in an inference graph on arena.
// It panics on an input of another shape, a programming error.
func (net *RecognitionNet) Forward(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	g := nn.NewInferenceGraph(arena)
	return mustValue(g, net.Graph(g, g.Input(x, false)))
}

// Features runs the network up to its global average pool: the 256-d
// features its final dense layer maps to the descriptor. Training a new
// head on a frozen backbone starts from these.
func (net *RecognitionNet) Features(arena *tensor.Arena, x *tensor.Tensor) *tensor.Tensor {
	g := nn.NewInferenceGraph(arena)
	return mustValue(g, net.FeaturesGraph(g, g.Input(x, false)))
}

// mustValue returns v's value, panicking with the graph's error: the
// inference wrappers keep the contract of the plain code they replaced,
// which panicked on a wrongly shaped input.
func mustValue(g *nn.Graph, v *nn.Var) *tensor.Tensor {
	if err := g.Err(); err != nil {
		panic("model: " + err.Error())
	}
	return v.Value
}

// FC returns the final dense layer's weights [256, 128].
func (net *RecognitionNet) FC() *tensor.Tensor { return net.fc.W }

// Graph is the network: it maps a preprocessed batch x [N, 150, 150, 3] to
// the descriptors [N, 128] on g. The intermediates the oracle dumps are
// given their golden.json names with g.Named.
func (net *RecognitionNet) Graph(g *nn.Graph, x *nn.Var) *nn.Var {
	return g.Named("fc", g.Dense(net.FeaturesGraph(g, x), net.fc))
}

// FeaturesGraph is Graph up to the global average pool, [N, 256].
func (net *RecognitionNet) FeaturesGraph(g *nn.Graph, x *nn.Var) *nn.Var {
	return poolGraph(g, net.prefixGraph(g, x, len(net.blocks)))
}

// prefixGraph runs the stem and the first n residual blocks.
func (net *RecognitionNet) prefixGraph(g *nn.Graph, x *nn.Var, n int) *nn.Var {
	h := g.Named("conv32_down", g.Conv2D(x, net.stem))
	h = g.Named("maxpool", g.MaxPool(h, nn.Window{KH: 3, KW: 3, Stride: 2, Mode: nn.Valid}))
	for i := range net.blocks[:n] {
		h = net.blocks[i].graph(g, h)
	}
	return h
}

func poolGraph(g *nn.Graph, h *nn.Var) *nn.Var {
	return g.Named("global_avg_pool", g.GlobalAvgPool(h))
}

// prefix runs the frozen network up to the input of its last tail blocks:
// the activations [1, h, w, c] a fine-tuned tail starts from.
func (net *RecognitionNet) prefix(arena *tensor.Arena, x *tensor.Tensor, tail int) *tensor.Tensor {
	g := nn.NewInferenceGraph(arena)
	return mustValue(g, net.prefixGraph(g, g.Input(x, false), len(net.blocks)-tail))
}

// trainableTail returns copies of the last n residual blocks whose
// convolution weights and biases are trainable (each conv's scale and
// shift stay constants of its fused epilogue), starting from the
// pretrained values; the network itself stays frozen and shared.
func (net *RecognitionNet) trainableTail(n int) ([]resBlock, error) {
	if n < 0 || n > len(net.blocks) {
		return nil, fmt.Errorf("model: a tail of %d blocks, the network has %d", n, len(net.blocks))
	}
	cp := func(c *nn.Conv2D) (*nn.Conv2D, error) {
		d, err := nn.NewConv2D(c.W.Clone(), c.Stride, c.Mode)
		if err != nil {
			return nil, err
		}
		d.Bias = append([]float32(nil), c.Bias...)
		d.Scale, d.Shift, d.Act = c.Scale, c.Shift, c.Act
		return d, nil
	}
	var out []resBlock
	for _, b := range net.blocks[len(net.blocks)-n:] {
		c1, err := cp(b.conv1)
		if err != nil {
			return nil, err
		}
		c2, err := cp(b.conv2)
		if err != nil {
			return nil, err
		}
		out = append(out, resBlock{name: b.name, down: b.down, conv1: c1, conv2: c2})
	}
	return out, nil
}

// graph applies one residual block: relu(conv2(conv1(x)) + skip(x)). In a
// downsampling block the skip is a 2×2 average pool with the missing
// channels zero, and when the strided 3×3 VALID conv comes out one smaller
// than the pool (8→3 vs 4, 4→1 vs 2) the conv branch is zero-padded at the
// bottom and right, as face-api does.
func (b *resBlock) graph(g *nn.Graph, x *nn.Var) *nn.Var {
	a := g.Named(b.name+"/conv1", g.Conv2D(x, b.conv1))
	y := g.Named(b.name+"/conv2", g.Conv2D(a, b.conv2))
	if !b.down {
		return g.Named(b.name+"/out", g.AddReLUInPlace(y, x))
	}
	s := g.Named(b.name+"/avgpool", g.AvgPool(x, nn.Window{KH: 2, KW: 2, Stride: 2, Mode: nn.Valid}))
	if g.Err() != nil {
		return y // the shapes below are unknown
	}
	if dh, dw := s.Value.Dim(1)-y.Value.Dim(1), s.Value.Dim(2)-y.Value.Dim(2); dh > 0 || dw > 0 {
		y = g.Named(b.name+"/conv2_zeropad_bottom_right", g.PadSpatial(y, nn.Padding{Bottom: dh, Right: dw}))
	}
	if extra := y.Value.Dim(3) - s.Value.Dim(3); extra > 0 {
		s = g.Named(b.name+"/avgpool_channelpad", g.PadChannels(s, extra))
	}
	// s + y, not y + s: float addition commutes, so the order is free. The
	// sum goes over y, which only this block reads.
	return g.Named(b.name+"/out", g.AddReLUInPlace(y, s))
}
