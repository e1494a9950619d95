package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// TinyFaceDetectorName is the weight file of the tiny face detector.
const TinyFaceDetectorName = "tiny_face_detector_model"

// TinyOptions tunes TinyFaceDetector.Detect. The zero value means face-api's
// defaults.
type TinyOptions struct {
	// InputSize is the side of the square the image is resized to: a
	// multiple of 32 (128, 160, 224, 320, 416, 512, 608 are usual). Larger
	// finds smaller faces and costs quadratically more. 0 means 416.
	InputSize int
	// ScoreThreshold drops detections scoring at or below it. 0 means 0.5.
	ScoreThreshold float64
}

// Defaults of TinyOptions, and the IoU above which non-maximum suppression
// drops the weaker of two boxes.
const (
	DefaultTinyInputSize      = 416
	DefaultTinyScoreThreshold = 0.5
	tinyIoUThreshold          = 0.4
	maxTinyInputSize          = 4096 // far above any useful size; bounds memory
)

// tinyMean is the per-channel (R, G, B) mean the tiny detector subtracts.
var tinyMean = [3]float32{117.001, 114.697, 97.404}

// Names of the layers in golden.json, for the tests' hook.
var (
	tinyLayerNames = [6]string{"conv0", "conv1", "conv2", "conv3", "conv4", "conv5"}
	tinyPoolNames  = [6]string{"maxpool0", "maxpool1", "maxpool2", "maxpool3", "maxpool4", "maxpool5_stride1"}
)

// tinyAnchors are the five box priors, in grid cells (width, height).
var tinyAnchors = [5][2]float64{
	{1.603231, 2.094468},
	{6.041143, 7.080126},
	{2.882459, 3.518061},
	{4.266906, 5.178857},
	{9.041765, 10.66308},
}

// TinyFaceDetector is face-api's TinyFaceDetector: a Tiny-YOLOv2 with
// depthwise-separable convolutions and a single class, predicting five
// anchor boxes per cell of an (InputSize/32)² grid. It is built as
// shared/oracle/ARCH.md §2 describes.
//
// The network is defined once, by Graph (frozen layers); Detect runs it in
// an inference graph. A TinyFaceDetector is read-only after construction
// and safe for concurrent use; each goroutine passes its own arena.
type TinyFaceDetector struct {
	conv0 *nn.Conv2D // 3×3 VALID, 3 → 16, leaky
	sep   [5]separable
	head  *nn.Conv2D // conv8: 1×1, 512 → 25, no activation
}

// NewTinyFaceDetector builds the detector from its tfjs weights.
func NewTinyFaceDetector(w Weights) (*TinyFaceDetector, error) {
	d := &TinyFaceDetector{}
	var err error
	if d.conv0, err = biasConv(w, "conv0/filters", "conv0/bias", []int{3, 3, 3, 16}, 1, nn.Valid, nn.Leaky); err != nil {
		return nil, err
	}
	cin := 16
	for i := range d.sep {
		cout := cin * 2
		p := fmt.Sprintf("conv%d", i+1)
		// face-api pads one zero on every side and convolves VALID, which for
		// a 3×3 stride-1 window is exactly SAME.
		if d.sep[i], err = separableConv(w, p, cin, cout, 1, nn.Same, nn.Leaky); err != nil {
			return nil, err
		}
		cin = cout
	}
	if d.head, err = biasConv(w, "conv8/filters", "conv8/bias", []int{1, 1, 512, 25}, 1, nn.Valid, nn.Linear); err != nil {
		return nil, err
	}
	return d, nil
}

// Detect finds faces in img, an RGB image [H, W, 3] (or [1, H, W, 3]) with
// values 0..255, and returns them sorted by descending score with boxes in
// image pixels. Boxes may reach past the image borders. Intermediate tensors
// come from arena (nil: the heap); Detect does not Reset it.
func (d *TinyFaceDetector) Detect(arena *tensor.Arena, img *tensor.Tensor, opt TinyOptions) ([]Detection, error) {
	size := opt.InputSize
	if size == 0 {
		size = DefaultTinyInputSize
	}
	if size < 32 || size%32 != 0 || size > maxTinyInputSize {
		return nil, fmt.Errorf("model: tiny detector input size %d is not a positive multiple of 32 up to %d", size, maxTinyInputSize)
	}
	thr := opt.ScoreThreshold
	if thr == 0 {
		thr = DefaultTinyScoreThreshold
	}
	if math.IsNaN(thr) || thr < 0 || thr >= 1 {
		return nil, fmt.Errorf("model: tiny detector score threshold %v is outside [0, 1)", opt.ScoreThreshold)
	}
	x, h, w, err := imageDims(img)
	if err != nil {
		return nil, err
	}
	in := normalizeMean(arena, toSquareInput(arena, x, size, false), tinyMean)
	g := nn.NewInferenceGraph(arena)
	head := mustValue(g, d.Graph(g, g.Input(in, false)))
	return decodeTiny(head.Data, size/32, size, h, w, thr), nil
}

// Graph is the network: it maps a normalised input [N, S, S, 3] to the head
// [N, S/32, S/32, 25] on g, naming every intermediate the oracle dumps.
// Decoding the head into boxes is plain code outside the graph.
func (d *TinyFaceDetector) Graph(g *nn.Graph, x *nn.Var) *nn.Var {
	pool2 := nn.Window{KH: 2, KW: 2, Stride: 2, Mode: nn.Same}
	h := g.Named(tinyLayerNames[0], g.Conv2D(x, d.conv0))
	h = g.Named(tinyPoolNames[0], g.MaxPool(h, pool2))
	for i := range d.sep {
		win := pool2
		if i == len(d.sep)-1 {
			win.Stride = 1 // the last pool keeps the 13×13 grid
		}
		h = g.Named(tinyLayerNames[i+1], d.sep[i].graph(g, h))
		h = g.Named(tinyPoolNames[i+1], g.MaxPool(h, win))
	}
	return g.Named("conv8=head", g.Conv2D(h, d.head))
}

// decodeTiny turns the head (g×g cells × 5 anchors × (tx, ty, tw, th,
// score)) into boxes in image pixels, keeping scores above thr, and
// suppresses overlaps (ARCH.md §2.3). The arithmetic is float64, as in
// face-api's JavaScript.
func decodeTiny(head []float32, g, size, h, w int, thr float64) []Detection {
	rh, rw := reshapedDims(h, w, size)
	// The image fills only rw×rh of the end-padded square: stretch the
	// coordinates back to the image.
	cx, cy := float64(size)/rw, float64(size)/rh
	gf := float64(g)
	var cands []Detection
	for row := 0; row < g; row++ {
		for col := 0; col < g; col++ {
			for a, anchor := range tinyAnchors {
				v := head[((row*g+col)*len(tinyAnchors)+a)*5:][:5]
				score := sigmoid(float64(v[4]))
				if !(score > thr) {
					continue
				}
				ctX := (float64(col) + sigmoid(float64(v[0]))) / gf * cx
				ctY := (float64(row) + sigmoid(float64(v[1]))) / gf * cy
				bw := math.Exp(float64(v[2])) * anchor[0] / gf * cx
				bh := math.Exp(float64(v[3])) * anchor[1] / gf * cy
				cands = append(cands, Detection{Box: Rect{X: ctX - bw/2, Y: ctY - bh/2, W: bw, H: bh}, Score: score})
			}
		}
	}
	// face-api sorts by ascending score and pops from the end, so of equal
	// scores the last candidate comes first: reverse, and NMS's stable order
	// does the same. IoU does not change when both boxes are scaled alike,
	// so face-api's rescaling to the input size before NMS is left out.
	slices.Reverse(cands)
	kept := NMS(cands, tinyIoUThreshold, 0)
	for i := range kept {
		b := &kept[i].Box
		b.X, b.W = b.X*float64(w), b.W*float64(w)
		b.Y, b.H = b.Y*float64(h), b.H*float64(h)
	}
	return kept
}
