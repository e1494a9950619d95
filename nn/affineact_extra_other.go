//go:build !amd64 || purego

package nn

// There is no assembly kernel here.
var haveAffineAct8, useAffineAct8 = false, false

func affineAct8(x, bias, scale, shift *float32, n, c, parts, act int) {
	panic("nn: affineAct8 called without an assembly kernel")
}
