package style

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// testNet is a small random frozen conv net standing in for a pretrained
// one: layers a (3×3, ReLU), b (3×3 stride 2, ReLU), c (3×3, linear).
type testNet struct{ convs []*nn.Conv2D }

func newTestNet(t testing.TB) *testNet {
	rng := rand.New(rand.NewPCG(4, 2))
	n := &testNet{}
	for i, s := range []struct{ cin, cout, stride int }{{3, 6, 1}, {6, 8, 2}, {8, 8, 1}} {
		w := tensor.New(3, 3, s.cin, s.cout)
		for j := range w.Data {
			w.Data[j] = float32(rng.NormFloat64() / math.Sqrt(float64(9*s.cin)))
		}
		c, err := nn.NewConv2D(w, s.stride, nn.Same)
		if err != nil {
			t.Fatal(err)
		}
		c.Bias = make([]float32, s.cout)
		for j := range c.Bias {
			c.Bias[j] = float32(rng.NormFloat64() * 0.1)
		}
		if i < 2 {
			c.Act = nn.ReLU
		}
		c.Frozen = true
		n.convs = append(n.convs, c)
	}
	return n
}

func (*testNet) Name() string     { return "test" }
func (*testNet) Layers() []string { return []string{"a", "b", "c"} }
func (*testNet) InputAffine() (scale, shift [3]float32) {
	return [3]float32{2, 1.5, 1}, [3]float32{-1, -0.5, 0}
}
func (n *testNet) Graph(g *nn.Graph, x *nn.Var, k int) []*nn.Var {
	var out []*nn.Var
	h := x
	for i := 0; i < k && i < len(n.convs); i++ {
		h = g.Conv2D(h, n.convs[i])
		out = append(out, h)
	}
	return out
}
func (*testNet) Defaults() (string, []string) { return "b", []string{"a", "b", "c"} }

func randImage(rng *rand.Rand, h, w int) *tensor.Tensor {
	x := tensor.New(h, w, 3)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	return x
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestGram: two positions (1, 2) and (3, 4): G = FᵀF by hand.
func TestGram(t *testing.T) {
	g := Gram(tensor.From([]float32{1, 2, 3, 4}, 1, 1, 2, 2))
	want := []float32{10, 14, 14, 20}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("Gram = %v, want %v", g, want)
		}
	}
}

// TestStyleLayerCost: F = [[1, 2], [3, 4]] (M = 2 positions, N = 2
// channels) against A = 2·I: G − A = [[8, 14], [14, 18]], Σ(G − A)² = 780,
// E = 780/(4·2²·2²) = 12.1875; ∂E/∂F = F(G − A)/(N²M²) = [[36, 50], [80,
// 114]]/16.
func TestStyleLayerCost(t *testing.T) {
	f := tensor.From([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	perPos := []float32{1, 0, 0, 1} // A/M
	df := make([]float32, 4)
	e := StyleLayerCost(f, perPos, df, 1)
	if !near(e, 12.1875, 1e-7) {
		t.Errorf("E = %v, want 12.1875", e)
	}
	want := []float64{2.25, 3.125, 5, 7.125}
	for i := range want {
		if !near(float64(df[i]), want[i], 1e-6) {
			t.Fatalf("∂E/∂F = %v, want %v", df, want)
		}
	}
	// The weight scales the gradient only.
	clear(df)
	if e2 := StyleLayerCost(f, perPos, df, 3); e2 != e || !near(float64(df[3]), 3*7.125, 1e-6) {
		t.Errorf("weight 3: E %v, ∂E/∂F %v", e2, df)
	}
}

func TestContentCost(t *testing.T) {
	df := make([]float32, 3)
	if j := ContentCost([]float32{1, 2, 3}, []float32{0, 2, 5}, df, 1); j != 2.5 {
		t.Errorf("J_content = %v, want 2.5", j)
	}
	if df[0] != 1 || df[1] != 0 || df[2] != -2 {
		t.Errorf("∂J/∂F = %v, want [1 0 -2]", df)
	}
}

// TestTotalVariation: x = [[0, 1], [3, 5]]: (1−0)² + (5−3)² across,
// (3−0)² + (5−1)² down, 30 in all.
func TestTotalVariation(t *testing.T) {
	x := tensor.From([]float32{0, 1, 3, 5}, 2, 2, 1)
	g := make([]float32, 4)
	if tv := TotalVariation(x, g, 1); tv != 30 {
		t.Errorf("TV = %v, want 30", tv)
	}
	want := []float32{-8, -6, 2, 12}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("∂TV/∂x = %v, want %v", g, want)
		}
	}
}

// TestCostGradient: ∂J/∂G of the whole cost (content, two style layers of
// different weights, TV, two blended styles of another size, the input
// normalisation) against central differences.
func TestCostGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	content := randImage(rng, 10, 12)
	styles := []*tensor.Tensor{randImage(rng, 8, 8), randImage(rng, 14, 9)}
	cfg := Config{Net: newTestNet(t), Content: "b", Style: []Layer{{"a", 0.3}, {"c", 0.7}},
		ContentWeight: 1, StyleWeight: 50, TVWeight: 0.5}
	c, err := NewCost(cfg, content, styles, []float64{0.6, 0.4})
	if err != nil {
		t.Fatal(err)
	}
	g0 := randImage(rng, 10, 12)
	grad := tensor.New(g0.Shape...)
	terms, err := c.Eval(g0, grad)
	if err != nil {
		t.Fatal(err)
	}
	if terms.Content <= 0 || terms.Style <= 0 || terms.TV <= 0 {
		t.Fatalf("terms %+v: each should be positive", terms)
	}
	total := func() float64 {
		tt, err := c.Eval(g0, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tt.Total
	}
	largest := 0.0
	for _, v := range grad.Data {
		largest = math.Max(largest, math.Abs(float64(v)))
	}
	const eps = 1e-3
	checked, worst := 0, 0.0
	for k := 0; k < 60; k++ {
		i := rng.IntN(g0.Len())
		orig := g0.Data[i]
		g0.Data[i] = orig + eps
		lp := total()
		g0.Data[i] = orig - eps
		lm := total()
		g0.Data[i] = orig
		num := (lp - lm) / (2 * eps)
		got := float64(grad.Data[i])
		rel := math.Abs(got-num) / math.Max(math.Abs(num), 0.05*largest)
		worst = math.Max(worst, rel)
		checked++
		if rel > 0.03 {
			t.Errorf("∂J/∂G[%d] = %.6g, central difference %.6g", i, got, num)
		}
	}
	t.Logf("%d values, worst relative error %.2g", checked, worst)
}

// TestStyleCostFalls: from noise, a short run of either optimiser cuts the
// style cost by at least 10× (small images, the random test net).
func TestStyleCostFalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 7))
	content := randImage(rng, 16, 16)
	style := randImage(rng, 16, 16)
	// A style with structure: horizontal stripes.
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			v := float32(y % 4 / 2)
			style.Data[(y*16+x)*3], style.Data[(y*16+x)*3+1], style.Data[(y*16+x)*3+2] = v, 0.5*v, 1-v
		}
	}
	for _, m := range []Method{LBFGS, Adam} {
		c, err := NewCost(Config{Net: newTestNet(t), ContentWeight: 0, StyleWeight: 1}, content, []*tensor.Tensor{style}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Optimize(context.Background(), Options{Method: m, Iterations: 60, Init: FromNoise, Seed: 1, LR: 0.03})
		if err != nil {
			t.Fatal(err)
		}
		last := res.Steps[len(res.Steps)-1].Style
		if !(last*10 <= res.Initial.Style) {
			t.Errorf("%s: style cost %.4g → %.4g in %d steps, not 10× lower", m, res.Initial.Style, last, len(res.Steps))
		}
		for _, v := range res.Image.Data {
			if v < 0 || v > 1 {
				t.Fatalf("%s: pixel %v outside [0, 1]", m, v)
			}
		}
		t.Logf("%s: style cost %.4g → %.4g (%.0f×) in %d steps", m, res.Initial.Style, last, res.Initial.Style/last, len(res.Steps))
	}
}

func TestCostErrors(t *testing.T) {
	net := newTestNet(t)
	img := tensor.New(8, 8, 3)
	for name, f := range map[string]func() error{
		"unknown layer": func() error { _, err := NewCost(Config{Net: net, Content: "z"}, img, nil, nil); return err },
		"no net":        func() error { _, err := NewCost(Config{}, img, nil, nil); return err },
		"bad shape":     func() error { _, err := NewCost(Config{Net: net}, tensor.New(8, 8), nil, nil); return err },
		"blend count": func() error {
			_, err := NewCost(Config{Net: net}, img, []*tensor.Tensor{img}, []float64{1, 2})
			return err
		},
		"negative": func() error {
			_, err := NewCost(Config{Net: net, StyleWeight: -1}, img, []*tensor.Tensor{img}, nil)
			return err
		},
		"style, no image": func() error { _, err := NewCost(Config{Net: net, StyleWeight: 1}, img, nil, nil); return err },
		"wrong size": func() error {
			c, err := NewCost(Config{Net: net, ContentWeight: 1}, img, nil, nil)
			if err != nil {
				return nil
			}
			_, err = c.Eval(tensor.New(4, 8, 3), nil)
			return err
		},
		"method": func() error {
			c, err := NewCost(Config{Net: net, ContentWeight: 1}, img, nil, nil)
			if err != nil {
				return nil
			}
			_, err = c.Optimize(context.Background(), Options{Method: "sgd"})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
