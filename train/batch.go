package train

import (
	"context"

	"fmt"
	"math/rand/v2"

	"github.com/facerec/facerec/internal/parallel"

	"github.com/facerec/facerec/tensor"
)

// Batch assembles the images of samples into one [N, Size, Size, C]
// tensor, normalised (see [Normalize]), and returns it with the labels
// (the identities). With aug non-nil each image is augmented first; image
// i draws from its own generator seeded by (seed, i), so a batch is the
// same whatever the number of goroutines and their scheduling. The images
// are loaded and augmented on GOMAXPROCS goroutines.
func (d *Dataset) Batch(samples []Sample, aug *Augment, seed uint64) (*tensor.Tensor, []int, error) {
	if len(samples) == 0 {
		return nil, nil, fmt.Errorf("dataset batch: no samples")
	}
	if aug != nil {
		if err := aug.validate(); err != nil {
			return nil, nil, fmt.Errorf("dataset batch: %w", err)
		}
	}
	shape := d.Shape()
	h, w, c := shape[0], shape[1], shape[2]
	per := h * w * c
	out := tensor.New(len(samples), h, w, c)
	labels := make([]int, len(samples))
	errs := make([]error, len(samples))

	work := func(i int) {
		s := samples[i]
		labels[i] = s.Identity
		pix, err := d.load(s.Identity, s.Image)
		if err != nil {
			errs[i] = err
			return
		}
		dst := out.Data[i*per : (i+1)*per]
		if aug == nil {
			for k, v := range pix {
				dst[k] = float32(v)
			}
		} else {
			src := make([]float32, per)
			for k, v := range pix {
				src[k] = float32(v)
			}
			aug.apply(dst, src, h, w, c, rand.New(rand.NewPCG(seed, uint64(i))))
		}
		Normalize(dst)
	}

	parallel.For(context.Background(), len(samples), 0, work)
	// Report the first failing sample, not whichever failed first in time.
	for i, err := range errs {
		if err != nil {
			return nil, nil, fmt.Errorf("dataset batch: sample %d: %w", i, err)
		}
	}
	return out, labels, nil
}
