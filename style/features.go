package style

import (
	"fmt"
	"slices"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/nn"
)

// FeatureNet is a pretrained convolutional network whose inner layers
// describe an image's content and style. Its layers are an ordered list;
// Graph runs the network up to a given depth on a recording or inference
// graph (the network is written once, in package model).
type FeatureNet interface {
	// Name identifies the network in reports ("ssd-mobilenet-v1", "vgg19").
	Name() string
	// Layers lists the layer names in order.
	Layers() []string
	// InputAffine gives the network's input normalisation: a pixel p in
	// [0, 1] of channel c enters as p·scale[c] + shift[c].
	InputAffine() (scale, shift [3]float32)
	// Graph runs the first n layers on a normalised input [1, H, W, 3]
	// and returns their outputs [1, h, w, C] in order.
	Graph(g *nn.Graph, x *nn.Var, n int) []*nn.Var
	// Defaults are the content layer and the style layers this network is
	// used with when the caller names none.
	Defaults() (content string, style []string)
}

// layerIndex returns the position of name in net's layers.
func layerIndex(net FeatureNet, name string) (int, error) {
	i := slices.Index(net.Layers(), name)
	if i < 0 {
		return 0, fmt.Errorf("style: %s has no layer %q (it has %v)", net.Name(), name, net.Layers())
	}
	return i, nil
}

// SSD is the MobileNet V1 backbone of facerec's SSD face detector as a
// feature network: layers conv0 (the stride-2 stem) to conv13, see
// model.SSDMobilenetV1.BackboneGraph. Of the networks facerec fetches it is
// the one closest to a general image model (a MobileNet V1, the
// architecture of ImageNet classifiers, taking any input size), but it was
// trained to find faces, so its deeper layers respond mostly to face-like
// structure; its early and middle layers give usable textures.
func SSD(d *model.SSDMobilenetV1) FeatureNet { return ssdNet{d} }

type ssdNet struct{ d *model.SSDMobilenetV1 }

func (ssdNet) Name() string { return "ssd-mobilenet-v1" }

func (ssdNet) Layers() []string {
	ls := make([]string, model.SSDBackboneLayers)
	for i := range ls {
		ls[i] = model.SSDBackboneLayer(i)
	}
	return ls
}

// The detector reads pixel/127.5 − 1.
func (ssdNet) InputAffine() (scale, shift [3]float32) {
	return [3]float32{2, 2, 2}, [3]float32{-1, -1, -1}
}

func (s ssdNet) Graph(g *nn.Graph, x *nn.Var, n int) []*nn.Var { return s.d.BackboneGraph(g, x, n) }

// One style layer per resolution up to stride 16 (conv1 at stride 2, conv3
// at 4, conv5 at 8, conv7 and conv9 at 16), as Gatys et al. take the first
// layer of each VGG block; content from conv7 (stride 16, receptive field
// 91 pixels), deep enough to ignore texture but not yet face-specific.
func (ssdNet) Defaults() (string, []string) {
	return "conv7", []string{"conv1", "conv3", "conv5", "conv7", "conv9"}
}

// VGG19 is torchvision's VGG-19 as a feature network, with Gatys et al.'s
// layers: style conv1_1 … conv5_1, content conv4_2.
func VGG19(v *model.VGG19) FeatureNet { return vggNet{v} }

// LoadVGG19 reads VGG-19 weights from a safetensors file with torchvision's
// tensor names (features.N.weight / features.N.bias, see model.NewVGG19).
func LoadVGG19(path string) (FeatureNet, error) {
	ts, err := checkpoint.ReadTensorsFile(path)
	if err != nil {
		return nil, err
	}
	v, err := model.NewVGG19(ts)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return VGG19(v), nil
}

type vggNet struct{ v *model.VGG19 }

func (vggNet) Name() string     { return "vgg19" }
func (vggNet) Layers() []string { return model.VGG19Layers }

func (vggNet) InputAffine() (scale, shift [3]float32) {
	for c := range 3 {
		scale[c] = 1 / model.VGG19Std[c]
		shift[c] = -model.VGG19Mean[c] / model.VGG19Std[c]
	}
	return scale, shift
}

func (n vggNet) Graph(g *nn.Graph, x *nn.Var, k int) []*nn.Var { return n.v.Graph(g, x, k) }

func (vggNet) Defaults() (string, []string) {
	return "conv4_2", []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"}
}

// CenterNet is the MobileNetV3 backbone of human-models' centernet object
// detector as a feature network (model.MobileNetV3: layers conv, b0, e1,
// b1, … e14, b14). Unlike the face networks it was trained on general
// images (COCO), so its deeper layers describe shapes and textures of any
// scene.
func CenterNet(b *model.MobileNetV3) FeatureNet { return centerNet{b} }

type centerNet struct{ b *model.MobileNetV3 }

func (centerNet) Name() string       { return "centernet-mobilenetv3" }
func (c centerNet) Layers() []string { return c.b.Layers() }

// The network reads pixel values 0–255.
func (centerNet) InputAffine() (scale, shift [3]float32) {
	return [3]float32{255, 255, 255}, [3]float32{}
}

func (c centerNet) Graph(g *nn.Graph, x *nn.Var, n int) []*nn.Var { return c.b.Graph(g, x, n) }

// Style from post-activation layers, one per resolution, as Gatys et al.
// take the first ReLU of each VGG block: the stem (stride 2, 16 channels),
// e1 (stride 2, 64), e3 (stride 4, 72), e6 (stride 8, 192) and e12
// (stride 16, 528); content from e10 (stride 16, 384 channels).
func (centerNet) Defaults() (string, []string) {
	return "e10", []string{"conv", "e1", "e3", "e6", "e12"}
}
