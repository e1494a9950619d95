package style

import (
	"context"
	"testing"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

// testCenterNet loads centernet's backbone, or skips: it is an optional
// model (facerec models pull centernet), not in the set CI pulls.
func testCenterNet(t testing.TB) FeatureNet {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.CenterNet)
	}
	if err != nil {
		t.Skipf("needs centernet in the model directory (facerec models pull centernet): %v", err)
	}
	b, err := model.LoadCenterNetBackbone(dir)
	if err != nil {
		t.Fatal(err)
	}
	return CenterNet(b)
}

// TestCenterNetStyleCostFalls: with centernet's backbone and the default
// layers, 100 L-BFGS steps from noise cut the style cost at least 10× on
// 64-pixel images.
func TestCenterNetStyleCostFalls(t *testing.T) {
	net := testCenterNet(t)
	content, styleImg := Pixels(checker(64, 16)), Pixels(Resize(stripesImage(96), 64))
	c, err := NewCost(Config{Net: net, ContentWeight: 0.01, StyleWeight: 1e4, TVWeight: 0.01}, content, []*tensor.Tensor{styleImg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Optimize(context.Background(), Options{Iterations: 100, Init: FromNoise})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Steps[len(res.Steps)-1]
	if !(last.Style*10 <= res.Initial.Style) {
		t.Errorf("style cost %.4g → %.4g in %d steps: not 10× lower", res.Initial.Style, last.Style, len(res.Steps))
	}
	t.Logf("style cost %.4g → %.4g (%.0f×) in %d steps", res.Initial.Style, last.Style, res.Initial.Style/last.Style, len(res.Steps))
}
