package style

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// TestBalanceStyle: after balancing, every style layer makes the same share
// of J_style at the image balanced at, and J_style there is what it was.
func TestBalanceStyle(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	content := randImage(rng, 10, 12)
	cfg := Config{Net: newTestNet(t), Content: "b", Style: []Layer{{"a", 0.3}, {"b", 0.2}, {"c", 0.5}}, StyleWeight: 1}
	c, err := NewCost(cfg, content, []*tensor.Tensor{randImage(rng, 8, 8)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := c.Eval(content, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := c.BalanceStyle(content)
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Eval(content, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(after.Style-before.Style) > 1e-9*before.Style {
		t.Errorf("J_style %.6g after balancing, %.6g before", after.Style, before.Style)
	}
	for k, l := range layers {
		share := l.Weight * after.Layers[k]
		if math.Abs(share-after.Style/3) > 1e-9*after.Style {
			t.Errorf("layer %s: w·E = %.6g, want a third of %.6g (weights %+v)", l.Name, share, after.Style, layers)
		}
	}
	if c.Config().Style[0].Weight == 0.3 {
		t.Error("the cost kept its old weights")
	}
}
