package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// Rect is an axis-aligned rectangle in image pixels (or, inside the
// detectors, in units of the image size): top-left corner X, Y and size W, H.
// Coordinates are float64 because face-api does its box arithmetic in
// JavaScript numbers.
type Rect struct{ X, Y, W, H float64 }

// Right is X + W.
func (r Rect) Right() float64 { return r.X + r.W }

// Bottom is Y + H.
func (r Rect) Bottom() float64 { return r.Y + r.H }

// Area is W·H.
func (r Rect) Area() float64 { return r.W * r.H }

// Point is a 2-D position in image pixels.
type Point struct{ X, Y float64 }

// Detection is one face found by a detector: its box in image pixels and the
// detector's confidence in (0, 1).
type Detection struct {
	Box   Rect
	Score float64
}

// IoU is the intersection over union of two rectangles, 0 when they do not
// overlap or when either is empty.
func IoU(a, b Rect) float64 {
	if !(a.W > 0 && a.H > 0 && b.W > 0 && b.H > 0) { // also false for NaN
		return 0
	}
	iw := math.Max(0, math.Min(a.Right(), b.Right())-math.Max(a.X, b.X))
	ih := math.Max(0, math.Min(a.Bottom(), b.Bottom())-math.Max(a.Y, b.Y))
	inter := iw * ih
	return inter / (a.Area() + b.Area() - inter)
}

// NMS is greedy non-maximum suppression: it visits the detections from the
// highest score down and keeps one unless it overlaps an already kept one
// with IoU > iouThreshold. At most maxResults are kept (no limit when
// maxResults ≤ 0). The result is sorted by descending score, detections of
// equal score in their input order. dets is not modified.
func NMS(dets []Detection, iouThreshold float64, maxResults int) []Detection {
	order := make([]int, len(dets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(dets[b].Score, dets[a].Score)
	})
	var keep []Detection
	for _, i := range order {
		if maxResults > 0 && len(keep) >= maxResults {
			break
		}
		d := dets[i]
		suppressed := false
		for _, k := range keep {
			if IoU(d.Box, k.Box) > iouThreshold {
				suppressed = true
				break
			}
		}
		if !suppressed {
			keep = append(keep, d)
		}
	}
	return keep
}

// separable is a depthwise 3×3 convolution followed by a 1×1 convolution
// that carries the bias and activation.
type separable struct {
	dw *nn.DepthwiseConv2D
	pw *nn.Conv2D
}

func (s *separable) graph(g *nn.Graph, x *nn.Var) *nn.Var {
	return g.Conv2D(g.DepthwiseConv2D(x, s.dw), s.pw)
}

// biasConv builds a convolution from a filter and a bias tensor, its
// epilogue adding the bias and applying act.
func biasConv(w Weights, filters, bias string, shape []int, stride int, mode nn.PadMode, act nn.Activation) (*nn.Conv2D, error) {
	f, err := w.Get(filters, shape...)
	if err != nil {
		return nil, err
	}
	b, err := w.Get(bias, shape[3])
	if err != nil {
		return nil, err
	}
	c, err := nn.NewConv2D(f, stride, mode)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", filters, err)
	}
	c.Bias, c.Act = b.Data, act
	c.Frozen = true // pretrained: a constant to the graph
	return c, nil
}

// separableConv builds <prefix>/{depthwise_filter, pointwise_filter, bias}:
// a 3×3 depthwise convolution with the given stride and padding, then a
// 1×1 convolution + bias + act.
func separableConv(w Weights, prefix string, cin, cout, stride int, mode nn.PadMode, act nn.Activation) (separable, error) {
	dwf, err := w.Get(prefix+"/depthwise_filter", 3, 3, cin, 1)
	if err != nil {
		return separable{}, err
	}
	dw, err := nn.NewDepthwiseConv2D(dwf, stride, mode)
	if err != nil {
		return separable{}, fmt.Errorf("model: %s: %w", prefix, err)
	}
	dw.Frozen = true
	pw, err := biasConv(w, prefix+"/pointwise_filter", prefix+"/bias", []int{1, 1, cin, cout}, 1, nn.Valid, act)
	if err != nil {
		return separable{}, err
	}
	return separable{dw: dw, pw: pw}, nil
}

// imageDims checks that img is an RGB image [H, W, 3] (or [1, H, W, 3]) and
// returns it as a batch of one with its height and width.
func imageDims(img *tensor.Tensor) (x *tensor.Tensor, h, w int, err error) {
	if img == nil {
		return nil, 0, 0, fmt.Errorf("model: nil image")
	}
	x = img
	if len(x.Shape) == 3 {
		x = &tensor.Tensor{Shape: []int{1, x.Shape[0], x.Shape[1], x.Shape[2]}, Data: x.Data}
	}
	if len(x.Shape) != 4 || x.Shape[0] != 1 || x.Shape[3] != 3 || x.Shape[1] < 1 || x.Shape[2] < 1 {
		return nil, 0, 0, fmt.Errorf("model: an image must be [H, W, 3] RGB, got shape %v", img.Shape)
	}
	if len(x.Data) != tensor.Numel(x.Shape) {
		return nil, 0, 0, fmt.Errorf("model: image of shape %v has %d values", img.Shape, len(x.Data))
	}
	return x, x.Shape[1], x.Shape[2], nil
}

// toSquareInput is face-api's NetInput.toBatchTensor for one image tensor:
// zero padding to a square (centred, or all at the end), then a tfjs bilinear
// resize to size×size unless the square already has that size. The padded
// square of a large photo is never built: the resize reads zeros for it.
func toSquareInput(arena *tensor.Arena, x *tensor.Tensor, size int, centred bool) *tensor.Tensor {
	h, w := x.Shape[1], x.Shape[2]
	pad := nn.SquarePadding(h, w, centred)
	switch {
	case max(h, w) == size && pad == (nn.Padding{}):
		return x
	case max(h, w) == size:
		return nn.PadSpatial(arena, x, pad)
	}
	return nn.ResizeBilinearPadded(arena, x, pad, size, size)
}

// normalizeMean returns (x - mean[c]) / 255 per channel of an RGB tensor, in
// that order of float32 operations (subtract, then divide, as tfjs does).
func normalizeMean(arena *tensor.Arena, x *tensor.Tensor, mean [3]float32) *tensor.Tensor {
	out := arena.NewUninit(x.Shape...)
	for i := 0; i+3 <= len(x.Data); i += 3 {
		out.Data[i] = (x.Data[i] - mean[0]) / 255
		out.Data[i+1] = (x.Data[i+1] - mean[1]) / 255
		out.Data[i+2] = (x.Data[i+2] - mean[2]) / 255
	}
	return out
}

// reshapedDims is face-api's computeReshapedDimensions: the size the image
// takes inside the inputSize square, rounded as JavaScript's Math.round.
func reshapedDims(h, w, inputSize int) (rh, rw float64) {
	s := float64(inputSize) / float64(max(h, w))
	return jsRound(float64(h) * s), jsRound(float64(w) * s)
}

// clipBox is face-api's Box.clipAtImageBorders: the part of r inside a
// w×h image, with all four numbers floored. It is all zeros when that part
// is empty (narrower or lower than one pixel).
func clipBox(r Rect, w, h int) (x, y, cw, ch int) {
	x0 := math.Max(r.X, 0)
	y0 := math.Max(r.Y, 0)
	nw := math.Min(r.Right()-x0, float64(w)-x0)
	nh := math.Min(r.Bottom()-y0, float64(h)-y0)
	if !(nw >= 1 && nh >= 1) { // empty after flooring; also keeps huge or NaN values out of the int conversions
		return 0, 0, 0, 0
	}
	return int(math.Floor(x0)), int(math.Floor(y0)), int(math.Floor(nw)), int(math.Floor(nh))
}

// sigmoid is the logistic function in float64, as face-api computes it on
// the head values in JavaScript.
func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
