package model

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// tinyVGG19 returns torchvision-named tensors of a VGG-19 with few
// channels: the architecture with random weights.
func tinyVGG19(rng *rand.Rand, width int) map[string]*tensor.Tensor {
	ts := map[string]*tensor.Tensor{}
	cin := 3
	for i := range VGG19Layers {
		idx := vggIndex(i)
		w := tensor.New(width, cin, 3, 3)
		for j := range w.Data {
			w.Data[j] = float32(rng.NormFloat64() * 0.5)
		}
		b := tensor.New(width)
		for j := range b.Data {
			b.Data[j] = float32(rng.NormFloat64() * 0.1)
		}
		ts["features."+strconv.Itoa(idx)+".weight"], ts["features."+strconv.Itoa(idx)+".bias"] = w, b
		cin = width
	}
	return ts
}

// TestVGG19 checks the torchvision layout against a convolution computed
// by hand from the OIHW weights (zero padding 1), the pools between the
// blocks (shapes), and the loader's errors.
func TestVGG19(t *testing.T) {
	if got := []int{vggIndex(0), vggIndex(1), vggIndex(2), vggIndex(4), vggIndex(9), vggIndex(12), vggIndex(15)}; got[0] != 0 || got[1] != 2 || got[2] != 5 || got[3] != 10 || got[4] != 21 || got[5] != 28 || got[6] != 34 {
		t.Fatalf("torchvision indices %v, want [0 2 5 10 21 28 34]", got)
	}
	rng := rand.New(rand.NewPCG(1, 9))
	ts := tinyVGG19(rng, 2)
	v, err := NewVGG19(ts)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(1, 16, 16, 3)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64()*2 - 1)
	}
	g := nn.NewInferenceGraph(nil)
	outs := v.Graph(g, g.Input(x, false), 16)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{16, 16, 8, 8, 4, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1} {
		if s := outs[i].Value.Shape; s[1] != want || s[2] != want || s[3] != 2 {
			t.Errorf("%s: shape %v, want [1 %d %d 2]", VGG19Layers[i], s, want, want)
		}
	}
	w, b := ts["features.0.weight"], ts["features.0.bias"]
	for _, p := range [][3]int{{0, 0, 0}, {5, 7, 1}, {15, 3, 0}, {15, 15, 1}} {
		y, xx, o := p[0], p[1], p[2]
		s := float64(b.Data[o])
		for c := 0; c < 3; c++ {
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					iy, ix := y+ky-1, xx+kx-1
					if iy < 0 || ix < 0 || iy >= 16 || ix >= 16 {
						continue
					}
					s += float64(w.Data[((o*3+c)*3+ky)*3+kx]) * float64(x.Data[(iy*16+ix)*3+c])
				}
			}
		}
		s = math.Max(s, 0)
		if got := float64(outs[0].Value.Data[(y*16+xx)*2+o]); math.Abs(got-s) > 1e-5 {
			t.Errorf("conv1_1 at (%d, %d) channel %d = %v, by hand %v", y, xx, o, got, s)
		}
	}
	delete(ts, "features.21.bias")
	if _, err := NewVGG19(ts); err == nil {
		t.Error("a missing conv4_2 bias accepted")
	}
	ts = tinyVGG19(rng, 2)
	ts["features.5.weight"] = tensor.New(2, 3, 3, 3)
	if _, err := NewVGG19(ts); err == nil {
		t.Error("conv2_1 with 3 input channels after 2 accepted")
	}
}
