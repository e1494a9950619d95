package model

import (
	"fmt"
	"math"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// Weight files of the two 68-point landmark networks.
const (
	LandmarkName     = "face_landmark_68_model"
	LandmarkTinyName = "face_landmark_68_tiny_model"
)

// NumLandmarks is the number of points a landmark network predicts, in
// dlib's order: jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67.
const NumLandmarks = 68

// LandmarkInput is the side of the square crop the landmark networks read.
const LandmarkInput = 112

// LandmarkNet is face-api's FaceLandmark68Net or FaceLandmark68TinyNet
// (which one depends on the weights): dense blocks of depthwise-separable
// convolutions on a 112×112 face crop, an average pool and a fully
// connected layer giving 68 (x, y) points relative to the crop
// (shared/oracle/ARCH.md §3).
//
// The network is defined once, by Graph (frozen layers: on a recording
// graph the gradient reaches the input only); Raw and Landmarks run it in
// an inference graph. A LandmarkNet is read-only after construction and
// safe for concurrent use; each goroutine passes its own arena.
type LandmarkNet struct {
	tiny   bool
	blocks []denseBlock
	pool   nn.Window
	fc     *nn.Dense
}

// denseBlock is face-api's denseBlock3/denseBlock4: a strided first layer
// and two or three separable convolutions whose outputs are summed
// (DenseNet-style) into the inputs of the later ones.
type denseBlock struct {
	name  string
	stem  *nn.Conv2D // first block only: 3×3 stride 2 conv + bias + ReLU
	down  separable  // the other blocks: stride-2 separable conv + ReLU
	convs []separable
}

// NewLandmarkNet builds the full or the tiny landmark network from its tfjs
// weights; the tiny one has three dense blocks of three layers, the full one
// four of four.
func NewLandmarkNet(w Weights) (*LandmarkNet, error) {
	_, full := w["dense3/conv0/depthwise_filter"]
	net := &LandmarkNet{tiny: !full}
	nBlocks, nConvs, fcIn := 3, 3, 128
	net.pool = nn.Window{KH: 14, KW: 14, Stride: 2, Mode: nn.Valid}
	if full {
		nBlocks, nConvs, fcIn = 4, 4, 256
		net.pool = nn.Window{KH: 7, KW: 7, Stride: 2, Mode: nn.Valid}
	}
	cin := 3
	for i := 0; i < nBlocks; i++ {
		b := denseBlock{name: fmt.Sprintf("dense%d", i)}
		cout := 32 << i
		var err error
		if i == 0 {
			b.stem, err = biasConv(w, b.name+"/conv0/filters", b.name+"/conv0/bias", []int{3, 3, 3, 32}, 2, nn.Same, nn.ReLU)
		} else {
			b.down, err = separableConv(w, b.name+"/conv0", cin, cout, 2, nn.Same, nn.ReLU)
		}
		if err != nil {
			return nil, err
		}
		for k := 1; k < nConvs; k++ {
			s, err := separableConv(w, fmt.Sprintf("%s/conv%d", b.name, k), cout, cout, 1, nn.Same, nn.Linear)
			if err != nil {
				return nil, err
			}
			b.convs = append(b.convs, s)
		}
		net.blocks = append(net.blocks, b)
		cin = cout
	}
	fcw, err := w.Get("fc/weights", fcIn, 2*NumLandmarks)
	if err != nil {
		return nil, err
	}
	fcb, err := w.Get("fc/bias", 2*NumLandmarks)
	if err != nil {
		return nil, err
	}
	if net.fc, err = nn.NewDense(fcw, fcb.Data); err != nil {
		return nil, err
	}
	net.fc.Frozen = true
	return net, nil
}

// Tiny reports whether this is the tiny landmark network.
func (n *LandmarkNet) Tiny() bool { return n.tiny }

// Landmarks predicts the 68 points of the face in box, in image pixels,
// the way face-api's withFaceLandmarks does: the box is clipped to the image
// and floored, that crop goes through Raw, and the relative points are
// mapped back with the crop's size but the detection box's unfloored
// origin (an upstream quirk kept for parity). img is an RGB image [H, W, 3]
// (or [1, H, W, 3]) with values 0..255.
func (n *LandmarkNet) Landmarks(arena *tensor.Arena, img *tensor.Tensor, box Rect) ([NumLandmarks]Point, error) {
	var pts [NumLandmarks]Point
	x, h, w, err := imageDims(img)
	if err != nil {
		return pts, err
	}
	for _, v := range []float64{box.X, box.Y, box.W, box.H} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return pts, fmt.Errorf("model: face box %+v is not finite", box)
		}
	}
	cx, cy, cw, ch := clipBox(box, w, h)
	if cw <= 0 || ch <= 0 {
		return pts, fmt.Errorf("model: face box %+v does not overlap the %d×%d image", box, w, h)
	}
	crop := arena.NewUninit(1, ch, cw, 3)
	for r := 0; r < ch; r++ {
		copy(crop.Data[r*cw*3:(r+1)*cw*3], x.Data[((cy+r)*w+cx)*3:])
	}
	raw, err := n.Raw(arena, crop)
	if err != nil {
		return pts, err
	}
	return landmarkPoints(&raw, cw, ch, box.X, box.Y), nil
}

// landmarkPoints is face-api's FaceLandmark68NetBase.postProcess followed by
// the shift to the box origin (ARCH.md §3.3). The relative coordinates are
// computed in float32, as face-api does it with tensors; the rest in float64.
func landmarkPoints(raw *[2 * NumLandmarks]float32, cw, ch int, ox, oy float64) [NumLandmarks]Point {
	s := float64(LandmarkInput) / float64(max(cw, ch))
	iw, ih := float64(cw)*s, float64(ch)*s
	var padX, padY float64
	// postProcess assumes the padding was split evenly, even when the crop
	// was padded unevenly by one pixel; kept as written upstream.
	if iw < ih {
		padX = (ih - iw) / 2
	} else if ih < iw {
		padY = (iw - ih) / 2
	}
	fw, fh := float32(iw), float32(ih)
	fpx, fpy := float32(padX), float32(padY)
	var pts [NumLandmarks]Point
	for i := range pts {
		relX := (raw[2*i]*LandmarkInput - fpx) / fw
		relY := (raw[2*i+1]*LandmarkInput - fpy) / fh
		pts[i] = Point{X: float64(relX)*float64(cw) + ox, Y: float64(relY)*float64(ch) + oy}
	}
	return pts
}

// Raw runs the network on a ready face crop [H, W, 3] (or [1, H, W, 3]) of
// RGB values 0..255 and returns its 136 raw outputs x0, y0, x1, y1, …:
// coordinates relative to the 112×112 square the crop was centred in
// (padded with zeros, then resized).
func (n *LandmarkNet) Raw(arena *tensor.Arena, crop *tensor.Tensor) ([2 * NumLandmarks]float32, error) {
	var out [2 * NumLandmarks]float32
	x, _, _, err := imageDims(crop)
	if err != nil {
		return out, err
	}
	in := normalizeMean(arena, toSquareInput(arena, x, LandmarkInput, true), recognitionMean)
	g := nn.NewInferenceGraph(arena)
	copy(out[:], mustValue(g, n.Graph(g, g.Input(in, false))).Data)
	return out, nil
}

// Graph is the network: it maps a normalised input [N, 112, 112, 3] to the
// fc output [N, 136] on g, naming the intermediates the oracle dumps.
func (n *LandmarkNet) Graph(g *nn.Graph, x *nn.Var) *nn.Var {
	for i := range n.blocks {
		x = n.blocks[i].graph(g, x)
	}
	x = g.Named("avgpool", g.AvgPool(x, n.pool))
	return g.Named("fc", g.Dense(x, n.fc))
}

// graph applies the block. The sums are associated as face-api writes
// them, out1 + (out2 + (out3 + out4)), because float addition is not
// associative and the outputs are compared with the reference's (a + b
// and b + a are the same float, so only the grouping matters).
func (b *denseBlock) graph(g *nn.Graph, x *nn.Var) *nn.Var {
	var out1 *nn.Var
	if b.stem != nil {
		out1 = g.Conv2D(x, b.stem)
	} else {
		out1 = b.down.graph(g, x)
	}
	g.Named(b.name+"/out1", out1)
	out2 := b.convs[0].graph(g, out1)
	out3 := b.convs[1].graph(g, g.AddReLU(out1, out2))
	// The last sum goes over the last conv's output, which nothing else
	// reads (in place in inference, as the plain code did).
	if len(b.convs) == 2 {
		// relu(out1 + (out2 + out3))
		return g.Named(b.name+"/out", g.AddReLUInPlace(g.AddInPlace(out3, out2), out1))
	}
	in4 := g.AddReLUInPlace(g.Add(out2, out3), out1)
	out4 := b.convs[2].graph(g, in4)
	// relu(out1 + (out2 + (out3 + out4)))
	return g.Named(b.name+"/out", g.AddReLUInPlace(g.AddInPlace(g.AddInPlace(out4, out3), out2), out1))
}
