package optim

import "math"

// Schedule gives the learning rate for a step (counted from 0).
type Schedule interface {
	LR(step int) float64
}

// Constant is a fixed learning rate.
type Constant float64

// LR returns c whatever the step.
func (c Constant) LR(int) float64 { return float64(c) }

// warmup returns the learning rate of a step during a linear warm-up of n
// steps towards base: base·(step+1)/n, so the first step is not taken with
// a rate of zero and step n−1 reaches base. ok is false after the warm-up.
func warmup(base float64, step, n int) (lr float64, ok bool) {
	if step < n {
		return base * float64(step+1) / float64(n), true
	}
	return 0, false
}

// StepDecay multiplies the rate by Gamma every Every steps after a linear
// warm-up of Warmup steps: Base·Gamma^⌊(step−Warmup)/Every⌋. Every < 1
// means no decay.
type StepDecay struct {
	Base   float64
	Gamma  float64
	Every  int
	Warmup int
}

// LR returns the rate at step.
func (s StepDecay) LR(step int) float64 {
	if lr, ok := warmup(s.Base, step, s.Warmup); ok {
		return lr
	}
	if s.Every < 1 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64((step-s.Warmup)/s.Every))
}

// Cosine anneals the rate from Base to Min over the steps after a linear
// warm-up of Warmup steps, reaching Min at step Total and staying there:
// Min + (Base−Min)·(1 + cos(π·t))/2 with t = (step−Warmup)/(Total−Warmup).
type Cosine struct {
	Base, Min     float64
	Total, Warmup int
}

// LR returns the rate at step.
func (c Cosine) LR(step int) float64 {
	if lr, ok := warmup(c.Base, step, c.Warmup); ok {
		return lr
	}
	span := c.Total - c.Warmup
	if span <= 0 || step >= c.Total {
		return c.Min
	}
	t := float64(step-c.Warmup) / float64(span)
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*t))/2
}
