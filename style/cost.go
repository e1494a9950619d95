package style

import (
	"errors"
	"fmt"
	"math"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
	"github.com/facerec/facerec/tensor/gemm"
)

// Layer is a style layer with its weight w_l in J_style.
type Layer struct {
	Name   string
	Weight float64
}

// Config chooses the feature network, its layers and the weights of the
// cost J(G) = α·J_content + β·J_style + γ·TV.
type Config struct {
	Net FeatureNet
	// Content is the layer J_content compares ("": the network's default).
	Content string
	// Style lists the layers J_style compares with their weights (nil: the
	// network's defaults, each weighted 1/n as in Gatys et al.).
	Style []Layer
	// ContentWeight α, StyleWeight β, TVWeight γ. A zero weight drops the
	// term (its value is still reported).
	ContentWeight, StyleWeight, TVWeight float64
}

// Terms are the parts of the cost at one image.
type Terms struct {
	Content float64   `json:"content"` // J_content, unweighted
	Style   float64   `json:"style"`   // J_style = Σ w_l·E_l, unweighted by β
	TV      float64   `json:"tv"`      // TV(G), unweighted
	Total   float64   `json:"total"`   // α·J_content + β·J_style + γ·TV
	Layers  []float64 `json:"layers"`  // E_l of each style layer
}

// Cost is J(G) for one content image and one or more style images: the
// targets (content activations, style Gram matrices) are computed once, by
// NewCost; Eval computes J and its gradient with respect to G's pixels.
// A Cost is not safe for concurrent use (Eval reuses its scratch arena).
type Cost struct {
	cfg        Config
	contentIdx int
	styleIdx   []int
	depth      int // layers to run: 1 + the deepest used
	h, w       int

	pixels  *tensor.Tensor // C itself, where G may start
	content *tensor.Tensor // P: the content layer's activations of C
	grams   [][]float32    // the blended target Grams, per position (A/M)
	arena   tensor.Arena
}

// NewCost prepares J for content C [H, W, 3] and styles [h, w, 3] (pixels
// in [0, 1]; each style image any size) with blend weights (nil: equal; they
// are normalised to sum 1): the style target of layer l is Σ_s b_s·Â_s,l,
// where Â is the Gram matrix divided by the layer's number of positions, so
// that styles of another size than G compare with it.
func NewCost(cfg Config, content *tensor.Tensor, styles []*tensor.Tensor, blend []float64) (*Cost, error) {
	if cfg.Net == nil {
		return nil, errors.New("style: no feature network")
	}
	for _, v := range []float64{cfg.ContentWeight, cfg.StyleWeight, cfg.TVWeight} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("style: weight %v is not a non-negative number", v)
		}
	}
	h, w, err := imageDims(content)
	if err != nil {
		return nil, fmt.Errorf("style: content image: %w", err)
	}
	if cfg.StyleWeight > 0 && len(styles) == 0 {
		return nil, errors.New("style: a style weight without a style image")
	}
	if blend == nil {
		for range styles {
			blend = append(blend, 1)
		}
	}
	if len(blend) != len(styles) {
		return nil, fmt.Errorf("style: %d blend weights for %d style images", len(blend), len(styles))
	}
	bsum := 0.0
	for _, b := range blend {
		if math.IsNaN(b) || b < 0 {
			return nil, fmt.Errorf("style: blend weight %v is negative", b)
		}
		bsum += b
	}
	if len(styles) > 0 && bsum == 0 {
		return nil, errors.New("style: the blend weights sum to 0")
	}
	defContent, defStyle := cfg.Net.Defaults()
	if cfg.Content == "" {
		cfg.Content = defContent
	}
	if len(styles) == 0 {
		cfg.Style = []Layer{} // content (and TV) only: an image reconstruction
	}
	if cfg.Style == nil {
		for _, name := range defStyle {
			cfg.Style = append(cfg.Style, Layer{name, 1 / float64(len(defStyle))})
		}
	}
	c := &Cost{cfg: cfg, h: h, w: w, pixels: content.Clone()}
	if c.contentIdx, err = layerIndex(cfg.Net, cfg.Content); err != nil {
		return nil, err
	}
	c.depth = c.contentIdx + 1
	for _, l := range cfg.Style {
		if math.IsNaN(l.Weight) || l.Weight < 0 {
			return nil, fmt.Errorf("style: layer %s has weight %v", l.Name, l.Weight)
		}
		i, err := layerIndex(cfg.Net, l.Name)
		if err != nil {
			return nil, err
		}
		c.styleIdx = append(c.styleIdx, i)
		c.depth = max(c.depth, i+1)
	}
	outs, err := c.features(content)
	if err != nil {
		return nil, fmt.Errorf("style: content image: %w", err)
	}
	c.content = outs[c.contentIdx].Value.Clone()
	c.grams = make([][]float32, len(c.styleIdx))
	for s, img := range styles {
		if _, _, err := imageDims(img); err != nil {
			return nil, fmt.Errorf("style: style image %d: %w", s+1, err)
		}
		outs, err := c.features(img)
		if err != nil {
			return nil, fmt.Errorf("style: style image %d: %w", s+1, err)
		}
		for k, i := range c.styleIdx {
			f := outs[i].Value
			m, n := f.Len()/f.Shape[3], f.Shape[3]
			gr := Gram(f)
			if c.grams[k] == nil {
				c.grams[k] = make([]float32, n*n)
			}
			scale := float32(blend[s] / bsum / float64(m))
			for j, v := range gr {
				c.grams[k][j] += scale * v
			}
		}
	}
	return c, nil
}

// Config returns the configuration in force, with the defaults filled in.
func (c *Cost) Config() Config { return c.cfg }

// Size returns the height and width of the images Eval takes.
func (c *Cost) Size() (h, w int) { return c.h, c.w }

// features runs the network in inference mode on an image [H, W, 3].
func (c *Cost) features(img *tensor.Tensor) ([]*nn.Var, error) {
	c.arena.Reset()
	g := nn.NewInferenceGraph(&c.arena)
	outs := c.cfg.Net.Graph(g, g.Input(c.normalise(img), false), c.depth)
	if err := g.Err(); err != nil {
		return nil, err
	}
	return outs, nil
}

// normalise maps pixels [H, W, 3] in [0, 1] to the network's input
// [1, H, W, 3] in the arena.
func (c *Cost) normalise(img *tensor.Tensor) *tensor.Tensor {
	scale, shift := c.cfg.Net.InputAffine()
	x := c.arena.NewUninit(1, img.Shape[0], img.Shape[1], 3)
	for i, v := range img.Data {
		x.Data[i] = v*scale[i%3] + shift[i%3]
	}
	return x
}

// Eval computes J at img [H, W, 3] (pixels in [0, 1], the content image's
// size) and, when grad is not nil, writes ∂J/∂img into it (same shape).
func (c *Cost) Eval(img, grad *tensor.Tensor) (Terms, error) {
	h, w, err := imageDims(img)
	if err != nil {
		return Terms{}, fmt.Errorf("style: %w", err)
	}
	if h != c.h || w != c.w {
		return Terms{}, fmt.Errorf("style: image is %d×%d, the cost was made for %d×%d", w, h, c.w, c.h)
	}
	if grad != nil && grad.Len() != img.Len() {
		return Terms{}, fmt.Errorf("style: gradient of %d values for an image of %d", grad.Len(), img.Len())
	}
	c.arena.Reset()
	var g *nn.Graph
	if grad != nil {
		g = nn.NewGraph(&c.arena)
	} else {
		g = nn.NewInferenceGraph(&c.arena)
	}
	x := g.Input(c.normalise(img), grad != nil)
	outs := c.cfg.Net.Graph(g, x, c.depth)
	if err := g.Err(); err != nil {
		return Terms{}, fmt.Errorf("style: %w", err)
	}
	var t Terms
	var vs []*nn.Var
	var seeds []*tensor.Tensor
	seed := func(v *nn.Var, weight float64) []float32 {
		if grad == nil || weight == 0 {
			return nil
		}
		d := c.arena.New(v.Value.Shape...)
		vs, seeds = append(vs, v), append(seeds, d)
		return d.Data
	}
	// J_content = ½ Σ (F − P)².
	f := outs[c.contentIdx]
	t.Content = ContentCost(f.Value.Data, c.content.Data, seed(f, c.cfg.ContentWeight), c.cfg.ContentWeight)
	// J_style = Σ w_l E_l.
	t.Layers = make([]float64, len(c.styleIdx))
	for k, i := range c.styleIdx {
		f := outs[i]
		wl := c.cfg.Style[k].Weight
		t.Layers[k] = StyleLayerCost(f.Value, c.grams[k], seed(f, c.cfg.StyleWeight*wl), c.cfg.StyleWeight*wl)
		t.Style += wl * t.Layers[k]
	}
	var tvGrad []float32
	if grad != nil {
		clear(grad.Data)
		if c.cfg.TVWeight > 0 {
			tvGrad = grad.Data
		}
	}
	t.TV = TotalVariation(img, tvGrad, c.cfg.TVWeight)
	t.Total = c.cfg.ContentWeight*t.Content + c.cfg.StyleWeight*t.Style + c.cfg.TVWeight*t.TV
	if grad == nil || len(vs) == 0 {
		return t, nil
	}
	if err := g.BackwardFromAll(vs, seeds); err != nil {
		return Terms{}, fmt.Errorf("style: %w", err)
	}
	// dJ/dp = dJ/dx · scale: the input normalisation's chain rule.
	scale, _ := c.cfg.Net.InputAffine()
	for i, v := range x.Grad.Data {
		grad.Data[i] += v * scale[i%3]
	}
	return t, nil
}

// Gram returns the Gram matrix G = FᵀF [C×C] of activations f [1, h, w, C]
// taken as a matrix F of M = h·w positions by C channels: G_ij = Σ_k F_ki
// F_kj, the channel correlations of Gatys et al. (unnormalised; the
// normalisation is in the layer's cost).
func Gram(f *tensor.Tensor) []float32 {
	n := f.Shape[len(f.Shape)-1]
	m := f.Len() / n
	g := make([]float32, n*n)
	gemm.MatMulTA(n, n, m, f.Data, n, f.Data, n, g, n, false)
	return g
}

// StyleLayerCost is one layer's style cost of Gatys et al.,
//
//	E = 1/(4 N² M²) Σ_ij (G_ij − A_ij)²,
//
// for activations f [1, h, w, N] (M = h·w positions, N channels), G =
// Gram(f), and the target given per position (perPos = A/M, so A =
// M·perPos). When df is not nil it gets weight·∂E/∂F = weight/(N² M²)·F
// (G − A) added.
func StyleLayerCost(f *tensor.Tensor, perPos []float32, df []float32, weight float64) float64 {
	n := f.Shape[len(f.Shape)-1]
	m := f.Len() / n
	g := Gram(f)
	fm := float32(m)
	e := 0.0
	for i, v := range g {
		d := v - fm*perPos[i]
		g[i] = d
		e += float64(d) * float64(d)
	}
	norm := 4 * float64(n) * float64(n) * float64(m) * float64(m)
	if df != nil {
		s := float32(weight * 4 / norm)
		for i := range g {
			g[i] *= s
		}
		gemm.MatMul(m, n, n, f.Data, n, g, n, df, n, true)
	}
	return e / norm
}

// ContentCost is J_content = ½ Σ (F − P)²; with df not nil it adds
// weight·(F − P) to df.
func ContentCost(f, p, df []float32, weight float64) float64 {
	s := 0.0
	w := float32(weight)
	for i, v := range f {
		d := v - p[i]
		s += float64(d) * float64(d)
		if df != nil {
			df[i] += w * d
		}
	}
	return s / 2
}

// TotalVariation is TV(x) = Σ (x[i, j+1] − x[i, j])² + (x[i+1, j] − x[i, j])²
// over the pixels and channels of x [H, W, C]; with grad not nil it adds
// weight·∂TV/∂x to grad.
func TotalVariation(x *tensor.Tensor, grad []float32, weight float64) float64 {
	h, w, ch := x.Shape[0], x.Shape[1], x.Shape[2]
	d := x.Data
	s := 0.0
	wt := float32(2 * weight)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			i := (y*w + xx) * ch
			for c := 0; c < ch; c++ {
				if xx+1 < w {
					dv := d[i+ch+c] - d[i+c]
					s += float64(dv) * float64(dv)
					if grad != nil {
						grad[i+ch+c] += wt * dv
						grad[i+c] -= wt * dv
					}
				}
				if y+1 < h {
					dv := d[i+w*ch+c] - d[i+c]
					s += float64(dv) * float64(dv)
					if grad != nil {
						grad[i+w*ch+c] += wt * dv
						grad[i+c] -= wt * dv
					}
				}
			}
		}
	}
	return s
}

// imageDims checks that img is [H, W, 3] and returns H and W.
func imageDims(img *tensor.Tensor) (h, w int, err error) {
	if img == nil || len(img.Shape) != 3 || img.Shape[2] != 3 || img.Shape[0] < 1 || img.Shape[1] < 1 || img.Len() != tensor.Numel(img.Shape) {
		var shape []int
		if img != nil {
			shape = img.Shape
		}
		return 0, 0, fmt.Errorf("image tensor has shape %v, want [H, W, 3]", shape)
	}
	return img.Shape[0], img.Shape[1], nil
}
