package face

import (
	"fmt"

	"github.com/facerec/facerec/model"
)

// ChipToImage returns the map from the pixel coordinates of the chip that
// Chip cuts for f to those of the image f was found in, for the dlib and
// ArcFace alignments (saliency maps of the descriptor are drawn on the
// photo with it); face-api's axis-aligned crop has none to give.
func (p *Pipeline) ChipToImage(f *Face) (func(x, y float64) (float64, float64), error) {
	var t similarity
	switch p.opt.Align {
	case AlignDlib:
		t = dlibChipTransform(&f.Landmarks, model.RecognitionInput, chipPadding)
	case AlignArcFace:
		pts := fivePoints(&f.Landmarks)
		t = fitSimilarity(arcFaceTemplate[:], pts[:])
	default:
		return nil, fmt.Errorf("face: alignment %q has no chip transform", p.opt.Align)
	}
	return t.apply, nil
}
