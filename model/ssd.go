package model

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// SSDName is the weight file of the SSD MobileNet V1 face detector.
const SSDName = "ssd_mobilenetv1_model"

// SSDOptions tunes SSDMobilenetV1.Detect. The zero value means face-api's
// defaults.
type SSDOptions struct {
	// MinConfidence drops detections scoring at or below it. 0 means 0.5.
	MinConfidence float64
	// MaxResults caps the number of faces returned. 0 means 100.
	MaxResults int
}

// Defaults of SSDOptions and the detector's fixed parameters.
const (
	DefaultSSDMinConfidence = 0.5
	DefaultSSDMaxResults    = 100
	ssdInput                = 512
	ssdIoUThreshold         = 0.5
	ssdAnchors              = 5118
	// ssdBNEpsilon is the variance epsilon of face-api's batchNorm calls,
	// float32(0.001) written out as tfjs passes it.
	ssdBNEpsilon = 0.0010000000474974513
)

// SSDMobilenetV1 is face-api's default face detector: a MobileNet V1
// backbone on a 512×512 input with an SSD head predicting 5118 anchor boxes
// over six feature maps (shared/oracle/ARCH.md §4). It is slower than
// TinyFaceDetector but finds more faces, small and large.
//
// The network is defined once, by Graph (frozen layers); Detect runs it in
// an inference graph. An SSDMobilenetV1 is read-only after construction
// and safe for concurrent use; each goroutine passes its own arena.
type SSDMobilenetV1 struct {
	conv0 *nn.Conv2D  // 3×3 stride 2, 3 → 32, offset + ReLU6
	pairs [13]ssdPair // depthwise + batch norm + ReLU6, pointwise + offset + ReLU6
	extra [8]*nn.Conv2D
	boxes [6]ssdPredictor
	// anchors are (ymin, xmin, ymax, xmax) per box, relative to the input.
	anchors []float32
}

type ssdPair struct {
	dw *nn.DepthwiseConv2D
	pw *nn.Conv2D
}

// ssdPredictor holds the two 1×1 convolutions of one feature map: box
// encodings (4 per anchor) and class logits (3 per anchor).
type ssdPredictor struct {
	box, class *nn.Conv2D
}

// ssdPairs lists, for the 13 depthwise/pointwise pairs, the output channels
// and the depthwise stride.
var ssdPairs = [13]struct{ cout, stride int }{
	{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
	{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
}

// ssdExtra lists the extra feature layers after the backbone: kernel size,
// stride and output channels.
var ssdExtra = [8]struct{ k, stride, cout int }{
	{1, 1, 256}, {3, 2, 512}, {1, 1, 128}, {3, 2, 256},
	{1, 1, 128}, {3, 2, 256}, {1, 1, 64}, {3, 2, 128},
}

// NewSSDMobilenetV1 builds the detector from its tfjs weights.
func NewSSDMobilenetV1(w Weights) (*SSDMobilenetV1, error) {
	d := &SSDMobilenetV1{}
	var err error
	if d.conv0, err = offsetConv(w, "MobilenetV1/Conv2d_0_pointwise", []int{3, 3, 3, 32}, 2); err != nil {
		return nil, err
	}
	cin := 32
	for i, p := range ssdPairs {
		prefix := fmt.Sprintf("MobilenetV1/Conv2d_%d_depthwise", i+1)
		if d.pairs[i].dw, err = batchNormDepthwise(w, prefix, cin, p.stride); err != nil {
			return nil, err
		}
		prefix = fmt.Sprintf("MobilenetV1/Conv2d_%d_pointwise", i+1)
		if d.pairs[i].pw, err = offsetConv(w, prefix, []int{1, 1, cin, p.cout}, 1); err != nil {
			return nil, err
		}
		cin = p.cout
	}
	for i, e := range ssdExtra {
		prefix := fmt.Sprintf("Prediction/Conv2d_%d_pointwise", i)
		if d.extra[i], err = offsetConv(w, prefix, []int{e.k, e.k, cin, e.cout}, e.stride); err != nil {
			return nil, err
		}
		cin = e.cout
	}
	// Input channels of the six feature maps (see featureMaps) and their
	// anchors per cell.
	mapCh := [6]int{512, 1024, 512, 256, 256, 128}
	for i, c := range mapCh {
		a := 6
		if i == 0 {
			a = 3
		}
		p := fmt.Sprintf("Prediction/BoxPredictor_%d/", i)
		if d.boxes[i].box, err = biasConv(w, p+"BoxEncodingPredictor/weights", p+"BoxEncodingPredictor/biases", []int{1, 1, c, 4 * a}, 1, nn.Same, nn.Linear); err != nil {
			return nil, err
		}
		if d.boxes[i].class, err = biasConv(w, p+"ClassPredictor/weights", p+"ClassPredictor/biases", []int{1, 1, c, 3 * a}, 1, nn.Same, nn.Linear); err != nil {
			return nil, err
		}
	}
	anchors, err := w.Get("Output/extra_dim", 1, ssdAnchors, 4)
	if err != nil {
		return nil, err
	}
	d.anchors = anchors.Data
	return d, nil
}

// offsetConv is face-api's pointwiseConvLayer: a SAME convolution, plus the
// folded batch-norm offset, clipped to [0, 6].
func offsetConv(w Weights, prefix string, shape []int, stride int) (*nn.Conv2D, error) {
	return biasConv(w, prefix+"/weights", prefix+"/convolution_bn_offset", shape, stride, nn.Same, nn.ReLU6)
}

// batchNormDepthwise is face-api's depthwiseConvLayer: a 3×3 SAME depthwise
// convolution, batch normalisation with the moving statistics, then ReLU6.
// The normalisation offset + (x - mean)·gamma/sqrt(var + eps) maps onto the
// fused epilogue ((x + bias)·scale) + shift with bias = -mean,
// scale = gamma/sqrt(var + eps) (computed in float64, rounded once) and
// shift = offset; it differs from tfjs's evaluation only by float32 rounding.
func batchNormDepthwise(w Weights, prefix string, c, stride int) (*nn.DepthwiseConv2D, error) {
	f, err := w.Get(prefix+"/depthwise_weights", 3, 3, c, 1)
	if err != nil {
		return nil, err
	}
	var bn [4]*tensor.Tensor
	for i, name := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
		if bn[i], err = w.Get(prefix+"/BatchNorm/"+name, c); err != nil {
			return nil, err
		}
	}
	dw, err := nn.NewDepthwiseConv2D(f, stride, nn.Same)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", prefix, err)
	}
	dw.Bias, dw.Scale, dw.Shift = make([]float32, c), make([]float32, c), make([]float32, c)
	for i := 0; i < c; i++ {
		v := float64(bn[3].Data[i]) + ssdBNEpsilon
		if v <= 0 || math.IsNaN(v) {
			return nil, fmt.Errorf("model: %s: batch-norm variance %v of channel %d is not positive", prefix, bn[3].Data[i], i)
		}
		dw.Bias[i] = -bn[2].Data[i]
		dw.Scale[i] = float32(float64(bn[0].Data[i]) / math.Sqrt(v))
		dw.Shift[i] = bn[1].Data[i]
	}
	dw.Act, dw.Frozen = nn.ReLU6, true
	return dw, nil
}

// Detect finds faces in img, an RGB image [H, W, 3] (or [1, H, W, 3]) with
// values 0..255, and returns them sorted by descending score with boxes in
// image pixels, clipped to the image. Intermediate tensors come from arena
// (nil: the heap); Detect does not Reset it.
func (d *SSDMobilenetV1) Detect(arena *tensor.Arena, img *tensor.Tensor, opt SSDOptions) ([]Detection, error) {
	minConf := opt.MinConfidence
	if minConf == 0 {
		minConf = DefaultSSDMinConfidence
	}
	if math.IsNaN(minConf) || minConf < 0 || minConf >= 1 {
		return nil, fmt.Errorf("model: ssd min confidence %v is outside [0, 1)", opt.MinConfidence)
	}
	maxResults := opt.MaxResults
	if maxResults == 0 {
		maxResults = DefaultSSDMaxResults
	}
	if maxResults < 0 {
		return nil, fmt.Errorf("model: ssd max results %d is negative", opt.MaxResults)
	}
	x, h, w, err := imageDims(img)
	if err != nil {
		return nil, err
	}
	sq := toSquareInput(arena, x, ssdInput, false)
	in := arena.NewUninit(sq.Shape...)
	for i, v := range sq.Data {
		in.Data[i] = v/127.5 - 1 // float32 divide, then subtract, as tfjs
	}
	boxes, classes := d.forward(arena, in)
	return d.decode(boxes, classes, h, w, minConf, min(maxResults, ssdAnchors)), nil
}

// forward runs the network on a normalised input [1, 512, 512, 3] in an
// inference graph and returns the raw box encodings [5118×4] and class
// logits [5118×3], in face-api's anchor order (feature map by feature
// map, cell by cell, anchor by anchor).
func (d *SSDMobilenetV1) forward(arena *tensor.Arena, x *tensor.Tensor) (boxes, classes []float32) {
	g := nn.NewInferenceGraph(arena)
	bs, cs := d.Graph(g, g.Input(x, false))
	if err := g.Err(); err != nil {
		panic("model: " + err.Error())
	}
	boxes = arena.Floats(ssdAnchors * 4)[:0]
	classes = arena.Floats(ssdAnchors * 3)[:0]
	for i := range bs {
		boxes = append(boxes, bs[i].Value.Data...)
		classes = append(classes, cs[i].Value.Data...)
	}
	return boxes, classes
}

// Graph is the network: it maps a normalised input [N, 512, 512, 3] on g
// to the box encodings [N, h, w, 4·a] and class logits [N, h, w, 3·a] of
// the six feature maps (a anchors per cell: 3 on the first map, 6 on the
// others). Decoding them against the anchors and NMS are plain code
// outside the graph.
func (d *SSDMobilenetV1) Graph(g *nn.Graph, x *nn.Var) (boxes, classes [6]*nn.Var) {
	layers := d.BackboneGraph(g, x, SSDBackboneLayers)
	h := layers[SSDBackboneLayers-1]
	// The six feature maps: conv11, the backbone output and the outputs of
	// the strided extra layers.
	maps := [6]*nn.Var{layers[11], h}
	e := h
	for i := range d.extra {
		e = g.Conv2D(e, d.extra[i])
		if i%2 == 1 {
			maps[2+i/2] = e
		}
	}
	for i, m := range maps {
		boxes[i] = g.Conv2D(m, d.boxes[i].box)
		classes[i] = g.Conv2D(m, d.boxes[i].class)
	}
	return boxes, classes
}

// SSDBackboneLayers is the number of layers of the MobileNet V1 backbone:
// the stem conv0 and the 13 depthwise/pointwise pairs conv1 … conv13.
const SSDBackboneLayers = 14

// SSDBackboneLayer returns the name BackboneGraph gives backbone layer i
// (0 … 13): "conv0" for the stem, "conv<i>" for the output of pair i.
func SSDBackboneLayer(i int) string { return fmt.Sprintf("conv%d", i) }

// BackboneGraph runs the first n layers of the MobileNet V1 backbone
// (1 ≤ n ≤ SSDBackboneLayers) on a normalised input [N, H, W, 3] of any
// size ((pixel/127.5) − 1) and returns their outputs, each named with
// SSDBackboneLayer: style transfer and the feature visualisations read the
// backbone's inner layers without running the detection heads. Graph is
// this backbone followed by the extra layers and the heads.
func (d *SSDMobilenetV1) BackboneGraph(g *nn.Graph, x *nn.Var, n int) []*nn.Var {
	n = max(1, min(n, SSDBackboneLayers))
	out := make([]*nn.Var, 0, n)
	h := g.Named(SSDBackboneLayer(0), g.Conv2D(x, d.conv0))
	out = append(out, h)
	for i := 0; i+1 < n; i++ {
		h = g.Named(SSDBackboneLayer(i+1), g.Conv2D(g.DepthwiseConv2D(h, d.pairs[i].dw), d.pairs[i].pw))
		out = append(out, h)
	}
	return out
}

// decode is face-api's outputLayer, non-maximum suppression and box
// rescaling (ARCH.md §4): anchor-relative encodings become boxes relative to
// the 512 square (float32 tensor math), candidates above minConf are
// suppressed greedily at IoU > 0.5, and the survivors are clipped to [0, 1]
// and scaled back to the image.
func (d *SSDMobilenetV1) decode(enc, logits []float32, h, w int, minConf float64, maxResults int) []Detection {
	var cands []Detection
	for i := 0; i < ssdAnchors; i++ {
		score := float64(float32(sigmoid(float64(logits[3*i+1]))))
		if !(score > minConf) {
			continue
		}
		a := d.anchors[4*i : 4*i+4]
		t := enc[4*i : 4*i+4]
		ha, wa := a[2]-a[0], a[3]-a[1]
		cya, cxa := a[0]+ha/2, a[1]+wa/2
		hh := float32(math.Exp(float64(t[2]/5))) * ha / 2
		cy := t[0]/10*ha + cya
		hw := float32(math.Exp(float64(t[3]/5))) * wa / 2
		cx := t[1]/10*wa + cxa
		ymin, xmin, ymax, xmax := cy-hh, cx-hw, cy+hh, cx+hw
		// The box as corners in a Rect (relative units); the clipping comes
		// after NMS, which sees the raw boxes.
		cands = append(cands, Detection{
			Box:   Rect{X: float64(xmin), Y: float64(ymin), W: float64(xmax) - float64(xmin), H: float64(ymax) - float64(ymin)},
			Score: score,
		})
	}
	kept := NMS(cands, ssdIoUThreshold, maxResults)
	rh, rw := reshapedDims(h, w, ssdInput)
	padX, padY := ssdInput/rw, ssdInput/rh
	for i := range kept {
		b := kept[i].Box
		top := math.Max(0, b.Y) * padY
		bottom := math.Min(1, b.Bottom()) * padY
		left := math.Max(0, b.X) * padX
		right := math.Min(1, b.Right()) * padX
		kept[i].Box = Rect{X: left * float64(w), Y: top * float64(h), W: (right - left) * float64(w), H: (bottom - top) * float64(h)}
	}
	return kept
}
