package style

import (
	"fmt"

	"github.com/facerec/facerec/tensor"
)

// BalanceStyle reweights the style layers so that each contributes the
// same share of J_style at img (the starting image), keeping J_style
// there as it was: w_l ← (Σ_k w_k·E_k) / (n·E_l). With equal weights a
// shallow layer dominates, since E_l falls with depth (on the SSD backbone
// from the content image of docs/style.md: conv1 1.7, conv3 0.46, conv5
// 0.21, conv7 0.12, conv9 0.09, so conv1 made two thirds of J_style) and
// the style's colour and grain win over its larger patterns. A layer whose
// E_l is 0 at img keeps its weight. It returns the new layers.
func (c *Cost) BalanceStyle(img *tensor.Tensor) ([]Layer, error) {
	t, err := c.Eval(img, nil)
	if err != nil {
		return nil, err
	}
	if t.Style <= 0 || len(t.Layers) == 0 {
		return c.cfg.Style, nil
	}
	share := t.Style / float64(len(t.Layers))
	layers := append([]Layer(nil), c.cfg.Style...)
	for k, e := range t.Layers {
		if e > 0 {
			layers[k].Weight = share / e
		}
	}
	for _, l := range layers {
		if l.Weight < 0 || l.Weight != l.Weight {
			return nil, fmt.Errorf("style: balancing gave layer %s the weight %v", l.Name, l.Weight)
		}
	}
	c.cfg.Style = layers
	return layers, nil
}
