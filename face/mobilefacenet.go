package face

import (
	"context"
	"fmt"

	"github.com/facerec/facerec/model/onnx"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// MobileFaceNetID is the ID of the MobileFaceNet descriptor model: its
// architecture and the checksum of fr_feature.onnx (registry.FRFeature).
var MobileFaceNetID = "mobilefacenet/" + registry.FRFeature.ID()

// MobileFaceNetThreshold is the cosine distance below which two
// MobileFaceNet descriptors (ArcFace chips, the default pipeline otherwise)
// are taken to be the same person, chosen on LFW View 1: one threshold over
// both files' 3,200 pairs is best at 0.715 (19 wrong) and within one pair of
// it from 0.712 to 0.721; the 10-fold thresholds have a median of 0.717 on
// pairsDevTest (docs/lfw.md).
const MobileFaceNetThreshold = 0.715

// mobileFaceNetSize is the side of the chip the network reads.
const mobileFaceNetSize = 112

// loadMobileFaceNet loads the network from dir, whose file the caller has
// checked.
func loadMobileFaceNet(dir string) (*mobileFaceNet, error) {
	net, err := onnx.Load(registry.FRFeature.Path(dir, registry.FRFeature.Files[0].Name))
	if err != nil {
		return nil, fmt.Errorf("face: %w", err)
	}
	return newMobileFaceNet(net)
}

func newMobileFaceNet(net *onnx.Net) (*mobileFaceNet, error) {
	if c, h, w := net.InputSize(); c != 3 || h != mobileFaceNetSize || w != mobileFaceNetSize || net.OutputLen() != 512 {
		return nil, fmt.Errorf("face: the MobileFaceNet file reads %d×%d×%d and gives %d values, want 112×112×3 and 512", h, w, c, net.OutputLen())
	}
	return &mobileFaceNet{net: net}, nil
}

// mobileFaceNet is the ONNX MobileFaceNet of faceplugin-face-recognition-js.
type mobileFaceNet struct {
	net    *onnx.Net
	arenas arenaPool
}

func (*mobileFaceNet) ID() string         { return MobileFaceNetID }
func (*mobileFaceNet) Dim() int           { return 512 }
func (*mobileFaceNet) Metric() Metric     { return Cosine }
func (*mobileFaceNet) Threshold() float64 { return MobileFaceNetThreshold }

// Describe runs the network on each chip in an inference graph. A chip of
// another size than 112×112 is zero-padded to a square (centred) and
// resized bilinearly, as the pretrained model's chips are; the values are
// then scaled as the package's own code does, (v − 127)/128. The
// descriptor is the network's output scaled to unit length, which leaves
// its cosine distances as they are and lets a gallery search it by
// Euclidean distance (Metric.FromEuclidean).
func (m *mobileFaceNet) Describe(ctx context.Context, chips []*tensor.Tensor) ([]Descriptor, error) {
	return describeAll(ctx, chips, m.ID(), &m.arenas, func(arena *tensor.Arena, chip *tensor.Tensor) ([]float32, error) {
		x, err := mobileFaceNetInput(arena, chip)
		if err != nil {
			return nil, err
		}
		out, err := m.net.Forward(arena, x)
		if err != nil {
			return nil, err
		}
		return unit(out.Data), nil
	})
}

// mobileFaceNetInput turns a chip [H, W, 3] (or [1, H, W, 3]) of RGB values
// 0..255 into the network's input [1, 112, 112, 3].
func mobileFaceNetInput(arena *tensor.Arena, chip *tensor.Tensor) (*tensor.Tensor, error) {
	if chip == nil {
		return nil, fmt.Errorf("face: a nil chip")
	}
	sh := chip.Shape
	if len(sh) == 4 && sh[0] == 1 {
		sh = sh[1:]
	}
	// Checked before any reshape, which would panic on a bad size.
	if len(sh) != 3 || sh[0] < 1 || sh[1] < 1 || sh[2] != 3 || sh[0] > 1<<14 || sh[1] > 1<<14 || sh[0]*sh[1]*3 != len(chip.Data) {
		return nil, fmt.Errorf("face: a chip must be [H, W, 3] RGB, got %v", chip.Shape)
	}
	x := &tensor.Tensor{Shape: []int{1, sh[0], sh[1], 3}, Data: chip.Data}
	if x.Shape[1] != mobileFaceNetSize || x.Shape[2] != mobileFaceNetSize {
		x = nn.ResizeBilinear(arena, nn.PadToSquare(arena, x, true), mobileFaceNetSize, mobileFaceNetSize)
	}
	out := arena.NewUninit(x.Shape...)
	for i, v := range x.Data {
		out.Data[i] = (v - 127) / 128
	}
	return out, nil
}
