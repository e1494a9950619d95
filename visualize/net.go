// Package visualize shows what the layers of facerec's networks have
// learned: their layers with output shapes and receptive fields, the first
// layer's filters, the feature maps of an image, the image patches that
// excite a unit most (Zeiler & Fergus), images optimised to excite a unit
// (activation maximisation with jitter and blur), and for a verification
// decision the saliency |∂d(A, B)/∂A| and a Grad-CAM map; Report puts them
// together in one self-contained HTML page.
//
// Everything runs the networks of package model, written once, on
// nn.Graph: names and shapes come from the graph's Named layers (nn.Graph
// Tap), receptive fields from nn.Var.Field, gradients from
// nn.Graph.BackwardFromAll seeded at the chosen layer.
package visualize

import (
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/draw"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Net is a network to look into: its graph definition with named layers,
// the square input size it is shown images at, and its input
// normalisation.
type Net struct {
	Name  string
	Input int // side of the square input images are resized to
	// Scale and Shift normalise a pixel p in [0, 1] of channel c to
	// p·Scale[c] + Shift[c].
	Scale, Shift [3]float32
	// Graph runs the whole network on a normalised input [1, S, S, 3],
	// naming its inner layers with g.Named.
	Graph func(g *nn.Graph, x *nn.Var)
	// Stem is the first convolution, nil when it is not a dense one.
	Stem *nn.Conv2D
}

// Models lists the names LoadNet accepts.
var Models = []string{"descriptor", "ssd", "tiny", "landmarks", "centernet"}

// LoadNet builds one of facerec's pretrained networks from the model
// directory: "descriptor" (dlib's ResNet, 150×150 face chips), "ssd" (the
// SSD detector's MobileNet V1 backbone, shown at 256×256), "tiny" (the tiny
// face detector, 224×224), "landmarks" (the 68-point landmark net, 112×112),
// "centernet" (the MobileNetV3 backbone of human-models' object detector,
// 256×256; an optional model, see registry.CenterNet);
// or a network trained with `facerec train`, given as the path of its
// checkpoint (….safetensors; colour nets of its own layers only).
func LoadNet(dir, name string) (*Net, error) {
	load := func(m registry.Manifest, file string) (model.Weights, error) {
		if err := registry.Verify(dir, m); err != nil {
			return nil, fmt.Errorf("visualize: %w (run `facerec models pull`)", err)
		}
		return model.LoadWeights(dir, file)
	}
	n := &Net{Name: name}
	if strings.HasSuffix(name, ".safetensors") {
		return loadTrained(name)
	}
	var file string
	switch name {
	case "descriptor":
		file = model.RecognitionName
		w, err := load(registry.FaceRecognition, file)
		if err != nil {
			return nil, err
		}
		net, err := model.NewRecognitionNet(w)
		if err != nil {
			return nil, err
		}
		n.Input, n.Stem = model.RecognitionInput, net.Stem()
		n.Graph = func(g *nn.Graph, x *nn.Var) { net.Graph(g, x) }
	case "ssd":
		file = model.SSDName
		w, err := load(registry.SSDMobilenetV1, file)
		if err != nil {
			return nil, err
		}
		d, err := model.NewSSDMobilenetV1(w)
		if err != nil {
			return nil, err
		}
		n.Input, n.Stem = 256, d.Stem()
		n.Graph = func(g *nn.Graph, x *nn.Var) { d.BackboneGraph(g, x, model.SSDBackboneLayers) }
	case "tiny":
		file = model.TinyFaceDetectorName
		w, err := load(registry.TinyFaceDetector, file)
		if err != nil {
			return nil, err
		}
		d, err := model.NewTinyFaceDetector(w)
		if err != nil {
			return nil, err
		}
		n.Input, n.Stem = 224, d.Stem()
		n.Graph = func(g *nn.Graph, x *nn.Var) { d.Graph(g, x) }
	case "landmarks":
		file = model.LandmarkName
		w, err := load(registry.Landmark68, file)
		if err != nil {
			return nil, err
		}
		net, err := model.NewLandmarkNet(w)
		if err != nil {
			return nil, err
		}
		n.Input = model.LandmarkInput
		n.Graph = func(g *nn.Graph, x *nn.Var) { net.Graph(g, x) }
	case "centernet":
		b, err := model.LoadCenterNetBackbone(dir)
		if err != nil {
			return nil, fmt.Errorf("visualize: %w (run `facerec models pull centernet`)", err)
		}
		n.Input, n.Stem = 256, b.Stem()
		n.Scale, n.Shift = [3]float32{255, 255, 255}, [3]float32{}
		n.Graph = func(g *nn.Graph, x *nn.Var) { b.Graph(g, x, len(b.Layers())) }
		return n, nil
	default:
		return nil, fmt.Errorf("visualize: unknown model %q (want one of %s)", name, strings.Join(Models, ", "))
	}
	n.Scale, n.Shift, _ = model.InputAffine(file)
	return n, nil
}

// Layer describes one named layer.
type Layer struct {
	Name  string   `json:"name"`
	Shape []int    `json:"shape"` // [1, H, W, C] (or [1, C] after a dense layer)
	Field nn.Field `json:"receptive_field"`
}

// trace runs the network on x [1, S, S, 3] on g and returns its named
// layers' Vars in order (a name given twice keeps its first Var).
func (n *Net) trace(g *nn.Graph, x *nn.Var) ([]string, map[string]*nn.Var, error) {
	var names []string
	vars := map[string]*nn.Var{}
	g.Tap = func(name string, v *nn.Var) {
		if _, seen := vars[name]; !seen {
			names = append(names, name)
			vars[name] = v
		}
	}
	n.Graph(g, x)
	g.Tap = nil
	if err := g.Err(); err != nil {
		return nil, nil, fmt.Errorf("visualize: %s: %w", n.Name, err)
	}
	return names, vars, nil
}

// Layers lists the network's named layers with their output shapes and
// receptive fields at its input size.
func (n *Net) Layers() ([]Layer, error) {
	g := nn.NewInferenceGraph(nil)
	names, vars, err := n.trace(g, g.Input(tensor.New(1, n.Input, n.Input, 3), false))
	if err != nil {
		return nil, err
	}
	ls := make([]Layer, len(names))
	for i, name := range names {
		v := vars[name]
		ls[i] = Layer{Name: name, Shape: slices.Clone(v.Value.Shape), Field: v.Field()}
	}
	return ls, nil
}

// spatial reports whether a layer has a [1, H, W, C] output.
func spatial(v *nn.Var) bool { return len(v.Value.Shape) == 4 }

// Prepare cuts the centred square out of img and resizes it to the
// network's input side: the pixels [S, S, 3] in [0, 1] the visualisations
// draw on.
func (n *Net) Prepare(img image.Image) (*tensor.Tensor, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("visualize: empty image")
	}
	side := min(b.Dx(), b.Dy())
	corner := image.Pt(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2)
	sq := image.Rectangle{Min: corner, Max: corner.Add(image.Pt(side, side))}
	dst := image.NewRGBA(image.Rect(0, 0, n.Input, n.Input))
	draw.CatmullRom.Scale(dst, dst.Rect, img, sq, draw.Src, nil)
	t := photo.ToTensor(dst)
	for i, v := range t.Data {
		t.Data[i] = v / 255
	}
	return t, nil
}

// normalise maps pixels [S, S, 3] in [0, 1] to the network input.
func (n *Net) normalise(p *tensor.Tensor) *tensor.Tensor {
	x := tensor.New(1, p.Shape[0], p.Shape[1], 3)
	for i, v := range p.Data {
		x.Data[i] = v*n.Scale[i%3] + n.Shift[i%3]
	}
	return x
}

// activations runs the network on pixels p and returns the named layers.
func (n *Net) activations(p *tensor.Tensor) ([]string, map[string]*nn.Var, error) {
	g := nn.NewInferenceGraph(nil)
	return n.trace(g, g.Input(n.normalise(p), false))
}

// layer returns the Var of the named spatial layer.
func layer(vars map[string]*nn.Var, names []string, name string) (*nn.Var, error) {
	v := vars[name]
	if v == nil {
		return nil, fmt.Errorf("visualize: no layer %q (see `facerec visualize layers`; there are %d, from %s to %s)", name, len(names), names[0], names[len(names)-1])
	}
	if !spatial(v) {
		return nil, fmt.Errorf("visualize: layer %q has shape %v, not [1, H, W, C]", name, v.Value.Shape)
	}
	return v, nil
}

// loadTrained builds a Net of a `facerec train` checkpoint.
func loadTrained(path string) (*Net, error) {
	e, err := model.LoadEmbedNet(path, func() (*model.RecognitionNet, error) {
		return nil, errors.New("a head on the pretrained descriptor: look at it with --model descriptor")
	})
	if err != nil {
		return nil, fmt.Errorf("visualize: %w", err)
	}
	if e.Config.Channels != 3 {
		return nil, fmt.Errorf("visualize: %s is a grey network; only colour ones can be shown", path)
	}
	return &Net{
		Name: filepath.Base(path), Input: e.Config.Input, Stem: e.Stem(),
		// EmbedNet reads (pixel − 127.5)/127.5 (model.NormalizeInput).
		Scale: [3]float32{2, 2, 2}, Shift: [3]float32{-1, -1, -1},
		Graph: func(g *nn.Graph, x *nn.Var) { e.Graph(g, x, false) },
	}, nil
}
