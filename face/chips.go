package face

import (
	"image"

	"github.com/facerec/facerec/tensor"
)

// AlignedChip returns the dlib-aligned 150×150 chip of f in img, [150,
// 150, 3] RGB 0..255, whatever alignment a pipeline describes faces with:
// the face at one scale and rotation, which is what a measure of the face
// itself (sharpness, exposure) needs to be comparable between photos.
func AlignedChip(img image.Image, f *Face) (*tensor.Tensor, error) {
	t, err := imageTensor(img)
	if err != nil {
		return nil, err
	}
	return alignedChip(nil, t, &f.Landmarks), nil
}

// AlignedChipTensor is AlignedChip for an image already converted to an
// [H, W, 3] tensor (photo.ImageTensor).
func AlignedChipTensor(img *tensor.Tensor, f *Face) *tensor.Tensor {
	return alignedChip(nil, img, &f.Landmarks)
}
