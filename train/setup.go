package train

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// NetSpec says which network a training run starts from.
type NetSpec struct {
	// Checkpoint is a checkpoint to start from (resume or fine-tune); it
	// brings its own architecture.
	Checkpoint string
	// Pretrained trains a new final layer on the frozen pretrained
	// descriptor (when Checkpoint is empty).
	Pretrained bool
	// Tail is, with Pretrained, how many of the pretrained network's last
	// residual blocks are fine-tuned with the new final layer.
	Tail int
	// Config and Seed build a network from scratch otherwise.
	Config model.EmbedNetConfig
	Seed   uint64
	// Backbone loads the pretrained descriptor network, for Pretrained and
	// for a checkpoint of a head on it.
	Backbone func() (*model.RecognitionNet, error)
}

// NewNet builds the network a run starts from.
func NewNet(s NetSpec) (*model.EmbedNet, error) {
	switch {
	case s.Checkpoint != "":
		return model.LoadEmbedNet(s.Checkpoint, s.Backbone)
	case s.Pretrained:
		if s.Backbone == nil {
			return nil, errors.New("train: a pretrained head needs the pretrained network")
		}
		b, err := s.Backbone()
		if err != nil {
			return nil, err
		}
		return model.NewPretrainedHead(b, s.Tail)
	}
	return model.NewEmbedNet(s.Config, s.Seed)
}

// AlignFunc finds the face a labelled photo is about (the one nearest the
// centre, see face.Pipeline.Subject) and returns its aligned chip, for
// training on unaligned photos.
func AlignFunc(ctx context.Context, p *face.Pipeline) func(string) (*tensor.Tensor, error) {
	return func(path string) (*tensor.Tensor, error) {
		img, _, err := photo.DecodeFile(path, photo.Options{})
		if err != nil {
			return nil, err
		}
		// A labelled photo's subject, taken even where another face could
		// be it: training, like evaluation, takes a face from every image.
		f, err := p.DetectSubject(ctx, img)
		if err != nil && !errors.Is(err, face.ErrAmbiguous) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return p.Chip(img, &f)
	}
}

// NewValidation builds the one-shot check: the first photo of every identity
// (trained ones as distractors, at most 200) is enrolled; the held-out
// people's other photos are the probes.
func NewValidation(net *model.EmbedNet, dcfg DatasetConfig, trainDS *Dataset, held []string, skipped func(error)) (*Validation, error) {
	hcfg := dcfg
	hcfg.People, hcfg.Exclude = held, nil
	hds, err := OpenDataset(hcfg)
	if err != nil {
		return nil, fmt.Errorf("held-out people: %w", err)
	}
	if hcfg.Align != nil {
		for _, e := range hds.Prune() {
			skipped(e)
		}
	}
	v := &Validation{}
	id := 0
	for i := 0; i < min(trainDS.Len(), 200); i++ {
		img, err := Input(net, trainDS, i, 0)
		if err != nil {
			return nil, err
		}
		v.Gallery, v.GalleryID = append(v.Gallery, img), append(v.GalleryID, id)
		id++
	}
	for i := 0; i < hds.Len(); i++ {
		n := len(hds.Paths(i))
		for j := 0; j < n; j++ {
			img, err := Input(net, hds, i, j)
			if err != nil {
				return nil, err
			}
			if j == 0 {
				v.Gallery, v.GalleryID = append(v.Gallery, img), append(v.GalleryID, id)
			} else {
				v.Probes, v.ProbeID = append(v.Probes, img), append(v.ProbeID, id)
			}
		}
		id++
	}
	return v, nil
}

// ChipCacheName names the default chip cache folder after the options that
// decide where a chip is cut (detection, landmarks, alignment) and after
// the face chosen (subject: see alignFunc), since the cache key only knows
// the image: changing a default then starts a new cache instead of
// silently reusing chips cut another way.
func ChipCacheName(o face.Options) string {
	o.Flip, o.Jitter, o.Model = false, 0, ""
	sum := sha256.Sum256(fmt.Appendf(nil, "subject %+v", o))
	return fmt.Sprintf("chips-%s-%x", o.Align, sum[:4])
}
