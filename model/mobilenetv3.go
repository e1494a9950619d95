package model

import (
	"fmt"

	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/model/tfjsgraph"
	"github.com/facerec/facerec/nn"
)

// MobileNetV3 is the MobileNetV3 backbone of human-models' centernet
// object detector (registry.CenterNet), trained on COCO, compiled from its
// tfjs graph model by model/tfjsgraph up to the last block: a 3×3 stride-2
// stem with hard-swish, then 15 inverted-residual blocks (1×1 expansion,
// 3×3 or 5×5 depthwise, squeeze-and-excitation in blocks 3–5 and 10–14,
// 1×1 linear projection, residual when the shape allows), ReLU in the
// first blocks and hard-swish from block 6, reaching stride 32. It takes
// an RGB image of any size with values 0–255 (what human feeds it). The
// network is frozen: on a recording graph the gradient reaches the input
// only.
type MobileNetV3 struct {
	net    *tfjsgraph.Net
	layers []string
}

// The backbone's node names in centernet's graph.
const mnv3Prefix = "tower_0/MobilenetV3/"

// NewMobileNetV3 compiles the backbone of a parsed centernet graph model.
// Its layers are "conv" (the stem, stride 2), and for each block k = 0 …
// 14 "e<k>", the expansion's activation (blocks 1–14; before the
// depthwise convolution, so at the block's input stride), and "b<k>", the
// block's output (after the residual sum): conv, b0, e1, b1, e2, b2, …,
// e14, b14.
func NewMobileNetV3(m *tfjsgraph.Model) (*MobileNetV3, error) {
	var layers, nodes []string
	pick := func(layer string, candidates ...string) error {
		for _, c := range candidates {
			if m.Node(mnv3Prefix+c) != nil {
				layers, nodes = append(layers, layer), append(nodes, mnv3Prefix+c)
				return nil
			}
		}
		return fmt.Errorf("model: mobilenetv3: the graph has none of %v for layer %s (not centernet's backbone?)", candidates, layer)
	}
	if err := pick("conv", "Conv/hard_swish/mul_1"); err != nil {
		return nil, err
	}
	for k := 0; k < 15; k++ {
		block := "expanded_conv"
		if k > 0 {
			block = fmt.Sprintf("expanded_conv_%d", k)
			if err := pick(fmt.Sprintf("e%d", k), block+"/expand/Relu", block+"/expand/hard_swish/mul_1"); err != nil {
				return nil, err
			}
		}
		if err := pick(fmt.Sprintf("b%d", k), block+"/add", block+"/project/BatchNorm/FusedBatchNorm"); err != nil {
			return nil, err
		}
	}
	net, err := tfjsgraph.Compile(m, "tower_0/images", nodes...)
	if err == nil {
		net, err = net.WithNames(layers...)
	}
	if err != nil {
		return nil, fmt.Errorf("model: mobilenetv3: %w", err)
	}
	return &MobileNetV3{net: net, layers: layers}, nil
}

// LoadCenterNetBackbone verifies and loads centernet from the model
// directory dir (registry.CenterNet; fetch it with registry.Ensure).
func LoadCenterNetBackbone(dir string) (*MobileNetV3, error) {
	if err := registry.Verify(dir, registry.CenterNet); err != nil {
		return nil, err
	}
	m, err := tfjsgraph.Load(registry.CenterNet.Path(dir, "centernet.json"))
	if err != nil {
		return nil, err
	}
	return NewMobileNetV3(m)
}

// Layers returns the layer names in order (see NewMobileNetV3).
func (b *MobileNetV3) Layers() []string { return append([]string(nil), b.layers...) }

// Graph runs the first n layers (1 ≤ n ≤ len(Layers())) on x [N, H, W, 3]
// with values 0–255 and returns their outputs [N, h, w, C] in order, each
// named (nn.Graph.Named) with its layer name; only what those layers need
// is run.
func (b *MobileNetV3) Graph(g *nn.Graph, x *nn.Var, n int) []*nn.Var {
	return b.net.GraphUpTo(g, x, n)
}

// Stem returns the first convolution (3×3, stride 2, 3 → 16 channels).
func (b *MobileNetV3) Stem() *nn.Conv2D {
	return b.net.Conv(mnv3Prefix + "Conv/BatchNorm/FusedBatchNorm")
}
