package face

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"github.com/facerec/facerec/internal/parallel"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Descriptor is a face's encoding f(x) by one descriptor model. Vector
// holds the model's Dim() values; Model is the model's ID, so that
// descriptors of different models, which live in unrelated spaces, are
// never compared by mistake.
type Descriptor struct {
	Model  string    `json:"model"`
	Vector []float32 `json:"descriptor"`
}

// ErrModelMismatch is returned when two descriptors of different models
// (or of different lengths) are compared.
var ErrModelMismatch = errors.New("face: descriptors of different models")

// Metric is how a model's descriptors are compared: a distance, smaller
// meaning more alike.
type Metric string

const (
	// Euclidean is ‖a − b‖.
	Euclidean Metric = "euclidean"
	// Cosine is 1 − a·b / (‖a‖‖b‖).
	Cosine Metric = "cosine"
)

// Distance between two vectors of one model; they must be equally long.
func (m Metric) Distance(a, b []float32) float64 {
	a = a[:len(b)]
	if m == Cosine {
		var ab, aa, bb float64
		for i := range a {
			x, y := float64(a[i]), float64(b[i])
			ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
		}
		if aa == 0 || bb == 0 {
			return 1
		}
		return 1 - ab/math.Sqrt(aa*bb)
	}
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// FromEuclidean converts the Euclidean distance of two descriptors of a
// model of metric m to m's distance. A gallery searches by Euclidean
// distance; a Cosine model's descriptors are of unit length (its Describe
// and the pipeline's averaging keep them so), for which
// 1 − a·b = ‖a − b‖²/2 orders them the same way.
func (m Metric) FromEuclidean(e float64) float64 {
	if m == Cosine {
		return e * e / 2
	}
	return e
}

// unit scales v to unit length in place (a zero vector stays zero).
func unit(v []float32) []float32 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s > 0 {
		k := 1 / math.Sqrt(s)
		for i := range v {
			v[i] = float32(float64(v[i]) * k)
		}
	}
	return v
}

// DescriptorModel maps face chips to descriptors. It owns its identity,
// its size and how its descriptors are compared; a Pipeline runs one, and
// a gallery refuses descriptors of another. Implementations are safe for
// concurrent use.
type DescriptorModel interface {
	// ID names the architecture and the weights with their checksum: it
	// changes whenever the weights change.
	ID() string
	// Dim is the length of a descriptor.
	Dim() int
	// Metric compares two descriptors.
	Metric() Metric
	// Threshold is the model's default decision: two descriptors closer
	// than it are the same person.
	Threshold() float64
	// Describe computes one descriptor per chip (an aligned face crop
	// [H, W, 3] of RGB values 0..255, which the model resizes as it needs),
	// spreading the chips over the cores. It stops early, with ctx's
	// error, when ctx is done.
	Describe(ctx context.Context, chips []*tensor.Tensor) ([]Descriptor, error)
}

// DefaultThreshold is the distance below which two descriptors of the
// pretrained model are taken to be the same person, chosen on LFW View 1
// with the default pipeline: the best threshold is 0.598 on pairsDevTest
// and 0.623 on pairsDevTrain, and over both files the accuracy stays within
// one pair of the best from 0.598 to 0.624 (docs/lfw.md). face-api uses 0.6.
const DefaultThreshold = 0.61

// LoadDescriptorModel loads the descriptor network: the default
// pretrained one from the model directory dir (fetched first when
// missing; progress to log, which may be nil) when checkpoint is "", else
// a network trained with facerec train (best.safetensors), whose
// pretrained backbone, if it has one, also comes from dir.
func LoadDescriptorModel(ctx context.Context, dir, checkpoint string, log io.Writer) (DescriptorModel, error) {
	if checkpoint != "" {
		return loadTrained(ctx, dir, checkpoint, log)
	}
	return LoadPretrained(ctx, dir, "", log)
}

// LoadPretrained loads the pretrained descriptor network named by an
// Options.Descriptor value ("" for the default) from dir, fetching it
// first when missing.
func LoadPretrained(ctx context.Context, dir, name string, log io.Writer) (DescriptorModel, error) {
	o, err := Options{Descriptor: name}.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := registry.Ensure(ctx, dir, log, o.descriptorManifest()); err != nil {
		return nil, err
	}
	return o.loadDescriptor(dir)
}

// loadPretrained loads the pretrained network from dir, whose files the
// caller has checked.
func loadPretrained(dir string) (*pretrained, error) {
	w, err := model.LoadWeights(dir, model.RecognitionName)
	if err != nil {
		return nil, err
	}
	net, err := model.NewRecognitionNet(w)
	if err != nil {
		return nil, err
	}
	return &pretrained{net: net}, nil
}

// pretrained is dlib's ResNet as face-api ships it.
type pretrained struct {
	net    *model.RecognitionNet
	arenas arenaPool
}

// PretrainedID is the ID of the pretrained descriptor model: the
// architecture and the checksums of face-api's weight files.
var PretrainedID = "dlib_resnet_v1/" + registry.FaceRecognition.ID()

// legacyPretrainedID is the tag galleries written before models had IDs
// stored the pretrained model's descriptors under.
var legacyPretrainedID = "face_recognition_model@" + registry.FaceRecognition.NPM()

// LegacyIDs are the names under which galleries made before models had
// IDs stored this model's descriptors: the same weights, under the tag
// that facerec wrote then.
func LegacyIDs(m DescriptorModel) []string {
	if _, ok := m.(*pretrained); ok {
		return []string{legacyPretrainedID}
	}
	return nil
}

func (*pretrained) ID() string         { return PretrainedID }
func (*pretrained) Dim() int           { return model.DescriptorSize }
func (*pretrained) Metric() Metric     { return Euclidean }
func (*pretrained) Threshold() float64 { return DefaultThreshold }

func (m *pretrained) Describe(ctx context.Context, chips []*tensor.Tensor) ([]Descriptor, error) {
	return describeAll(ctx, chips, m.ID(), &m.arenas, func(arena *tensor.Arena, chip *tensor.Tensor) ([]float32, error) {
		x, err := model.Preprocess(arena, chip)
		if err != nil {
			return nil, err
		}
		return m.net.Forward(arena, x).Data, nil
	})
}

// Backbone returns the pretrained network of a model loaded by
// LoadDescriptorModel (nil for a trained one): training a new head on its
// frozen features starts from it.
func Backbone(m DescriptorModel) *model.RecognitionNet {
	if p, ok := m.(*pretrained); ok {
		return p.net
	}
	return nil
}

// trained is a network from facerec train.
type trained struct {
	net    *model.EmbedNet
	id     string
	arenas arenaPool
}

func loadTrained(ctx context.Context, dir, path string, log io.Writer) (*trained, error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, fmt.Errorf("face: %w", err)
	}
	// A head on the pretrained network finds its backbone in dir, like
	// every other model file.
	backbone := func() (*model.RecognitionNet, error) {
		pm, err := LoadPretrained(ctx, dir, DescriptorDlib, log)
		if err != nil {
			return nil, err
		}
		return Backbone(pm), nil
	}
	net, err := model.LoadEmbedNet(path, backbone)
	if err != nil {
		return nil, err
	}
	// The weights' checksum is the file's: a retrained net is another model.
	id := fmt.Sprintf("%s-%dd/sha256:%s", net.Config.Kind, net.Config.Dim, sum[:16])
	return &trained{net: net, id: id}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (m *trained) ID() string     { return m.id }
func (m *trained) Dim() int       { return m.net.Config.Dim }
func (m *trained) Metric() Metric { return Euclidean }

// Threshold of a trained net is the pretrained model's default: checkpoints
// do not carry a measured threshold yet (facerec eval lfw --model finds one).
func (m *trained) Threshold() float64 { return DefaultThreshold }

func (m *trained) Describe(ctx context.Context, chips []*tensor.Tensor) ([]Descriptor, error) {
	return describeAll(ctx, chips, m.id, &m.arenas, func(arena *tensor.Arena, chip *tensor.Tensor) ([]float32, error) {
		img, err := photo.FromTensor(chip)
		if err != nil {
			return nil, err
		}
		out, err := m.net.Forward(arena, m.net.Input(img))
		if err != nil {
			return nil, err
		}
		return out.Data, nil
	})
}

// arenaPool hands out scratch arenas, one per goroutine at a time; the zero
// value is ready to use.
type arenaPool struct{ p sync.Pool }

func (a *arenaPool) get() *tensor.Arena {
	if t, ok := a.p.Get().(*tensor.Arena); ok {
		return t
	}
	return new(tensor.Arena)
}

// put resets t and returns it to the pool.
func (a *arenaPool) put(t *tensor.Arena) {
	t.Reset()
	a.p.Put(t)
}

// describeAll runs one network call per chip on all cores, each with a
// scratch arena from pool, and copies the results out of the arenas.
func describeAll(ctx context.Context, chips []*tensor.Tensor, id string, pool *arenaPool,
	describe func(*tensor.Arena, *tensor.Tensor) ([]float32, error)) ([]Descriptor, error) {
	out := make([]Descriptor, len(chips))
	errs := make([]error, len(chips))
	err := parallel.For(ctx, len(chips), 0, func(i int) {
		arena := pool.get()
		defer pool.put(arena)
		v, err := describe(arena, chips[i])
		if err != nil {
			errs[i] = fmt.Errorf("face: chip %d: %w", i, err)
			return
		}
		out[i] = Descriptor{Model: id, Vector: append([]float32(nil), v...)}
	})
	if err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// PretrainedDescriptor names the pretrained descriptor network (an
// Options.Descriptor value) whose ID, or a legacy name of it, is id; ""
// for any other model.
func PretrainedDescriptor(id string) string {
	switch {
	case id == MobileFaceNetID:
		return DescriptorMobileFaceNet
	case id == PretrainedID || id == legacyPretrainedID:
		return DescriptorDlib
	}
	return ""
}
