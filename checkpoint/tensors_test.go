package checkpoint

import (
	"bytes"
	"math"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestTensorsRoundTrip(t *testing.T) {
	in := map[string]*tensor.Tensor{
		"features.0.weight": tensor.From([]float32{1, -2, 3.5, 0, 5, 6}, 2, 3),
		"features.0.bias":   tensor.From([]float32{0.25, -7}, 2),
	}
	var buf bytes.Buffer
	if err := WriteTensors(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadTensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d tensors, want 2", len(out))
	}
	for name, want := range in {
		got := out[name]
		if got == nil || !tensor.SameShape(got.Shape, want.Shape) || tensor.MaxAbsDiff(got.Data, want.Data) != 0 {
			t.Errorf("%s: got %v, want %v", name, got, want.Data)
		}
	}
	if _, err := ReadTensors([]byte("not a file")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestHalfToFloat32(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x0001, 5.9604645e-08},
		{0x7bff, 65504}, {0x0000, 0}, {0x7c00, float32(math.Inf(1))},
	} {
		if got := tensor.HalfToFloat32(c.h); got != c.want {
			t.Errorf("half %#04x = %v, want %v", c.h, got, c.want)
		}
	}
}
