package model

import "github.com/facerec/facerec/nn"

// The first convolutions and input normalisations of the networks, for
// the feature visualisations (package visualize): the layers themselves
// stay private to each network's Graph.

// Stem returns the descriptor's first convolution (7×7 stride 2, 3 → 32).
func (net *RecognitionNet) Stem() *nn.Conv2D { return net.stem }

// Stem returns the SSD backbone's first convolution (3×3 stride 2, 3 → 32).
func (d *SSDMobilenetV1) Stem() *nn.Conv2D { return d.conv0 }

// Stem returns the tiny detector's first convolution (3×3, 3 → 16).
func (d *TinyFaceDetector) Stem() *nn.Conv2D { return d.conv0 }

// Stem returns a trained EmbedNet's first convolution (nil for a head on
// the pretrained network, which has none of its own).
func (n *EmbedNet) Stem() *nn.Conv2D {
	if n.backbone != nil {
		return nil
	}
	return n.stem.conv
}

// InputAffine returns a network's input normalisation for pixels in
// [0, 1]: channel c enters as p·scale[c] + shift[c]. name is one of
// RecognitionName, LandmarkName, LandmarkTinyName, TinyFaceDetectorName or
// SSDName.
func InputAffine(name string) (scale, shift [3]float32, ok bool) {
	var mean [3]float32
	switch name {
	case RecognitionName, LandmarkName, LandmarkTinyName:
		mean = recognitionMean
	case TinyFaceDetectorName:
		mean = tinyMean
	case SSDName:
		return [3]float32{2, 2, 2}, [3]float32{-1, -1, -1}, true
	default:
		return scale, shift, false
	}
	for c := range 3 {
		scale[c], shift[c] = 1, -mean[c]/255
	}
	return scale, shift, true
}
