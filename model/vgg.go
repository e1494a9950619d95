package model

import (
	"fmt"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// VGG19Layers names the 16 convolutions of VGG-19 in order, as Gatys et al.
// name them (conv<block>_<index>; each output is taken after its ReLU).
var VGG19Layers = []string{
	"conv1_1", "conv1_2",
	"conv2_1", "conv2_2",
	"conv3_1", "conv3_2", "conv3_3", "conv3_4",
	"conv4_1", "conv4_2", "conv4_3", "conv4_4",
	"conv5_1", "conv5_2", "conv5_3", "conv5_4",
}

// vgg19Blocks is the number of convolutions in each of VGG-19's five
// blocks; a 2×2 max pool follows every block.
var vgg19Blocks = [5]int{2, 2, 4, 4, 4}

// VGG19 is the convolutional part of torchvision's VGG-19 (its
// "features"): sixteen 3×3 convolutions with ReLU in five blocks separated
// by 2×2 max pools, on RGB input in [0, 1] normalised with ImageNet's mean
// and standard deviation. facerec fetches no VGG weights; users who have
// them (torchvision's vgg19 state dict saved as safetensors) load them with
// NewVGG19. The network is frozen: on a recording graph the gradient
// reaches the input only.
type VGG19 struct {
	convs []*nn.Conv2D
}

// VGG19Mean and VGG19Std are the per-channel (R, G, B) input normalisation
// torchvision's ImageNet models were trained with, for pixels in [0, 1].
var (
	VGG19Mean = [3]float32{0.485, 0.456, 0.406}
	VGG19Std  = [3]float32{0.229, 0.224, 0.225}
)

// vggIndex returns the torchvision index of convolution i in "features"
// (each conv is followed by its ReLU, each block by a pool).
func vggIndex(i int) int {
	idx, n := 0, 0
	for _, b := range vgg19Blocks {
		for j := 0; j < b; j++ {
			if n == i {
				return idx
			}
			idx += 2
			n++
		}
		idx++ // the pool
	}
	return -1
}

// NewVGG19 builds the network from tensors named as in torchvision's state
// dict: features.<N>.weight [Cout, Cin, 3, 3] and features.<N>.bias [Cout]
// for the convolutions at N = 0, 2, 5, 7, 10, … 34. The channel counts are
// read from the shapes (the real network has 64 … 512), and each layer's
// input channels must be the previous layer's outputs (3 for the first).
// Tensors of the classifier, if present, are ignored.
func NewVGG19(ts map[string]*tensor.Tensor) (*VGG19, error) {
	v := &VGG19{}
	cin := 3
	for i := range VGG19Layers {
		idx := vggIndex(i)
		wname, bname := fmt.Sprintf("features.%d.weight", idx), fmt.Sprintf("features.%d.bias", idx)
		w, b := ts[wname], ts[bname]
		if w == nil || b == nil {
			return nil, fmt.Errorf("model: vgg19: %s (%s) is missing %s or %s", VGG19Layers[i], "torchvision names", wname, bname)
		}
		if len(w.Shape) != 4 || w.Shape[1] != cin || w.Shape[2] != 3 || w.Shape[3] != 3 || w.Shape[0] < 1 {
			return nil, fmt.Errorf("model: vgg19: %s has shape %v, want [Cout, %d, 3, 3]", wname, w.Shape, cin)
		}
		cout := w.Shape[0]
		if len(b.Shape) != 1 || b.Shape[0] != cout {
			return nil, fmt.Errorf("model: vgg19: %s has shape %v, want [%d]", bname, b.Shape, cout)
		}
		// OIHW → HWIO.
		hwio := tensor.New(3, 3, cin, cout)
		for o := 0; o < cout; o++ {
			for c := 0; c < cin; c++ {
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						hwio.Data[((ky*3+kx)*cin+c)*cout+o] = w.Data[((o*cin+c)*3+ky)*3+kx]
					}
				}
			}
		}
		conv, err := nn.NewConv2D(hwio, 1, nn.Same)
		if err != nil {
			return nil, fmt.Errorf("model: vgg19: %s: %w", VGG19Layers[i], err)
		}
		conv.Bias = append([]float32(nil), b.Data...)
		conv.Act, conv.Frozen = nn.ReLU, true
		v.convs = append(v.convs, conv)
		cin = cout
	}
	return v, nil
}

// Graph runs the first n convolutions (1 ≤ n ≤ 16) on a normalised input
// [N, H, W, 3] ((pixel/255 − VGG19Mean)/VGG19Std) and returns their
// outputs after ReLU, each named with its VGG19Layers name.
func (v *VGG19) Graph(g *nn.Graph, x *nn.Var, n int) []*nn.Var {
	n = max(1, min(n, len(v.convs)))
	out := make([]*nn.Var, 0, n)
	h, i := x, 0
	for _, b := range vgg19Blocks {
		for j := 0; j < b; j++ {
			h = g.Named(VGG19Layers[i], g.Conv2D(h, v.convs[i]))
			out = append(out, h)
			if i++; i == n {
				return out
			}
		}
		h = g.MaxPool(h, nn.Window{KH: 2, KW: 2, Stride: 2, Mode: nn.Valid})
	}
	return out
}

// Channels returns the output channels of each convolution.
func (v *VGG19) Channels() []int {
	cs := make([]int, len(v.convs))
	for i, c := range v.convs {
		cs[i] = c.Cout
	}
	return cs
}
