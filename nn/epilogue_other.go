//go:build !amd64 || purego

package nn

// Without the assembly kernels affineAct runs affineActGo and this is never
// called.

func affineAct8(y, bias, scale, shift *float32, rows, c, n8, kind int) {
	panic("nn: affineAct8 called without an assembly kernel")
}
