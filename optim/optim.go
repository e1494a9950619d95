// Package optim updates the parameters of a network from their gradients:
// SGD with momentum (optionally Nesterov) and Adam (optionally AdamW's
// decoupled weight decay), with learning-rate schedules (constant, step
// decay, cosine, each with a linear warm-up).
//
// A training step is: zero the gradients, run the forward pass on an
// nn.Graph, Backward, then Step. Optimizers keep their per-parameter state
// by parameter name, so that State and SetState can save and restore it
// (see package checkpoint) and the names must be unique.
//
// Weight decay applies only to parameters of rank 2 or more (convolution
// and dense weights), not to biases, batch-norm scales or PReLU slopes,
// which is the usual practice and keeps it from pulling those towards 0.
package optim

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every param with a gradient (buffers,
	// with a nil Grad, are skipped), calls their Updated, and counts the
	// step. It does not zero the gradients.
	Step(params []*nn.Param) error
	// Steps is the number of steps taken so far.
	Steps() int
	// State returns the per-parameter state, keyed "<param name>.<kind>".
	State() map[string]*tensor.Tensor
	// SetState restores a step count and a State.
	SetState(steps int, state map[string]*tensor.Tensor) error
}

// decays reports whether weight decay applies to p.
func decays(p *nn.Param) bool { return len(p.Value.Shape) >= 2 }

// checkParams validates params before an update.
func checkParams(params []*nn.Param) error {
	seen := make(map[string]bool, len(params))
	for _, p := range params {
		if p == nil || p.Value == nil {
			return fmt.Errorf("optim: nil parameter")
		}
		if p.Grad == nil {
			continue
		}
		if seen[p.Name] {
			return fmt.Errorf("optim: two parameters named %q", p.Name)
		}
		seen[p.Name] = true
		if p.Grad.Len() != p.Value.Len() {
			return fmt.Errorf("optim: parameter %q has %d values and %d gradients", p.Name, p.Value.Len(), p.Grad.Len())
		}
	}
	return nil
}

// slot returns the state of kind for p in m, making a zero one. A restored
// state of the wrong size (a checkpoint of another network) is an error.
func slot(m map[string]*tensor.Tensor, p *nn.Param, kind string) ([]float32, error) {
	key := p.Name + "." + kind
	s := m[key]
	if s == nil {
		s = tensor.New(p.Value.Shape...)
		m[key] = s
	}
	if s.Len() != p.Value.Len() {
		return nil, fmt.Errorf("optim: state %q has %d values for a parameter of %d", key, s.Len(), p.Value.Len())
	}
	return s.Data, nil
}

// copyState validates a saved state against kinds and returns a copy.
func copyState(state map[string]*tensor.Tensor, kinds ...string) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(state))
	for k, t := range state {
		ok := false
		for _, kind := range kinds {
			if len(k) > len(kind)+1 && k[len(k)-len(kind)-1:] == "."+kind {
				ok = true
			}
		}
		if !ok || t == nil {
			return nil, fmt.Errorf("optim: unexpected state %q", k)
		}
		out[k] = t.Clone()
	}
	return out, nil
}

// SGD is stochastic gradient descent with momentum:
//
//	g = grad + WeightDecay·p   (L2, coupled)
//	v = Momentum·v + g
//	p -= lr·v                  (Nesterov: p -= lr·(g + Momentum·v))
type SGD struct {
	LR          Schedule
	Momentum    float64
	Nesterov    bool
	WeightDecay float64

	steps    int
	velocity map[string]*tensor.Tensor
}

// NewSGD returns SGD with the given schedule and momentum.
func NewSGD(lr Schedule, momentum float64) *SGD {
	return &SGD{LR: lr, Momentum: momentum}
}

// Step implements Optimizer.
func (o *SGD) Step(params []*nn.Param) error {
	if err := checkParams(params); err != nil {
		return err
	}
	if o.LR == nil {
		return fmt.Errorf("optim: SGD without a learning rate")
	}
	if o.velocity == nil {
		o.velocity = make(map[string]*tensor.Tensor)
	}
	lr := float32(o.LR.LR(o.steps))
	mu := float32(o.Momentum)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		wd := float32(0)
		if decays(p) {
			wd = float32(o.WeightDecay)
		}
		var v []float32
		if mu != 0 {
			var err error
			if v, err = slot(o.velocity, p, "velocity"); err != nil {
				return err
			}
		}
		for i, g := range p.Grad.Data {
			g += wd * p.Value.Data[i]
			if v != nil {
				v[i] = mu*v[i] + g
				if o.Nesterov {
					g += mu * v[i]
				} else {
					g = v[i]
				}
			}
			p.Value.Data[i] -= lr * g
		}
		p.Updated()
	}
	o.steps++
	return nil
}

// Steps implements Optimizer.
func (o *SGD) Steps() int { return o.steps }

// State implements Optimizer: the velocities, "<name>.velocity".
func (o *SGD) State() map[string]*tensor.Tensor { return o.velocity }

// SetState implements Optimizer.
func (o *SGD) SetState(steps int, state map[string]*tensor.Tensor) error {
	s, err := copyState(state, "velocity")
	if err != nil {
		return err
	}
	if steps < 0 {
		return fmt.Errorf("optim: negative step count %d", steps)
	}
	o.steps, o.velocity = steps, s
	return nil
}

// Adam is Adam with bias correction (Kingma & Ba), as PyTorch computes it:
//
//	m = Beta1·m + (1−Beta1)·g,  v = Beta2·v + (1−Beta2)·g²
//	p -= lr/(1−Beta1^t) · m / (sqrt(v/(1−Beta2^t)) + Eps)
//
// With Decoupled, weight decay is AdamW's p -= lr·WeightDecay·p, applied
// apart from the gradient; otherwise it is L2, added to the gradient.
type Adam struct {
	LR                Schedule
	Beta1, Beta2, Eps float64
	WeightDecay       float64
	Decoupled         bool

	steps int
	m, v  map[string]*tensor.Tensor
}

// NewAdam returns Adam with the usual Beta1 0.9, Beta2 0.999, Eps 1e-8.
func NewAdam(lr Schedule) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// NewAdamW returns Adam with decoupled weight decay wd.
func NewAdamW(lr Schedule, wd float64) *Adam {
	a := NewAdam(lr)
	a.WeightDecay, a.Decoupled = wd, true
	return a
}

// Step implements Optimizer.
func (o *Adam) Step(params []*nn.Param) error {
	if err := checkParams(params); err != nil {
		return err
	}
	if o.LR == nil {
		return fmt.Errorf("optim: Adam without a learning rate")
	}
	if o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1 {
		return fmt.Errorf("optim: Adam betas %g, %g outside [0, 1)", o.Beta1, o.Beta2)
	}
	if o.m == nil {
		o.m, o.v = make(map[string]*tensor.Tensor), make(map[string]*tensor.Tensor)
	}
	lr := o.LR.LR(o.steps)
	t := float64(o.steps + 1)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	stepSize := float32(lr / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	eps := float32(o.Eps)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		var l2, shrink float32 = 0, 1
		if decays(p) {
			if o.Decoupled {
				shrink = float32(1 - lr*o.WeightDecay)
			} else {
				l2 = float32(o.WeightDecay)
			}
		}
		m, err := slot(o.m, p, "m")
		if err != nil {
			return err
		}
		v, err := slot(o.v, p, "v")
		if err != nil {
			return err
		}
		for i, g := range p.Grad.Data {
			w := p.Value.Data[i]
			g += l2 * w
			m[i] = b1*m[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			denom := float32(math.Sqrt(float64(v[i])))*invSqrtBC2 + eps
			p.Value.Data[i] = w*shrink - stepSize*m[i]/denom
		}
		p.Updated()
	}
	o.steps++
	return nil
}

// Steps implements Optimizer.
func (o *Adam) Steps() int { return o.steps }

// State implements Optimizer: the moments, "<name>.m" and "<name>.v".
func (o *Adam) State() map[string]*tensor.Tensor {
	s := make(map[string]*tensor.Tensor, len(o.m)+len(o.v))
	for k, t := range o.m {
		s[k] = t
	}
	for k, t := range o.v {
		s[k] = t
	}
	return s
}

// SetState implements Optimizer.
func (o *Adam) SetState(steps int, state map[string]*tensor.Tensor) error {
	s, err := copyState(state, "m", "v")
	if err != nil {
		return err
	}
	if steps < 0 {
		return fmt.Errorf("optim: negative step count %d", steps)
	}
	o.m, o.v = make(map[string]*tensor.Tensor), make(map[string]*tensor.Tensor)
	for k, t := range s {
		if k[len(k)-2:] == ".m" {
			o.m[k] = t
		} else {
			o.v[k] = t
		}
	}
	o.steps = steps
	return nil
}
