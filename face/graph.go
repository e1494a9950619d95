package face

import (
	"errors"
	"fmt"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// Differentiable is implemented by the descriptor models whose network can
// be recorded on a recording nn.Graph, so that gradients reach the chip's
// pixels (saliency maps of a decision): the pretrained ResNet and
// MobileFaceNet. A model reached through this interface is the same
// network Describe runs, not a copy.
type Differentiable interface {
	DescriptorModel
	// RecordChip records the network on g for one chip of the model's own
	// input size ([S, S, 3], RGB 0..255, as Pipeline.Chip cuts it) and
	// returns the input Var [1, S, S, 3] (its gradient kept; pixel (y, x)
	// of the chip is at (y, x)) and the network's output [1, Dim] before
	// the normalisation a Cosine model's descriptors get (they compare by
	// angle, so it changes no distance). A chip of another size is an
	// error: the gradient would land on a resized copy.
	RecordChip(g *nn.Graph, chip *tensor.Tensor) (in, out *nn.Var, err error)
}

// chipSize checks that chip is [side, side, 3] (or [1, side, side, 3]).
func chipSize(chip *tensor.Tensor, side int) error {
	if chip == nil {
		return errors.New("face: a nil chip")
	}
	sh := chip.Shape
	if len(sh) == 4 && sh[0] == 1 {
		sh = sh[1:]
	}
	if len(sh) != 3 || sh[0] != side || sh[1] != side || sh[2] != 3 || len(chip.Data) != side*side*3 {
		return fmt.Errorf("face: the network reads a %d×%d chip, got %v", side, side, chip.Shape)
	}
	return nil
}

func (m *pretrained) RecordChip(g *nn.Graph, chip *tensor.Tensor) (in, out *nn.Var, err error) {
	if err := chipSize(chip, model.RecognitionInput); err != nil {
		return nil, nil, err
	}
	x, err := model.Preprocess(nil, chip)
	if err != nil {
		return nil, nil, err
	}
	in = g.Input(x, true)
	out = m.net.Graph(g, in)
	return in, out, g.Err()
}

func (m *mobileFaceNet) RecordChip(g *nn.Graph, chip *tensor.Tensor) (in, out *nn.Var, err error) {
	if err := chipSize(chip, mobileFaceNetSize); err != nil {
		return nil, nil, err
	}
	x, err := mobileFaceNetInput(nil, chip)
	if err != nil {
		return nil, nil, err
	}
	in = g.Input(x, true)
	out, err = m.net.Graph(g, in)
	return in, out, err
}
