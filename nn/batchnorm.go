package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/facerec/facerec/tensor"
)

// BatchNorm normalises each channel (the last dimension) of its input:
//
//	y = Gamma·(x − mean)/sqrt(var + Eps) + Beta
//
// In training the mean and (biased) variance are those of the batch and
// the running statistics move towards them by Momentum (PyTorch's
// convention: running = (1−Momentum)·running + Momentum·batch, with the
// unbiased batch variance); in inference the running statistics are used,
// and Fold merges them into the preceding convolution's epilogue.
type BatchNorm struct {
	C        int
	Momentum float32
	Eps      float32

	Gamma, Beta             *Param // trainable, [C]
	RunningMean, RunningVar *Param // buffers (nil Grad), [C]
}

// NewBatchNorm returns a batch norm over c channels with Gamma 1, Beta 0,
// running mean 0 and variance 1, Momentum 0.1 and Eps 1e-5.
func NewBatchNorm(c int) (*BatchNorm, error) {
	if c < 1 {
		return nil, fmt.Errorf("nn: batch norm over %d channels", c)
	}
	ones := func() *tensor.Tensor {
		t := tensor.New(c)
		for i := range t.Data {
			t.Data[i] = 1
		}
		return t
	}
	return &BatchNorm{
		C: c, Momentum: 0.1, Eps: 1e-5,
		Gamma:       NewParam("gamma", ones()),
		Beta:        NewParam("beta", tensor.New(c)),
		RunningMean: newBuffer("running_mean", tensor.New(c)),
		RunningVar:  newBuffer("running_var", ones()),
	}, nil
}

// Params returns Gamma, Beta and the running mean and variance (buffers),
// renamed prefix+"gamma", prefix+"beta", prefix+"running_mean" and
// prefix+"running_var".
func (bn *BatchNorm) Params(prefix string) []*Param {
	bn.Gamma.Name = prefix + "gamma"
	bn.Beta.Name = prefix + "beta"
	bn.RunningMean.Name = prefix + "running_mean"
	bn.RunningVar.Name = prefix + "running_var"
	return []*Param{bn.Gamma, bn.Beta, bn.RunningMean, bn.RunningVar}
}

// inferenceAffine returns the per-channel scale and shift that apply the
// running statistics: y = x·scale + shift.
func (bn *BatchNorm) inferenceAffine() (scale, shift []float32) {
	scale = make([]float32, bn.C)
	shift = make([]float32, bn.C)
	for j := range scale {
		inv := 1 / math.Sqrt(float64(bn.RunningVar.Value.Data[j])+float64(bn.Eps))
		s := float64(bn.Gamma.Value.Data[j]) * inv
		scale[j] = float32(s)
		shift[j] = float32(float64(bn.Beta.Value.Data[j]) - float64(bn.RunningMean.Value.Data[j])*s)
	}
	return scale, shift
}

// Forward applies the layer with its running statistics (inference) to x,
// whose last dimension is C, allocating the result from arena.
func (bn *BatchNorm) Forward(arena *tensor.Arena, x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(x.Shape) == 0 || x.Dim(-1) != bn.C {
		return nil, fmt.Errorf("nn: batch norm over %d channels given %v", bn.C, x.Shape)
	}
	scale, shift := bn.inferenceAffine()
	out := arena.NewUninit(x.Shape...)
	copy(out.Data, x.Data)
	affineAct(out.Data, bn.C, nil, scale, shift, Linear)
	return out, nil
}

// Fold merges the layer's inference form into c, which must directly
// precede it, by setting c's Scale and Shift (c then computes
// act(((conv + Bias)·scale) + shift) in its fused epilogue), and sets c's
// activation to act, the one that followed the batch norm. c must not have
// a Scale, Shift or activation of its own.
func (bn *BatchNorm) Fold(c *Conv2D, act Activation) error {
	if c == nil {
		return errors.New("nn: fold batch norm into a nil conv")
	}
	if c.Cout != bn.C {
		return fmt.Errorf("nn: fold batch norm over %d channels into a conv with %d outputs", bn.C, c.Cout)
	}
	if c.Scale != nil || c.Shift != nil || c.Act != Linear {
		return errors.New("nn: fold batch norm into a conv that already has an affine epilogue or activation")
	}
	// A conv Bias b stays where it is: ((z + b)·s) + (beta − mean·s) is
	// the batch norm of z + b.
	scale, shift := bn.inferenceAffine()
	c.Scale, c.Shift, c.Act = scale, shift, act
	return nil
}

// BatchNorm normalises x (channels last) with bn: with training, by the
// batch's statistics, updating bn's running statistics; otherwise by the
// running statistics, computing exactly Forward's values. Backward adds dL/dGamma and dL/dBeta and
// computes dL/dx through the batch statistics.
func (g *Graph) BatchNorm(x *Var, bn *BatchNorm, training bool) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if bn == nil || bn.Gamma == nil {
		return g.fail("batch norm layer not made by NewBatchNorm")
	}
	if len(x.Value.Shape) == 0 || x.Value.Dim(-1) != bn.C {
		return g.fail("batch norm over %d channels given %v", bn.C, x.Value.Shape)
	}
	c := bn.C
	rows := x.Value.Len() / c
	if rows == 0 || (training && rows < 2) {
		return g.fail("batch norm in training needs at least 2 values per channel, got %v", x.Value.Shape)
	}
	mean := make([]float64, c)
	invStd := make([]float64, c)
	if training {
		variance := make([]float64, c)
		for r := 0; r < rows; r++ {
			for j, v := range x.Value.Data[r*c : (r+1)*c] {
				mean[j] += float64(v)
			}
		}
		for j := range mean {
			mean[j] /= float64(rows)
		}
		for r := 0; r < rows; r++ {
			for j, v := range x.Value.Data[r*c : (r+1)*c] {
				d := float64(v) - mean[j]
				variance[j] += d * d
			}
		}
		m := float64(bn.Momentum)
		for j := range variance {
			variance[j] /= float64(rows)
			invStd[j] = 1 / math.Sqrt(variance[j]+float64(bn.Eps))
			rm, rv := &bn.RunningMean.Value.Data[j], &bn.RunningVar.Value.Data[j]
			*rm = float32((1-m)*float64(*rm) + m*mean[j])
			*rv = float32((1-m)*float64(*rv) + m*variance[j]*float64(rows)/float64(rows-1))
		}
	} else {
		for j := range mean {
			mean[j] = float64(bn.RunningMean.Value.Data[j])
			invStd[j] = 1 / math.Sqrt(float64(bn.RunningVar.Value.Data[j])+float64(bn.Eps))
		}
	}
	gamma, beta := bn.Gamma.Value.Data, bn.Beta.Value.Data
	y := g.arena.NewUninit(x.Value.Shape...)
	var xhat *tensor.Tensor // the normalised x, kept for training's backward
	if training {
		xhat = g.arena.NewUninit(x.Value.Shape...)
		g.chunks(rows*c, func(lo, hi int) {
			for r := lo / c; r < hi/c; r++ {
				for j, v := range x.Value.Data[r*c : (r+1)*c] {
					h := float32((float64(v) - mean[j]) * invStd[j])
					xhat.Data[r*c+j] = h
					y.Data[r*c+j] = gamma[j]*h + beta[j]
				}
			}
		})
	} else {
		// Forward's fused affine, so that inference gives its values.
		scale, shift := bn.inferenceAffine()
		copy(y.Data, x.Value.Data)
		affineAct(y.Data, c, nil, scale, shift, Linear)
	}
	out := g.newVar(y, x)
	trainGamma, trainBeta := g.trains(bn.Gamma), g.trains(bn.Beta)
	out.needsGrad = out.needsGrad || trainGamma || trainBeta
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			dy := out.Grad.Data
			sumDy := make([]float64, c)
			sumDyXhat := make([]float64, c)
			for r := 0; r < rows; r++ {
				for j, d := range dy[r*c : (r+1)*c] {
					sumDy[j] += float64(d)
					var h float64
					if xhat != nil {
						h = float64(xhat.Data[r*c+j])
					} else {
						h = (float64(x.Value.Data[r*c+j]) - mean[j]) * invStd[j]
					}
					sumDyXhat[j] += float64(d) * h
				}
			}
			if trainGamma {
				for j := range sumDyXhat {
					bn.Gamma.Grad.Data[j] += float32(sumDyXhat[j])
				}
			}
			if trainBeta {
				for j := range sumDy {
					bn.Beta.Grad.Data[j] += float32(sumDy[j])
				}
			}
			if !x.needsGrad {
				return
			}
			dx := g.grad(x).Data
			n := float64(rows)
			g.chunks(rows*c, func(lo, hi int) {
				for r := lo / c; r < hi/c; r++ {
					for j, d := range dy[r*c : (r+1)*c] {
						k := float64(gamma[j]) * invStd[j]
						v := float64(d)
						if training {
							// The batch mean and variance depend on x too.
							v -= (sumDy[j] + float64(xhat.Data[r*c+j])*sumDyXhat[j]) / n
						}
						dx[r*c+j] += float32(k * v)
					}
				}
			})
		})
	}
	return out
}
