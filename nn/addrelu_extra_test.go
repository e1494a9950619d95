package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestAddReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	a := randTensor(r, 1, 5, 7, 9)
	b := randTensor(r, 1, 5, 7, 9)
	want := Add(nil, a, b)
	ReLUInPlace(want)
	if got := AddReLU(nil, a, b); tensor.MaxAbsDiff(got.Data, want.Data) != 0 {
		t.Fatalf("AddReLU differs from Add + ReLU")
	}
	dst := a.Clone()
	AddReLUInPlace(dst, b)
	if tensor.MaxAbsDiff(dst.Data, want.Data) != 0 {
		t.Fatalf("AddReLUInPlace differs from Add + ReLU")
	}
	for _, v := range dst.Data {
		if v < 0 || math.IsNaN(float64(v)) {
			t.Fatalf("negative or NaN output %v", v)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic on mismatched shapes")
		}
	}()
	AddReLUInPlace(a, tensor.New(1, 5, 7, 8))
}
