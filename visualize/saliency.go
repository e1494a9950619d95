package visualize

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// DefaultCAMLayer is the layer of the dlib descriptor that Grad-CAM reads
// by default: the last block at 18×18 (before the final downsampling to
// 9×9 makes the map too coarse for a face). Other models default to their
// last named layer at no less than a tenth of the chip's side
// (MobileFaceNet: PRelu_75, 14×14).
const DefaultCAMLayer = "conv128_2/out"

// ExplainOptions tune an Explainer.
type ExplainOptions struct {
	// CAMLayer is the Grad-CAM layer ("": the model's default, see
	// DefaultCAMLayer).
	CAMLayer string
	// MaxSide bounds the longest side of the maps (0: photo A's own size).
	// The maps are computed on photo A scaled down to fit, so that their
	// cost and size do not grow with the photo's (the server's bound).
	MaxSide int
}

// Explainer explains the verification decisions of a pipeline's
// descriptor model: which pixels of photo A made d(A, B) what it is. It is
// safe for concurrent use.
type Explainer struct {
	p   *face.Pipeline
	m   face.Differentiable
	opt ExplainOptions
}

// NewExplainer returns the explainer of p's decisions. p's descriptor
// model must be differentiable (the pretrained ResNet, MobileFaceNet) and
// its alignment one whose chip maps back onto the photo (dlib, ArcFace).
func NewExplainer(p *face.Pipeline, opt ExplainOptions) (*Explainer, error) {
	m, ok := p.Model().(face.Differentiable)
	if !ok {
		return nil, fmt.Errorf("visualize: the descriptor model %s gives no input gradient; saliency needs the pretrained ResNet or MobileFaceNet", p.Model().ID())
	}
	if a := p.Options().Align; a != face.AlignDlib && a != face.AlignArcFace {
		return nil, fmt.Errorf("visualize: the %q alignment's chip does not map back onto the photo; saliency needs dlib or arcface", a)
	}
	if opt.MaxSide < 0 {
		return nil, fmt.Errorf("visualize: MaxSide %d is negative", opt.MaxSide)
	}
	return &Explainer{p: p, m: m, opt: opt}, nil
}

// ModelID is the ID of the descriptor model whose decisions x explains.
func (x *Explainer) ModelID() string { return x.m.ID() }

// Explanation says which pixels of photo A made the descriptor distance of
// a verification pair what it is.
type Explanation struct {
	// Distance is d(A, B) in the model's metric, from A's chip as the
	// plain pipeline describes it (a pipeline with flips or jitter
	// averages more views for its decision).
	Distance float64 `json:"distance"`
	Metric   string  `json:"metric"`
	// Saliency is |∂d(A, B)/∂A| (the largest over the colour channels),
	// and GradCAM the Grad-CAM map of the similarity −d at CAMLayer, both
	// on photo A's pixels (row-major, W×H), mapped back from the aligned
	// chip the descriptor saw; zero outside it. W×H is photo A's size,
	// times Scale when ExplainOptions.MaxSide made them smaller.
	Saliency []float64 `json:"-"`
	GradCAM  []float64 `json:"-"`
	CAMLayer string    `json:"cam_layer"`
	W        int       `json:"width"`
	H        int       `json:"height"`
	Scale    float64   `json:"scale"`
	// Box is A's face box (in photo A's pixels), and the InBox fractions
	// are the parts of each map's mass inside it.
	Box           face.Rect `json:"box"`
	SaliencyInBox float64   `json:"saliency_in_box"`
	// UniformInBox is the fraction a map uniform over the chip would have:
	// the chance level the other two compare with.
	UniformInBox float64 `json:"uniform_in_box"`
	GradCAMInBox float64 `json:"gradcam_in_box"`
	// Inner is the box of the inner-face landmarks (17 … 67: brows, eyes,
	// nose, mouth), tighter than the detector's box, and the Inner
	// fractions are the saliency's and a uniform map's mass inside it.
	Inner           face.Rect `json:"inner_box"`
	SaliencyInInner float64   `json:"saliency_in_inner"`
	UniformInInner  float64   `json:"uniform_in_inner"`
	// SaliencyImage and GradCAMImage are the maps drawn over photo A (W×H).
	SaliencyImage *image.RGBA `json:"-"`
	GradCAMImage  *image.RGBA `json:"-"`
}

// Pair explains d(A, B) for the faces p takes as the subjects of photos a
// and b (the service's Compare).
func (x *Explainer) Pair(ctx context.Context, a, b image.Image) (*Explanation, error) {
	fa, err := x.p.Subject(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("visualize: photo A: %w", err)
	}
	fb, err := x.p.Subject(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("visualize: photo B: %w", err)
	}
	return x.explain(ctx, a, &fa, []face.Descriptor{fb.Descriptor})
}

// Against explains d(A, B) for the subject of photo a and the nearest to
// it of the descriptors bs, of the same model (an enrolled person's faces:
// the service's Verify decides against the nearest).
func (x *Explainer) Against(ctx context.Context, a image.Image, bs []face.Descriptor) (*Explanation, error) {
	if len(bs) == 0 {
		return nil, errors.New("visualize: no descriptor to explain the distance to")
	}
	for _, b := range bs {
		if b.Model != x.m.ID() || len(b.Vector) != x.m.Dim() {
			return nil, fmt.Errorf("visualize: %w: a %d-value descriptor of %q, the explainer's model is %q", face.ErrModelMismatch, len(b.Vector), b.Model, x.m.ID())
		}
	}
	fa, err := x.p.Subject(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("visualize: photo A: %w", err)
	}
	return x.explain(ctx, a, &fa, bs)
}

// explain computes the maps of d(A, B) over photo a, whose subject is fa,
// for B the nearest of bs.
func (x *Explainer) explain(ctx context.Context, a image.Image, fa *face.Face, bs []face.Descriptor) (*Explanation, error) {
	toImage, err := x.p.ChipToImage(fa)
	if err != nil {
		return nil, err
	}
	chipA, err := x.p.Chip(a, fa)
	if err != nil {
		return nil, err
	}
	camLayer := x.opt.CAMLayer
	g := nn.NewGraph(nil)
	var named []*nn.Var
	var names []string
	g.Tap = func(name string, v *nn.Var) {
		if len(v.Value.Shape) == 4 {
			named, names = append(named, v), append(names, name)
		}
	}
	xv, out, err := x.m.RecordChip(g, chipA)
	if err != nil {
		return nil, fmt.Errorf("visualize: %w", err)
	}
	s := xv.Value.Shape[1]
	if camLayer == "" {
		camLayer = defaultCAMLayer(x.m.ID(), names, named, s)
	}
	var cam *nn.Var
	for i, n := range names {
		if n == camLayer {
			cam = named[i]
		}
	}
	if cam == nil {
		return nil, fmt.Errorf("visualize: the descriptor has no spatial layer %q", camLayer)
	}
	metric := x.m.Metric()
	b := bs[0]
	for _, c := range bs[1:] {
		if metric.Distance(out.Value.Data, c.Vector) < metric.Distance(out.Value.Data, b.Vector) {
			b = c
		}
	}
	d, seed, err := distanceGrad(metric, out.Value.Data, b.Vector)
	if err != nil {
		return nil, err
	}
	if err := g.BackwardFrom(out, &tensor.Tensor{Shape: out.Value.Shape, Data: seed}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sal := make([]float64, s*s)
	for i := range sal {
		for c := 0; c < 3; c++ {
			sal[i] = math.Max(sal[i], math.Abs(float64(xv.Grad.Data[3*i+c])))
		}
	}
	camMap, err := gradCAM(cam, -1) // the score is −d: what made them close
	if err != nil {
		return nil, err
	}
	ch, cw := cam.Value.Shape[1], cam.Value.Shape[2]
	f := cam.Field()
	inv, err := invert(toImage)
	if err != nil {
		return nil, err
	}
	bounds := a.Bounds()
	e := &Explanation{Distance: d, Metric: string(metric), CAMLayer: camLayer, W: bounds.Dx(), H: bounds.Dy(), Scale: 1, Box: fa.Box}
	if long := max(e.W, e.H); x.opt.MaxSide > 0 && long > x.opt.MaxSide {
		e.Scale = float64(x.opt.MaxSide) / float64(long)
		e.W, e.H = max(1, int(math.Round(float64(e.W)*e.Scale))), max(1, int(math.Round(float64(e.H)*e.Scale)))
	}
	// A map pixel's centre in photo A's pixels (the scale per axis, as
	// the rounding of W and H makes them differ slightly).
	sx, sy := float64(bounds.Dx())/float64(e.W), float64(bounds.Dy())/float64(e.H)
	e.Saliency = make([]float64, e.W*e.H)
	e.GradCAM = make([]float64, e.W*e.H)
	uniform := make([]float64, e.W*e.H)
	for y := 0; y < e.H; y++ {
		for xx := 0; xx < e.W; xx++ {
			u, v := inv((float64(xx)+0.5)*sx, (float64(y)+0.5)*sy) // chip coordinates
			if u < 0 || v < 0 || u >= float64(s) || v >= float64(s) {
				continue
			}
			i := y*e.W + xx
			e.Saliency[i] = sal[int(v)*s+int(u)]
			uniform[i] = 1
			// Bilinear between the CAM cells' field centres.
			e.GradCAM[i] = bilinear(camMap, ch, cw, (v-f.Start[0])/float64(f.Jump[0]), (u-f.Start[1])/float64(f.Jump[1]))
		}
	}
	// The boxes in the maps' pixels.
	scaled := func(r face.Rect) face.Rect { return face.Rect{X: r.X / sx, Y: r.Y / sy, W: r.W / sx, H: r.H / sy} }
	box := scaled(fa.Box)
	e.SaliencyInBox = inBox(e.Saliency, e.W, e.H, box)
	e.GradCAMInBox = inBox(e.GradCAM, e.W, e.H, box)
	e.UniformInBox = inBox(uniform, e.W, e.H, box)
	e.Inner = innerBox(fa)
	e.SaliencyInInner = inBox(e.Saliency, e.W, e.H, scaled(e.Inner))
	e.UniformInInner = inBox(uniform, e.W, e.H, scaled(e.Inner))
	var base *image.RGBA
	if e.Scale == 1 {
		pa := photo.ImageTensor(a)
		for i := range pa.Data {
			pa.Data[i] /= 255
		}
		base = pixelsImage(pa)
	} else {
		base = scaleTo(a, e.W, e.H)
	}
	e.SaliencyImage = Overlay(base, smooth(e.Saliency, e.W, e.H), e.H, e.W)
	e.GradCAMImage = Overlay(base, e.GradCAM, e.H, e.W)
	return e, nil
}

// SaliencyHeat is the saliency map as a heatmap image of its own (W×H,
// the colours of Overlay with their strength as alpha), to lay over photo
// A wherever it is shown; it holds none of the photo's pixels.
func (e *Explanation) SaliencyHeat() *image.NRGBA {
	return heatImage(smooth(e.Saliency, e.W, e.H), e.W, e.H)
}

// GradCAMHeat is the Grad-CAM map as SaliencyHeat draws the saliency.
func (e *Explanation) GradCAMHeat() *image.NRGBA { return heatImage(e.GradCAM, e.W, e.H) }

// distanceGrad returns d(a, b) in metric m and ∂d/∂a, for a network output
// a (a Cosine model's before its scaling to unit length) and a descriptor b.
func distanceGrad(m face.Metric, a []float32, b []float32) (float64, []float32, error) {
	if len(a) != len(b) {
		return 0, nil, fmt.Errorf("visualize: %w: %d values against %d", face.ErrModelMismatch, len(a), len(b))
	}
	grad := make([]float32, len(a))
	switch m {
	case face.Euclidean:
		d := 0.0
		for i, v := range a {
			e := float64(v - b[i])
			d += e * e
		}
		d = math.Sqrt(d)
		if d == 0 {
			return 0, nil, errors.New("visualize: the two faces have the same descriptor; the distance has no gradient")
		}
		for i, v := range a {
			grad[i] = float32(float64(v-b[i]) / d)
		}
		return d, grad, nil
	case face.Cosine:
		// d = 1 − a·b / (|a| |b|); ∂d/∂a = −(b/|b| − cos·a/|a|) / |a|.
		var ab, aa, bb float64
		for i, v := range a {
			x, y := float64(v), float64(b[i])
			ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
		}
		if aa == 0 || bb == 0 {
			return 0, nil, errors.New("visualize: a zero descriptor; the distance has no gradient")
		}
		na, nb := math.Sqrt(aa), math.Sqrt(bb)
		cos := ab / (na * nb)
		for i, v := range a {
			grad[i] = float32(-(float64(b[i])/nb - cos*float64(v)/na) / na)
		}
		return 1 - cos, grad, nil
	}
	return 0, nil, fmt.Errorf("visualize: no gradient for the %q metric", m)
}

// defaultCAMLayer is DefaultCAMLayer for the dlib descriptor, else the
// last of the named layers whose side is at least a tenth of the input's.
func defaultCAMLayer(modelID string, names []string, vars []*nn.Var, input int) string {
	if modelID == face.PretrainedID {
		return DefaultCAMLayer
	}
	best := ""
	for i, v := range vars {
		if 10*v.Value.Shape[1] >= input {
			best = names[i]
		}
	}
	return best
}

// gradCAM returns ReLU(Σ_c α_c A_c) over the layer's positions, with α_c
// the mean over positions of sign·∂L/∂A_c (Selvaraju et al. 2017) for the
// gradient Backward left in v.Grad.
func gradCAM(v *nn.Var, sign float64) ([]float64, error) {
	if v.Grad == nil {
		return nil, errors.New("visualize: no gradient reached the Grad-CAM layer")
	}
	_, h, w, c := v.Value.Shape[0], v.Value.Shape[1], v.Value.Shape[2], v.Value.Shape[3]
	alpha := make([]float64, c)
	for i, g := range v.Grad.Data {
		alpha[i%c] += sign * float64(g) / float64(h*w)
	}
	m := make([]float64, h*w)
	for p := range m {
		s := 0.0
		for ch := 0; ch < c; ch++ {
			s += alpha[ch] * float64(v.Value.Data[p*c+ch])
		}
		m[p] = math.Max(s, 0)
	}
	return m, nil
}

// invert returns the inverse of an affine map of the plane given as a
// function (a similarity: chip to image).
func invert(f func(x, y float64) (float64, float64)) (func(x, y float64) (float64, float64), error) {
	ox, oy := f(0, 0)
	ax, ay := f(1, 0)
	bx, by := f(0, 1)
	a, b, c, d := ax-ox, bx-ox, ay-oy, by-oy // [[a b] [c d]]
	det := a*d - b*c
	if det == 0 || math.IsNaN(det) {
		return nil, errors.New("visualize: the chip transform is degenerate")
	}
	return func(x, y float64) (float64, float64) {
		x, y = x-ox, y-oy
		return (d*x - b*y) / det, (-c*x + a*y) / det
	}, nil
}

// inBox is the fraction of m's mass inside box.
func inBox(m []float64, w, h int, box face.Rect) float64 {
	in, all := 0.0, 0.0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := m[y*w+x]
			all += v
			if fx, fy := float64(x)+0.5, float64(y)+0.5; fx >= box.X && fx < box.X+box.W && fy >= box.Y && fy < box.Y+box.H {
				in += v
			}
		}
	}
	if all == 0 {
		return 0
	}
	return in / all
}

// smooth blurs a map with a 5×5 box filter for display (raw gradients are
// speckled pixel by pixel).
func smooth(m []float64, w, h int) []float64 {
	out := make([]float64, len(m))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s, n := 0.0, 0
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					if yy, xx := y+dy, x+dx; yy >= 0 && yy < h && xx >= 0 && xx < w {
						s += m[yy*w+xx]
						n++
					}
				}
			}
			out[y*w+x] = s / float64(n)
		}
	}
	return out
}

// innerBox is the bounding box of the landmarks 17 … 67.
func innerBox(f *face.Face) face.Rect {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range f.Landmarks[17:] {
		x0, y0, x1, y1 = math.Min(x0, p.X), math.Min(y0, p.Y), math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return face.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// bilinear samples the h×w map m at the fractional cell (i, j), clamped
// to its edges.
func bilinear(m []float64, h, w int, i, j float64) float64 {
	i, j = min(max(i, 0), float64(h-1)), min(max(j, 0), float64(w-1))
	i0, j0 := int(i), int(j)
	i1, j1 := min(i0+1, h-1), min(j0+1, w-1)
	fi, fj := i-float64(i0), j-float64(j0)
	top := m[i0*w+j0]*(1-fj) + m[i0*w+j1]*fj
	bottom := m[i1*w+j0]*(1-fj) + m[i1*w+j1]*fj
	return top*(1-fi) + bottom*fi
}
