// Package face turns face images into descriptors and compares them: the
// recognition half of facerec's pipeline (decode → detect → align → embed →
// compare), on top of the networks in package model.
package face

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Descriptor is a face's 128-d encoding f(x). Two photos of one person have
// descriptors closer than about 0.6 in Euclidean distance.
type Descriptor [model.DescriptorSize]float32

// Distance is the Euclidean distance ‖a − b‖.
func Distance(a, b Descriptor) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// Embedder computes descriptors of face crops. It is safe for concurrent use:
// the network is read-only and every call borrows its own scratch arena, so
// after warm-up a descriptor allocates almost nothing.
type Embedder struct {
	net     *model.RecognitionNet
	trained *model.EmbedNet // a network from facerec train, used instead of net
	arenas  sync.Pool
}

// NewEmbedder wraps a loaded descriptor network.
func NewEmbedder(net *model.RecognitionNet) *Embedder {
	return &Embedder{net: net, arenas: sync.Pool{New: func() any { return new(tensor.Arena) }}}
}

// Net returns the pretrained descriptor network (nil for a trained one).
func (e *Embedder) Net() *model.RecognitionNet { return e.net }

// NewTrainedEmbedder wraps a network trained with facerec train (see
// model.LoadEmbedNet); its embeddings must have DescriptorSize values.
func NewTrainedEmbedder(net *model.EmbedNet) (*Embedder, error) {
	if net.Config.Dim != model.DescriptorSize {
		return nil, fmt.Errorf("face: trained net gives %d-d embeddings, want %d", net.Config.Dim, model.DescriptorSize)
	}
	return &Embedder{trained: net, arenas: sync.Pool{New: func() any { return new(tensor.Arena) }}}, nil
}

// LoadEmbedder loads the pretrained descriptor network from the model
// directory dir (see registry.Dir), pulling it first if it is missing or
// damaged; progress goes to log (may be nil).
func LoadEmbedder(ctx context.Context, dir string, log io.Writer) (*Embedder, error) {
	if err := registry.Ensure(ctx, dir, log, registry.FaceRecognition); err != nil {
		return nil, err
	}
	w, err := model.LoadWeights(dir, registry.FaceRecognition.Weights)
	if err != nil {
		return nil, err
	}
	net, err := model.NewRecognitionNet(w)
	if err != nil {
		return nil, err
	}
	return NewEmbedder(net), nil
}

// EmbedCrop computes the descriptor of a face crop [H, W, 3] holding RGB
// values 0..255. The crop is padded to a square and resized to 150×150 as
// face-api does; it should span the face from the eyebrows to the chin.
func (e *Embedder) EmbedCrop(crop *tensor.Tensor) (Descriptor, error) {
	arena := e.arenas.Get().(*tensor.Arena)
	defer func() {
		arena.Reset()
		e.arenas.Put(arena)
	}()
	return e.embed(arena, crop)
}

// embed is EmbedCrop with the caller's arena.
func (e *Embedder) embed(arena *tensor.Arena, crop *tensor.Tensor) (Descriptor, error) {
	var d Descriptor
	if e.trained != nil {
		img, err := photo.FromTensor(crop)
		if err != nil {
			return d, fmt.Errorf("face: %w", err)
		}
		out, err := e.trained.Forward(arena, e.trained.Input(img))
		if err != nil {
			return d, fmt.Errorf("face: %w", err)
		}
		copy(d[:], out.Data)
		return d, nil
	}
	x, err := model.Preprocess(arena, crop)
	if err != nil {
		return d, fmt.Errorf("face: %w", err)
	}
	out := e.net.Forward(arena, x)
	copy(d[:], out.Data)
	return d, nil
}

// EmbedCrops computes many descriptors using every core (one crop per
// goroutine, GOMAXPROCS goroutines). errs[i] is set for crops that failed;
// the others are still computed.
func (e *Embedder) EmbedCrops(crops []*tensor.Tensor) (ds []Descriptor, errs []error) {
	ds = make([]Descriptor, len(crops))
	errs = make([]error, len(crops))
	workers := min(runtime.GOMAXPROCS(0), len(crops))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ds[i], errs[i] = e.EmbedCrop(crops[i])
			}
		}()
	}
	for i := range crops {
		next <- i
	}
	close(next)
	wg.Wait()
	return ds, errs
}

// DefaultThreshold is the distance below which two descriptors are taken to
// be the same person, chosen on LFW View 1 with the default pipeline: the
// best threshold is 0.598 on pairsDevTest and 0.623 on pairsDevTrain, and
// over both files the accuracy stays within one pair of the best from 0.598
// to 0.624 (see the README). face-api uses 0.6.
const DefaultThreshold = 0.61
