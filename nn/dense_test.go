package nn

import (
	"fmt"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestDense(t *testing.T) {
	w := tensor.From([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	d, err := NewDense(w, []float32{1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Forward(nil, tensor.From([]float32{1, 1, 2, 0}, 2, 2))
	if fmt.Sprint(got.Data) != "[6 8 10 3 5 7]" {
		t.Fatalf("dense = %v", got.Data)
	}
	d.Act = ReLU
	d.Bias = []float32{-7, -7, -7}
	got = d.Forward(nil, tensor.From([]float32{1, 1, 2, 0}, 2, 2))
	if fmt.Sprint(got.Data) != "[0 0 2 0 0 0]" {
		t.Fatalf("dense with ReLU = %v", got.Data)
	}
	if _, err := NewDense(w, []float32{1}); err == nil {
		t.Error("short bias: no error")
	}
}
