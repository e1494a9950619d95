package visualize

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/tensor"
)

// MaximizeOptions tune Maximize. The zero value means 150 Adam steps of
// 0.05 (pixels in [0, 1]) from mid-grey with a little noise, jitter of
// 1/16 of the input side, and a Gaussian blur of σ 0.5 every 4 steps.
type MaximizeOptions struct {
	Steps     int
	LR        float64
	Jitter    int     // the largest random shift per step, in pixels (<0: none)
	BlurEvery int     // blur every this many steps (<0: never)
	Sigma     float64 // the blur's σ in pixels
	Seed      uint64
}

// Maximized is the result of Maximize: the image, and the objective (the
// channel's mean activation) at the start and at the end, both measured on
// the un-jittered image.
type Maximized struct {
	Image        *image.RGBA
	Pixels       *tensor.Tensor
	Start, Final float64
}

// Maximize makes an image that excites one channel of a layer: gradient
// ascent (Adam) on the pixels of the channel's mean activation, with the
// regularisers that make the result a picture rather than adversarial
// noise (Mordvintsev, Olah & Tyka, "Inceptionism", 2015): every step the
// image is shifted by a random jitter before the pass (and the gradient
// shifted back), every few steps it is blurred, and the pixels stay in
// [0, 1].
func (n *Net) Maximize(layerName string, channel int, opt MaximizeOptions) (*Maximized, error) {
	steps := opt.Steps
	if steps == 0 {
		steps = 150
	}
	lr := opt.LR
	if lr == 0 {
		lr = 0.05
	}
	jitter := opt.Jitter
	if jitter == 0 {
		jitter = max(1, n.Input/16)
	}
	blurEvery := opt.BlurEvery
	if blurEvery == 0 {
		blurEvery = 4
	}
	sigma := opt.Sigma
	if sigma == 0 {
		sigma = 0.5
	}
	if steps < 0 || lr < 0 || sigma < 0 {
		return nil, fmt.Errorf("visualize: maximize: steps %d, learning rate %v, σ %v", steps, lr, sigma)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x3a7))
	s := n.Input
	p := tensor.New(s, s, 3)
	for i := range p.Data {
		p.Data[i] = 0.5 + 0.05*float32(rng.NormFloat64())
	}
	start, _, err := n.objective(p, layerName, channel, nil)
	if err != nil {
		return nil, err
	}
	grad := tensor.New(s, s, 3)
	param := &nn.Param{Name: "image", Value: p, Grad: grad}
	adam := optim.NewAdam(optim.Constant(lr))
	shifted, dq := tensor.New(s, s, 3), tensor.New(s, s, 3)
	for step := 0; step < steps; step++ {
		dy, dx := 0, 0
		if jitter > 0 {
			dy, dx = rng.IntN(2*jitter+1)-jitter, rng.IntN(2*jitter+1)-jitter
		}
		roll(shifted, p, dy, dx)
		if _, _, err := n.objective(shifted, layerName, channel, dq); err != nil {
			return nil, err
		}
		roll(grad, dq, -dy, -dx)
		for i, v := range grad.Data {
			grad.Data[i] = -v // ascent
		}
		if err := adam.Step([]*nn.Param{param}); err != nil {
			return nil, err
		}
		for i, v := range p.Data {
			p.Data[i] = min(max(v, 0), 1)
		}
		if blurEvery > 0 && (step+1)%blurEvery == 0 && sigma > 0 {
			blur(p, sigma)
		}
	}
	final, _, err := n.objective(p, layerName, channel, nil)
	if err != nil {
		return nil, err
	}
	return &Maximized{Image: pixelsImage(p), Pixels: p, Start: start, Final: final}, nil
}

// objective returns the mean activation of channel ch of the layer for
// pixels p and, with grad not nil, writes its gradient with respect to p.
func (n *Net) objective(p *tensor.Tensor, layerName string, ch int, grad *tensor.Tensor) (float64, *nn.Var, error) {
	g := nn.NewInferenceGraph(nil)
	if grad != nil {
		g = nn.NewGraph(nil)
	}
	x := g.Input(n.normalise(p), grad != nil)
	names, vars, err := n.trace(g, x)
	if err != nil {
		return 0, nil, err
	}
	v, err := layer(vars, names, layerName)
	if err != nil {
		return 0, nil, err
	}
	c := v.Value.Shape[3]
	if ch < 0 || ch >= c {
		return 0, nil, fmt.Errorf("visualize: layer %s has channels 0 … %d, not %d", layerName, c-1, ch)
	}
	m := v.Value.Len() / c
	sum := 0.0
	for i := ch; i < v.Value.Len(); i += c {
		sum += float64(v.Value.Data[i])
	}
	if grad == nil {
		return sum / float64(m), v, nil
	}
	seed := tensor.New(v.Value.Shape...)
	for i := ch; i < seed.Len(); i += c {
		seed.Data[i] = 1 / float32(m)
	}
	if err := g.BackwardFromAll([]*nn.Var{v}, []*tensor.Tensor{seed}); err != nil {
		return 0, nil, err
	}
	clear(grad.Data)
	if x.Grad != nil {
		for i, d := range x.Grad.Data {
			grad.Data[i] = d * n.Scale[i%3]
		}
	}
	return sum / float64(m), v, nil
}

// roll sets dst to src shifted by (dy, dx) with wrap-around.
func roll(dst, src *tensor.Tensor, dy, dx int) {
	h, w := src.Shape[0], src.Shape[1]
	for y := 0; y < h; y++ {
		sy := ((y-dy)%h + h) % h
		for x := 0; x < w; x++ {
			sx := ((x-dx)%w + w) % w
			copy(dst.Data[3*(y*w+x):3*(y*w+x)+3], src.Data[3*(sy*w+sx):3*(sy*w+sx)+3])
		}
	}
}

// blur applies a separable Gaussian blur of σ pixels in place (edges
// clamped).
func blur(p *tensor.Tensor, sigma float64) {
	r := int(math.Ceil(2 * sigma))
	k := make([]float32, 2*r+1)
	sum := float32(0)
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	h, w := p.Shape[0], p.Shape[1]
	tmp := make([]float32, len(p.Data))
	for pass := 0; pass < 2; pass++ {
		src, dst := p.Data, tmp
		if pass == 1 {
			src, dst = tmp, p.Data
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var acc [3]float32
				for i, kv := range k {
					yy, xx := y, x
					if pass == 0 {
						xx = min(max(x+i-r, 0), w-1)
					} else {
						yy = min(max(y+i-r, 0), h-1)
					}
					for c := 0; c < 3; c++ {
						acc[c] += kv * src[3*(yy*w+xx)+c]
					}
				}
				copy(dst[3*(y*w+x):], acc[:])
			}
		}
	}
}
