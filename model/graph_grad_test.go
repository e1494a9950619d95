package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// inputGradCheck compares dL/dx from a recording graph with central
// differences of the inference pass at a sample of input values (the 20
// largest gradients and 20 random ones), for a scalar L = Σ r·out with a
// fixed random r, so every output matters.
//
// The engine computes in float32, so each difference quotient carries
// rounding noise of about (rounding error of L)/eps, and a pretrained
// network is full of ReLU kinks (and max-pool ties) that a large eps steps
// over; eps (in input units) is the caller's compromise between the two.
// A coordinate whose one-sided slopes disagree by more than 10% crossed a
// kink (or its slopes are too noisy) and is skipped, but at most half may
// be. Only values whose
// gradient is at least 20% of the largest are compared: below that the
// noise is of the order of the gradient. Each must be within tol
// (relative), and the median within medianTol, which catches an error of
// a percent in any backward (it compounds through the layers) while
// tolerating the odd noisy coordinate.
func inputGradCheck(t *testing.T, x *tensor.Tensor, eps, tol, medianTol float64, build func(g *nn.Graph, x *nn.Var) *nn.Var) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5))
	g := nn.NewGraph(nil)
	xv := g.Input(x, true)
	out := build(g, xv)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	r := tensor.New(out.Value.Shape...)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	if err := g.BackwardFrom(out, r); err != nil {
		t.Fatal(err)
	}
	if xv.Grad == nil {
		t.Fatal("no gradient reached the input")
	}
	grad := xv.Grad.Clone()
	var arena tensor.Arena
	loss := func() float64 {
		arena.Reset()
		ig := nn.NewInferenceGraph(&arena)
		y := build(ig, ig.Input(x, false))
		if err := ig.Err(); err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i, v := range y.Value.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}

	// The 20 largest gradients and 20 random ones above the floor.
	largest := 0.0
	for _, v := range grad.Data {
		largest = math.Max(largest, math.Abs(float64(v)))
	}
	if largest == 0 {
		t.Fatal("the input gradient is zero")
	}
	floor := 0.2 * largest
	idx := make([]int, len(grad.Data))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return -cmpAbs(grad.Data[a], grad.Data[b])
	})
	sample := slices.Clone(idx[:20])
	var rest []int
	for _, i := range idx[20:] {
		if math.Abs(float64(grad.Data[i])) >= floor {
			rest = append(rest, i)
		}
	}
	rng.Shuffle(len(rest), func(a, b int) { rest[a], rest[b] = rest[b], rest[a] })
	sample = append(sample, rest[:min(20, len(rest))]...)

	l0 := loss()
	worst, skipped := 0.0, 0
	var rels []float64
	for _, i := range sample {
		orig := x.Data[i]
		x.Data[i] = orig + float32(eps)
		lp := loss()
		x.Data[i] = orig - float32(eps)
		lm := loss()
		x.Data[i] = orig
		// The perturbation actually applied, after float32 rounding.
		hp, hm := float64(orig+float32(eps))-float64(orig), float64(orig)-float64(orig-float32(eps))
		fwd, bwd := (lp-l0)/hp, (l0-lm)/hm
		if math.Abs(fwd-bwd) > 0.1*math.Abs(fwd+bwd)/2 {
			skipped++
			continue
		}
		num := (lp - lm) / (hp + hm)
		got := float64(grad.Data[i])
		rel := math.Abs(got-num) / math.Max(math.Abs(num), floor)
		worst = math.Max(worst, rel)
		rels = append(rels, rel)
		if rel > tol {
			t.Errorf("dL/dx[%d] = %.6g, central difference %.6g (relative error %.2g)", i, got, num, rel)
		}
	}
	if skipped*2 > len(sample) {
		t.Errorf("%d of %d values at kinks", skipped, len(sample))
	}
	slices.Sort(rels)
	median := rels[len(rels)/2]
	if median > medianTol {
		t.Errorf("median relative error %.2g > %.2g", median, medianTol)
	}
	t.Logf("%d values checked (%d at kinks skipped), largest |dL/dx| %.3g, relative error median %.2g, worst %.2g", len(rels), skipped, largest, median, worst)
}

// observe runs build on x in an inference graph whose Observe is hook and
// returns the output.
func observe(t *testing.T, x *tensor.Tensor, build func(g *nn.Graph, x *nn.Var) *nn.Var, hook func(string, *tensor.Tensor)) *tensor.Tensor {
	t.Helper()
	g := nn.NewInferenceGraph(nil)
	g.Observe = hook
	out := build(g, g.Input(x, false))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	return out.Value
}

func cmpAbs(a, b float32) int {
	x, y := math.Abs(float64(a)), math.Abs(float64(b))
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// TestRecognitionInputGradient: the gradient of the pretrained descriptor
// with respect to the input image, through every block of the ResNet
// (the frozen convolutions, pools, paddings and fused residual sums).
func TestRecognitionInputGradient(t *testing.T) {
	net := testRecognitionNet(t)
	img := readPNG(t, filepath.Join(sharedtest.Path(t, "oracle", "testdata", "crops"), "sample1_face0_150.png"))
	x, err := Preprocess(nil, img)
	if err != nil {
		t.Fatal(err)
	}
	// The input is (pixel − mean)/255: eps is a quarter of a grey level.
	// Observed: median relative error 0.5%, worst 4.5%.
	inputGradCheck(t, x, 1e-3, 8e-2, 1e-2, net.Graph)
}

// TestLandmarkInputGradient: the gradient of the full 68-point landmark
// network's output with respect to its input, through the dense blocks
// (depthwise convolutions, the sums in face-api's order) and the pool.
func TestLandmarkInputGradient(t *testing.T) {
	net := testLandmarkNet(t, LandmarkName)
	img := readPNG(t, filepath.Join(sharedtest.Path(t, "oracle", "testdata", "crops"), "sample1_face0_150.png"))
	x, _, _, err := imageDims(img)
	if err != nil {
		t.Fatal(err)
	}
	in := normalizeMean(nil, toSquareInput(nil, x, LandmarkInput, true), recognitionMean)
	// Observed: median relative error 0.8%, worst 8.5% (larger eps cross
	// more kinks, smaller ones are swamped by rounding).
	inputGradCheck(t, in, 1e-3, 0.15, 2e-2, net.Graph)
}

// TestTinyInputGradient: the same for the tiny face detector's head (leaky
// activations, max pools) at input size 128.
func TestTinyInputGradient(t *testing.T) {
	d := testTinyDetector(t)
	img := readPNG(t, filepath.Join(sharedtest.Path(t, "oracle", "testdata", "crops"), "sample1_face0_150.png"))
	x, _, _, err := imageDims(img)
	if err != nil {
		t.Fatal(err)
	}
	in := normalizeMean(nil, toSquareInput(nil, x, 128, false), tinyMean)
	// The head's logits are large (so is L's rounding error) and the max
	// pools switch often: observed median relative error 0.3%, worst 18%.
	inputGradCheck(t, in, 1e-3, 0.25, 1e-2, d.Graph)
}

// TestGraphBadInput: a wrongly shaped input is an error of the graph, not
// a panic, and the inference wrappers panic with it as the plain code did.
func TestGraphBadInput(t *testing.T) {
	net := testRecognitionNet(t)
	for _, shape := range [][]int{{1, 150, 150, 4}, {1, 8, 8, 3}, {150, 150, 3}} {
		g := nn.NewGraph(nil)
		net.Graph(g, g.Input(tensor.New(shape...), true))
		if g.Err() == nil {
			t.Errorf("input %v: no error", shape)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Forward of a bad input did not panic")
		}
	}()
	net.Forward(nil, tensor.New(1, 8, 8, 3))
}

// TestSSDInputGradient: the same for SSD MobileNet v1's twelve heads
// (depthwise convolutions with their batch-norm epilogue, ReLU6), on a
// 256×256 input to keep it quick: the network body takes any size, only
// the anchors are made for 512.
func TestSSDInputGradient(t *testing.T) {
	if testing.Short() {
		t.Skip("80 passes of SSD")
	}
	d := testSSD(t)
	img := readPNG(t, filepath.Join(sharedtest.Path(t, "oracle", "testdata", "crops"), "sample1_face0_150.png"))
	x, _, _, err := imageDims(img)
	if err != nil {
		t.Fatal(err)
	}
	sq := toSquareInput(nil, x, 256, false)
	for i, v := range sq.Data {
		sq.Data[i] = v/127.5 - 1
	}
	// All heads as one output: each flattened to [1, 1, 1, k], joined.
	heads := func(g *nn.Graph, x *nn.Var) *nn.Var {
		boxes, classes := d.Graph(g, x)
		var all []*nn.Var
		for _, v := range append(boxes[:], classes[:]...) {
			all = append(all, g.Reshape(v, 1, 1, 1, v.Value.Len()))
		}
		return g.Concat(all...)
	}
	// ReLU6 clips at both ends and the heads' sum is large, so eps is
	// smaller here and a third of the coordinates are skipped; observed:
	// median relative error 0.7%, worst 2.6%.
	inputGradCheck(t, sq, 3e-4, 0.1, 1e-2, heads)
}
