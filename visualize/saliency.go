package visualize

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// DefaultCAMLayer is the descriptor layer Explain's Grad-CAM reads by
// default: the last block at 18×18 (before the final downsampling to 9×9
// makes the map too coarse for a face).
const DefaultCAMLayer = "conv128_2/out"

// Explanation says which pixels of photo A made the descriptor distance of
// a verification pair what it is.
type Explanation struct {
	Distance float64 `json:"distance"`
	// Saliency is |∂d(A, B)/∂A| (the largest over the colour channels),
	// and GradCAM the Grad-CAM map of the similarity −d at CAMLayer, both
	// on photo A's pixels (row-major, W×H), mapped back from the aligned
	// chip the descriptor saw; zero outside it.
	Saliency []float64 `json:"-"`
	GradCAM  []float64 `json:"-"`
	CAMLayer string    `json:"cam_layer"`
	W        int       `json:"width"`
	H        int       `json:"height"`
	// Box is A's face box, and the InBox fractions are the parts of each
	// map's mass inside it.
	Box           face.Rect `json:"box"`
	SaliencyInBox float64   `json:"saliency_in_box"`
	// UniformInBox is the fraction a map uniform over the chip would have:
	// Inner is the box of the inner-face landmarks (17 … 67: brows, eyes,
	// nose, mouth), tighter than the detector's box, and the Inner
	// fractions are the saliency's and a uniform map's mass inside it.
	Inner           face.Rect `json:"inner_box"`
	SaliencyInInner float64   `json:"saliency_in_inner"`
	UniformInInner  float64   `json:"uniform_in_inner"`
	// the chance level the other two compare with.
	UniformInBox  float64     `json:"uniform_in_box"`
	GradCAMInBox  float64     `json:"gradcam_in_box"`
	SaliencyImage *image.RGBA `json:"-"`
	GradCAMImage  *image.RGBA `json:"-"`
}

// Explain computes the saliency and Grad-CAM maps of d(A, B), the
// descriptor distance of the faces that p takes as the subjects of photos
// a and b, over photo a. p must use the dlib alignment and net must be the
// pretrained descriptor p describes with (the gradient runs through net's
// graph on A's chip; the chip's warp is mapped back with p.ChipToImage).
func Explain(ctx context.Context, p *face.Pipeline, net *model.RecognitionNet, a, b image.Image, camLayer string) (*Explanation, error) {
	if camLayer == "" {
		camLayer = DefaultCAMLayer
	}
	fa, err := p.Subject(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("visualize: photo A: %w", err)
	}
	fb, err := p.Subject(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("visualize: photo B: %w", err)
	}
	toImage, err := p.ChipToImage(&fa)
	if err != nil {
		return nil, err
	}
	chipA, err := p.Chip(a, &fa)
	if err != nil {
		return nil, err
	}
	chipB, err := p.Chip(b, &fb)
	if err != nil {
		return nil, err
	}
	if chipA.Shape[0] != model.RecognitionInput {
		return nil, errors.New("visualize: the pipeline's chip is not the descriptor's 150×150 dlib chip")
	}
	xb, err := model.Preprocess(nil, chipB)
	if err != nil {
		return nil, err
	}
	descB := net.Forward(nil, xb)
	xa, err := model.Preprocess(nil, chipA)
	if err != nil {
		return nil, err
	}
	g := nn.NewGraph(nil)
	var cam *nn.Var
	g.Tap = func(name string, v *nn.Var) {
		if name == camLayer {
			cam = v
		}
	}
	xv := g.Input(xa, true)
	out := net.Graph(g, xv)
	if err := g.Err(); err != nil {
		return nil, err
	}
	if cam == nil || len(cam.Value.Shape) != 4 {
		return nil, fmt.Errorf("visualize: the descriptor has no spatial layer %q", camLayer)
	}
	d := 0.0
	for i, v := range out.Value.Data {
		e := float64(v - descB.Data[i])
		d += e * e
	}
	d = math.Sqrt(d)
	if d == 0 {
		return nil, errors.New("visualize: the two faces have the same descriptor; the distance has no gradient")
	}
	seed := tensor.New(out.Value.Shape...)
	for i, v := range out.Value.Data {
		seed.Data[i] = float32(float64(v-descB.Data[i]) / d)
	}
	if err := g.BackwardFrom(out, seed); err != nil {
		return nil, err
	}
	s := model.RecognitionInput
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
	bounds := a.Bounds()
	e := &Explanation{Distance: d, CAMLayer: camLayer, W: bounds.Dx(), H: bounds.Dy(), Box: fa.Box}
	inv, err := invert(toImage)
	if err != nil {
		return nil, err
	}
	e.Saliency = make([]float64, e.W*e.H)
	e.GradCAM = make([]float64, e.W*e.H)
	uniform := make([]float64, e.W*e.H)
	for y := 0; y < e.H; y++ {
		for x := 0; x < e.W; x++ {
			u, v := inv(float64(x)+0.5, float64(y)+0.5) // chip coordinates
			if u < 0 || v < 0 || u >= float64(s) || v >= float64(s) {
				continue
			}
			e.Saliency[y*e.W+x] = sal[int(v)*s+int(u)]
			uniform[y*e.W+x] = 1
			// Bilinear between the CAM cells' field centres.
			e.GradCAM[y*e.W+x] = bilinear(camMap, ch, cw, (v-f.Start[0])/float64(f.Jump[0]), (u-f.Start[1])/float64(f.Jump[1]))
		}
	}
	e.SaliencyInBox = inBox(e.Saliency, e.W, e.H, fa.Box)
	e.GradCAMInBox = inBox(e.GradCAM, e.W, e.H, fa.Box)
	e.UniformInBox = inBox(uniform, e.W, e.H, fa.Box)
	e.Inner = innerBox(&fa)
	e.SaliencyInInner = inBox(e.Saliency, e.W, e.H, e.Inner)
	e.UniformInInner = inBox(uniform, e.W, e.H, e.Inner)
	pa := photo.ImageTensor(a)
	for i := range pa.Data {
		pa.Data[i] /= 255
	}
	base := pixelsImage(pa)
	e.SaliencyImage = Overlay(base, smooth(e.Saliency, e.W, e.H), e.H, e.W)
	e.GradCAMImage = Overlay(base, e.GradCAM, e.H, e.W)
	return e, nil
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
