package nn

//go:generate go run -C asm . -kernels epilogue -out ../epilogue_amd64.s -stubs ../epilogue_amd64.go -pkg nn

import "fmt"

// leakySlope is tfjs's 0.1 as a float32 (0.10000000149011612).
const leakySlope float32 = 0.1

// affineAct is the epilogue of the convolution layers: it sets
// y = act(((y + bias)·scale) + shift) in place, over rows of c values, each
// step rounded to float32 (the order of operations of the reference
// networks, which keeps ported layers within 1e-6 of them). Any of bias,
// scale and shift may be nil: that step is skipped.
//
// On amd64 with AVX2 an assembly kernel does the columns in blocks of eight
// with a loop specialised for the steps and activation at hand; the last
// c mod 8 columns, and other CPUs, take affineActGo. Both give the same
// bits.
func affineAct(y []float32, c int, bias, scale, shift []float32, act Activation) {
	if act < Linear || act > Leaky {
		panic(fmt.Sprintf("nn: unknown activation %d", act))
	}
	parts := 0
	for i, v := range [][]float32{bias, scale, shift} {
		if v == nil {
			continue
		}
		if len(v) < c {
			panic(fmt.Sprintf("nn: %d per-channel values for %d channels", len(v), c))
		}
		parts |= 1 << i
	}
	if c < 1 || len(y) < c || (parts == 0 && act == Linear) {
		return
	}
	rows := len(y) / c
	j0 := 0
	if useAVX2 && c >= 8 {
		j0 = c &^ 7
		// The kernel reads only the vectors whose bit is set in parts; any
		// valid pointer will do for the others.
		p := [3]*float32{&y[0], &y[0], &y[0]}
		for i, v := range [][]float32{bias, scale, shift} {
			if v != nil {
				p[i] = &v[0]
			}
		}
		affineAct8(&y[0], p[0], p[1], p[2], rows, c, j0, parts|int(act)<<3)
	}
	if j0 < c {
		affineActGo(y[:rows*c], c, j0, bias, scale, shift, act)
	}
}

// affineActGo is affineAct in Go on columns [j0, c) of each row: the
// affine steps in one pass over a row (which is then in the L1 cache), the
// activation in a second. The explicit conversion after the multiplication
// keeps the compiler from fusing it with the shift into one rounding.
func affineActGo(y []float32, c, j0 int, bias, scale, shift []float32, act Activation) {
	for i := 0; i+c <= len(y); i += c {
		row := y[i+j0 : i+c : i+c]
		switch {
		case bias != nil && scale != nil && shift != nil: // batch norm
			b, s, h := bias[j0:c], scale[j0:c], shift[j0:c]
			for j := range row {
				row[j] = float32((row[j]+b[j])*s[j]) + h[j]
			}
		case bias != nil && scale == nil && shift == nil: // a plain bias
			b := bias[j0:c]
			for j := range row {
				row[j] += b[j]
			}
		default:
			if bias != nil {
				b := bias[j0:c]
				for j := range row {
					row[j] += b[j]
				}
			}
			if scale != nil {
				s := scale[j0:c]
				for j := range row {
					row[j] = float32(row[j] * s[j])
				}
			}
			if shift != nil {
				h := shift[j0:c]
				for j := range row {
					row[j] += h[j]
				}
			}
		}
		activate(row, act)
	}
}

// activate applies an activation in place. ReLU is max(v, 0): branch-free
// (a compare-and-store mispredicts on about half of the values of a real
// activation map), NaN stays NaN and -0 becomes +0.
func activate(y []float32, act Activation) {
	switch act {
	case ReLU:
		for i, v := range y {
			y[i] = max(v, 0)
		}
	case ReLU6:
		for i, v := range y {
			y[i] = min(max(v, 0), 6)
		}
	case Leaky:
		for i, v := range y {
			y[i] = leaky(v)
		}
	}
}

// leaky is tfjs's leaky ReLU as face-api writes it: relu(t - m) + m with
// m = 0.1t (rounded, not fused into the subtraction). It equals
// max(t, 0.1t) up to the last bit.
func leaky(t float32) float32 {
	m := float32(t * leakySlope)
	return max(t-m, 0) + m
}
