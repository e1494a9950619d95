package nn

import (
	"fmt"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestConcatAndPadChannels(t *testing.T) {
	a := tensor.From([]float32{1, 2}, 1, 1, 2, 1)
	b := tensor.From([]float32{3, 4, 5, 6}, 1, 1, 2, 2)
	if got := ConcatChannels(nil, a, b).Data; fmt.Sprint(got) != "[1 3 4 2 5 6]" {
		t.Fatalf("concat = %v", got)
	}
	if got := PadChannels(nil, a, 1).Data; fmt.Sprint(got) != "[1 0 2 0]" {
		t.Fatalf("pad channels = %v", got)
	}
	if got := PadSpatial(nil, a, Padding{Top: 1, Right: 1}); fmt.Sprint(got.Shape, got.Data) != "[1 2 3 1] [0 0 0 1 2 0]" {
		t.Fatalf("pad spatial = %v %v", got.Shape, got.Data)
	}
}
