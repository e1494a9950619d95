package nn

import "math"

// Sigmoid is the logistic function 1/(1+e^−z), evaluated so that neither
// branch overflows. The losses and heads that score pairs share it.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	ez := math.Exp(z)
	return ez / (1 + ez)
}

// Softplus is ln(1+e^z), the logistic loss of a score, without overflow
// for large z or loss of precision for very negative z.
func Softplus(z float64) float64 {
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}
