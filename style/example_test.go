package style_test

import (
	"fmt"

	"github.com/facerec/facerec/style"
	"github.com/facerec/facerec/tensor"
)

// The Gram matrix of a layer's activations: two positions, two channels.
func ExampleGram() {
	f := tensor.From([]float32{1, 2, 3, 4}, 1, 1, 2, 2) // positions (1, 2) and (3, 4)
	fmt.Println(style.Gram(f))
	// Output: [10 14 14 20]
}

// One layer's style cost against a target Gram matrix given per position.
func ExampleStyleLayerCost() {
	f := tensor.From([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	target := []float32{1, 0, 0, 1} // A/M with A = 2·I and M = 2 positions
	fmt.Println(style.StyleLayerCost(f, target, nil, 1))
	// Output: 12.1875
}
