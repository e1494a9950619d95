package style

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/tensor"
)

// Method is the optimiser of G.
type Method string

// The optimisers: L-BFGS (the usual choice for style transfer, as in
// Gatys et al.'s code) and Adam.
const (
	LBFGS Method = "lbfgs"
	Adam  Method = "adam"
)

// Init says where G starts.
type Init string

// The starting images: the content image, uniform noise, or a given image.
const (
	FromContent Init = "content"
	FromNoise   Init = "noise"
	FromImage   Init = "image"
)

// Options tune Optimize. The zero value means L-BFGS for 200 steps from the
// content image.
type Options struct {
	Method     Method
	Iterations int     // steps (0: 200)
	LR         float64 // Adam's learning rate in pixel units (0: 0.02)
	History    int     // L-BFGS's history (0: 10)
	Init       Init
	Start      *tensor.Tensor // the starting image for FromImage, [H, W, 3] in [0, 1], the content's size
	Seed       uint64         // for FromNoise
	// Balance reweights the style layers at the starting image so that
	// each contributes equally to J_style (Cost.BalanceStyle).
	Balance bool
	// Budget, when positive, stops the run after this much time (at the end
	// of the step that crosses it).
	Budget time.Duration
	// OnStep, when set, is called after every step with the step's terms
	// and the current image (read-only, valid during the call). An error
	// stops the run and is returned.
	OnStep func(s Step, img *tensor.Tensor) error
}

// Step is one optimisation step's record.
type Step struct {
	Step    int           `json:"step"`
	Evals   int           `json:"evals"` // cost evaluations so far (L-BFGS line searches take several)
	Elapsed time.Duration `json:"-"`
	Seconds float64       `json:"seconds"`
	Terms
}

// Result is the outcome of Optimize.
type Result struct {
	Image   *tensor.Tensor // G [H, W, 3], pixels in [0, 1]
	Initial Terms          // the cost at the starting image
	Steps   []Step
	Stopped string // why the run ended before Iterations: "budget", "converged" or ""
}

// Optimize minimises the cost over G's pixels, kept in [0, 1] (L-BFGS by
// projection, Adam by clipping after each update), and returns G. It stops
// early when ctx is cancelled (returning ctx's error with the result so
// far), when the time budget is spent, or when L-BFGS can make no progress.
func (c *Cost) Optimize(ctx context.Context, opt Options) (*Result, error) {
	iters := opt.Iterations
	if iters == 0 {
		iters = 200
	}
	if iters < 0 {
		return nil, fmt.Errorf("style: %d iterations", opt.Iterations)
	}
	img, err := c.start(opt)
	if err != nil {
		return nil, err
	}
	res := &Result{Image: img}
	if opt.Balance {
		if _, err := c.BalanceStyle(img); err != nil {
			return nil, err
		}
	}
	if res.Initial, err = c.Eval(img, nil); err != nil {
		return nil, err
	}
	grad := tensor.New(img.Shape...)
	var last Terms // of the latest evaluation: L-BFGS's accepted point
	objective := func(x, g []float32) (float64, error) {
		t, err := c.Eval(tensor.From(x, img.Shape...), tensor.From(g, img.Shape...))
		last = t
		return t.Total, err
	}
	var step func() (Terms, int, error)
	evals := 0
	switch opt.Method {
	case LBFGS, "":
		lb := optim.NewLBFGS(opt.History, 0, 1)
		step = func() (Terms, int, error) {
			if _, err := lb.Step(img.Data, objective); err != nil {
				return Terms{}, lb.Evals(), err
			}
			// The line search evaluates the accepted point last.
			return last, lb.Evals(), nil
		}
	case Adam:
		lr := opt.LR
		if lr == 0 {
			lr = 0.02
		}
		if lr < 0 {
			return nil, fmt.Errorf("style: learning rate %v", opt.LR)
		}
		p := &nn.Param{Name: "image", Value: img, Grad: grad}
		ad := optim.NewAdam(optim.Constant(lr))
		step = func() (Terms, int, error) {
			t, err := c.Eval(img, grad)
			if err != nil {
				return Terms{}, evals, err
			}
			evals++
			if err := ad.Step([]*nn.Param{p}); err != nil {
				return Terms{}, evals, err
			}
			for i, v := range img.Data {
				img.Data[i] = min(max(v, 0), 1)
			}
			return t, evals, nil
		}
	default:
		return nil, fmt.Errorf("style: unknown method %q (want lbfgs or adam)", opt.Method)
	}
	began := time.Now()
	for i := 1; i <= iters; i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t, n, err := step()
		if errors.Is(err, optim.ErrNoProgress) {
			res.Stopped = "converged"
			break
		}
		if err != nil {
			return nil, err
		}
		el := time.Since(began)
		s := Step{Step: i, Evals: n, Elapsed: el, Seconds: el.Seconds(), Terms: t}
		res.Steps = append(res.Steps, s)
		if opt.OnStep != nil {
			if err := opt.OnStep(s, img); err != nil {
				return res, err
			}
		}
		if opt.Budget > 0 && el >= opt.Budget && i < iters {
			res.Stopped = "budget"
			break
		}
	}
	return res, nil
}

// start makes the starting image.
func (c *Cost) start(opt Options) (*tensor.Tensor, error) {
	img := tensor.New(c.h, c.w, 3)
	switch opt.Init {
	case FromContent, "":
		copy(img.Data, c.pixels.Data)
	case FromImage:
		if opt.Start == nil {
			return nil, errors.New("style: no starting image")
		}
		h, w, err := imageDims(opt.Start)
		if err != nil {
			return nil, fmt.Errorf("style: starting image: %w", err)
		}
		if h != c.h || w != c.w {
			return nil, fmt.Errorf("style: starting image is %d×%d, want %d×%d", w, h, c.w, c.h)
		}
		for i, v := range opt.Start.Data {
			img.Data[i] = min(max(v, 0), 1)
		}
	case FromNoise:
		rng := rand.New(rand.NewPCG(opt.Seed, 0x5747))
		for i := range img.Data {
			img.Data[i] = rng.Float32()
		}
	default:
		return nil, fmt.Errorf("style: unknown initialisation %q (want content, noise or image)", opt.Init)
	}
	return img, nil
}
