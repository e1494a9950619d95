package face

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Detector names a face detector.
type Detector string

const (
	// DetectorTiny is face-api's tiny_face_detector: fast (a few ms on a
	// small photo), good on faces that fill a fair part of the frame.
	DetectorTiny Detector = "tiny"
	// DetectorSSD is face-api's ssd_mobilenetv1: slower, finds more faces,
	// small ones included.
	DetectorSSD Detector = "ssd"
)

// Options configures a Pipeline. The zero value is usable: every zero field
// means the documented default.
type Options struct {
	// Detector is DetectorTiny (default) or DetectorSSD.
	Detector Detector
	// InputSize is the tiny detector's input side, a multiple of 32
	// (default 416). Larger finds smaller faces. A photo smaller than it
	// is not upscaled (unless Upscale): its first pass runs at its longer
	// side rounded up to a multiple of 32 and at least 256 (a 250×250
	// photo at 256, a 600×400 one at 416).
	InputSize int
	// CoarseInputSize is a second, coarser pass of the tiny detector that
	// adds the faces the first pass missed (those overlapping none of its
	// faces by IoU > 0.4): at 416 the tiny detector misses many faces that
	// fill a large part of the frame (a portrait, a selfie, a tight crop)
	// and finds them at 160. Where both passes see a face, the first pass's
	// box is kept: it fits the landmark net better. 0 means DefaultCoarseInputSize (off
	// when InputSize is not larger); negative turns the pass off. It does
	// not run where the first pass is not larger (a small photo). It costs
	// about a sixth of the first pass.
	CoarseInputSize int
	// Upscale runs the tiny detector's first pass at InputSize even over
	// a smaller photo, as face-api does. Upscaling adds no detail: it
	// finds only faces under about 40 pixels, too small to recognise,
	// and costs up to 2.6 times as much (a 250×250 photo at 416; see
	// docs/door.md#speed).
	Upscale bool
	// SmallFaceSize is the width, in image pixels, of the smallest face
	// the tiny detector looks for in a frame too large for its whole-frame
	// pass to see such a face: that frame is also searched at finer
	// scales, in overlapping tiles where a whole pass would be large
	// (docs/small-faces.md). Frames the whole-frame pass covers (up to 520
	// pixels on the longer side for the defaults; LFW's 250×250 images
	// among them) are not searched, and above 4K the smallest face grows
	// with the frame so that the cost stays that of a 4K frame. 0 means
	// DefaultSmallFaceSize; negative turns the search off (the whole-frame
	// passes alone). Subject searches only when the whole-frame pass finds
	// no face. It costs about 0.5 s of CPU for a 1920×1080 frame and 2 s
	// for 3840×2160.
	SmallFaceSize int
	// MinScore drops detections scoring below it (default 0.5).
	MinScore float64
	// MinFaceSize drops faces whose box is smaller than this many pixels on
	// its shorter side (default 0: keep all).
	MinFaceSize float64
	// FallbackScore: when no face scores MinScore, the tiny detector looks
	// again at smaller input sizes (big faces in tight crops), and if that
	// fails too, the single best detection scoring at least FallbackScore is
	// taken. 0 means DefaultFallbackScore; negative turns both off.
	FallbackScore float64
	// TinyLandmarks uses face_landmark_68_tiny instead of face_landmark_68.
	TinyLandmarks bool
	// Align is the crop for the descriptor: AlignDlib (default) or AlignFaceAPI.
	Align Alignment
	// Flip averages the descriptors of the chip and its mirror image.
	Flip bool
	// Jitter also averages the descriptors of this many randomly jittered
	// copies of the chip (dlib's num_jitters; dlib's own LFW figure of
	// 99.38% uses 100): each is rotated by up to 3°, zoomed by 1–4%,
	// shifted by up to 2% and mirrored half of the time. It costs one
	// descriptor per copy. The copies are the same for every face, so
	// results are reproducible. AlignDlib only.
	Jitter int
	// Model is a checkpoint from facerec train to use instead of the
	// pretrained descriptor network ("" means the pretrained one).
	Model string
	// Descriptor picks the pretrained descriptor network:
	// DescriptorMobileFaceNet (default: 512-d, on ArcFace chips) or
	// DescriptorDlib (dlib's ResNet, 128-d). Ignored when Model is set.
	// MobileFaceNet is the default for the door: on LFW's open-set
	// protocol it lets in the right person on 91.9% of attempts where
	// dlib's does on 60.8%, both letting in 1% of strangers
	// (docs/door.md).
	Descriptor string
	// SinglePass skips the second landmark pass of AlignDlib (see
	// refineBox). AlignFaceAPI always makes one pass, as face-api does.
	SinglePass bool
	// MaxShapeError drops a face whose landmarks do not have a face's
	// shape (see ShapeError): a detection on something else (a pair of
	// glasses), or a box so loose that the landmark net shrinks the face
	// onto one eye. Its chip would be a close-up of skin, and its
	// descriptor would match nobody, or worse. Subject then tries the
	// next candidate, including other boxes around the same face.
	// 0 means DefaultMaxShapeError; negative turns the check off.
	MaxShapeError float64
}

// DefaultMaxShapeError is the largest landmark shape error of a face. On
// the 4,500 LFW View 1 images no face Subject picks comes above 0.13
// (median 0.035). Of the 7,701 View 2 images two did before the check, and
// both were failures: a detection on a pair of glasses beside the face
// (Jiang_Zemin_0007, 0.30), and a loose coarse box around a tilted head
// whose landmarks shrank onto one eye (George_HW_Bush_0002, 0.18).
const DefaultMaxShapeError = 0.15

// DefaultCoarseInputSize is the tiny detector's second, coarse input size.
const DefaultCoarseInputSize = 160

// DefaultFallbackScore is the lowest detector score accepted when nothing
// scores MinScore.
const DefaultFallbackScore = 0.2

// DefaultOptions is the zero Options with every default filled in, but
// CoarseInputSize and Align, whose defaults follow InputSize and
// Descriptor: the values a command line shows as its flags' defaults.
func DefaultOptions() Options {
	o, err := Options{}.withDefaults()
	if err != nil {
		panic(err) // the zero value is valid by construction
	}
	o.CoarseInputSize = 0
	o.Align = "" // follows Descriptor
	return o
}

func (o Options) withDefaults() (Options, error) {
	if o.Detector == "" {
		o.Detector = DetectorTiny
	}
	if o.Detector != DetectorTiny && o.Detector != DetectorSSD {
		return o, fmt.Errorf("face: unknown detector %q (want tiny or ssd)", o.Detector)
	}
	if o.InputSize == 0 {
		o.InputSize = model.DefaultTinyInputSize
	}
	if o.InputSize%32 != 0 || o.InputSize < 32 {
		return o, fmt.Errorf("face: detector input size %d is not a positive multiple of 32", o.InputSize)
	}
	if o.CoarseInputSize == 0 {
		o.CoarseInputSize = DefaultCoarseInputSize
		if o.InputSize <= DefaultCoarseInputSize {
			o.CoarseInputSize = -1 // the first pass is already coarse
		}
	}
	if o.CoarseInputSize > 0 && (o.CoarseInputSize%32 != 0 || o.CoarseInputSize >= o.InputSize) {
		return o, fmt.Errorf("face: coarse detector input size %d is not a multiple of 32 below the input size %d", o.CoarseInputSize, o.InputSize)
	}
	if o.SmallFaceSize == 0 {
		o.SmallFaceSize = DefaultSmallFaceSize
	}
	if o.SmallFaceSize > 0 && o.SmallFaceSize < 16 {
		return o, fmt.Errorf("face: small face size %d below 16 pixels (its tiles would be too many)", o.SmallFaceSize)
	}
	if o.MinScore == 0 {
		o.MinScore = 0.5
	}
	if o.FallbackScore == 0 {
		o.FallbackScore = DefaultFallbackScore
	}
	if o.MaxShapeError == 0 {
		o.MaxShapeError = DefaultMaxShapeError
	}
	switch o.Descriptor {
	case "":
		o.Descriptor = DescriptorMobileFaceNet
	case DescriptorDlib, DescriptorMobileFaceNet:
	default:
		return o, fmt.Errorf("face: unknown descriptor %q (want %s or %s)", o.Descriptor, DescriptorDlib, DescriptorMobileFaceNet)
	}
	if o.Align == "" {
		o.Align = AlignDlib
		if o.Descriptor == DescriptorMobileFaceNet && o.Model == "" {
			o.Align = AlignArcFace // the crop it was trained on
		}
	}
	if _, err := parseAlignment(string(o.Align)); err != nil {
		return o, err
	}
	if o.Jitter < 0 || o.Jitter > 1000 {
		return o, fmt.Errorf("face: jitter %d outside 0..1000", o.Jitter)
	}
	if o.Jitter > 0 && o.Align == AlignFaceAPI {
		return o, fmt.Errorf("face: jitter needs an aligned square chip (dlib or arcface alignment)")
	}
	return o, nil
}

// Rect is a box in image pixels: X, Y the top-left corner.
type Rect = model.Rect

// Point is a position in image pixels.
type Point = model.Point

// NumLandmarks is how many landmarks a face has (the iBUG 68-point layout).
const NumLandmarks = model.NumLandmarks

// Face is one face found in a photo.
type Face struct {
	Box       Rect    // in image pixels
	Score     float64 // detector confidence in (0, 1)
	Landmarks [NumLandmarks]Point
	// Descriptor is empty for a face from Detect or DetectSubject.
	Descriptor Descriptor
}

// Errors of the face-choice policy (Subject).
var (
	ErrNoFace = errors.New("no face found")
	// ErrAmbiguous is wrapped by an *AmbiguousError.
	ErrAmbiguous = errors.New("several faces, none clearly the subject")
)

// Pipeline finds every face in a photo and computes its descriptor:
// detect → 68 landmarks → align → describe. It is safe for concurrent use.
type Pipeline struct {
	opt    Options
	det    detector
	marks  *model.LandmarkNet
	desc   DescriptorModel
	arenas *arenaPool // scratch memory, shared with WithJitter's copies
}

// detector is a face detector run at an input size (the tiny detector) or
// at its own fixed size (SSD, which ignores size).
type detector interface {
	detect(arena *tensor.Arena, img *tensor.Tensor, size int, minScore float64) ([]model.Detection, error)
	// multiScale reports whether size means anything: only then are the
	// coarse pass, the retry tiers and the centre search run.
	multiScale() bool
}

type tinyDetector struct{ *model.TinyFaceDetector }

func (d tinyDetector) detect(arena *tensor.Arena, img *tensor.Tensor, size int, minScore float64) ([]model.Detection, error) {
	return d.Detect(arena, img, model.TinyOptions{InputSize: size, ScoreThreshold: minScore})
}
func (tinyDetector) multiScale() bool { return true }

type ssdDetector struct{ *model.SSDMobilenetV1 }

func (d ssdDetector) detect(arena *tensor.Arena, img *tensor.Tensor, _ int, minScore float64) ([]model.Detection, error) {
	return d.Detect(arena, img, model.SSDOptions{MinConfidence: minScore})
}
func (ssdDetector) multiScale() bool { return false }

// Load builds a pipeline from the models in dir (see registry.Dir),
// pulling the ones it uses first if they are missing or damaged; progress
// goes to log (may be nil). The descriptor model is opt.Model's checkpoint,
// or the pretrained network.
func Load(ctx context.Context, dir string, opt Options, log io.Writer) (*Pipeline, error) {
	var desc DescriptorModel
	if opt.Model != "" {
		t, err := loadTrained(ctx, dir, opt.Model, log)
		if err != nil {
			return nil, err
		}
		// A trained net reads the crop it was trained on unless told
		// otherwise: a net trained on ArcFace chips scored on dlib's
		// loses tens of points.
		if opt.Align == "" {
			opt.Align = TrainedAlignment(t.net.Config)
		}
		desc = t
	}
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := registry.Ensure(ctx, dir, log, opt.manifests()...); err != nil {
		return nil, err
	}
	p := &Pipeline{opt: opt, arenas: new(arenaPool), desc: desc}
	// The Ensure above checked the descriptor's files too (manifests).
	if desc == nil {
		if p.desc, err = opt.loadDescriptor(dir); err != nil {
			return nil, err
		}
	}
	load := func(m registry.Manifest) (model.Weights, error) { return model.LoadWeights(dir, m.Weights) }
	if opt.Detector == DetectorTiny {
		w, err := load(registry.TinyFaceDetector)
		if err != nil {
			return nil, err
		}
		d, err := model.NewTinyFaceDetector(w)
		if err != nil {
			return nil, err
		}
		p.det = tinyDetector{d}
	} else {
		w, err := load(registry.SSDMobilenetV1)
		if err != nil {
			return nil, err
		}
		d, err := model.NewSSDMobilenetV1(w)
		if err != nil {
			return nil, err
		}
		p.det = ssdDetector{d}
	}
	w, err := load(opt.landmarks())
	if err != nil {
		return nil, err
	}
	if p.marks, err = model.NewLandmarkNet(w); err != nil {
		return nil, err
	}
	return p, nil
}

// manifests lists the models a pipeline with these options loads, so that
// Load fetches and checks those alone. With Model set, the checkpoint's
// network says itself whether it needs the pretrained one (a head on it).
func (o Options) manifests() []registry.Manifest {
	detector := registry.SSDMobilenetV1
	if o.Detector == DetectorTiny {
		detector = registry.TinyFaceDetector
	}
	ms := []registry.Manifest{detector, o.landmarks()}
	switch {
	case o.Model != "":
		// A checkpoint's model says itself whether it needs the pretrained one.
	default:
		ms = append(ms, o.descriptorManifest())
	}
	return ms
}

// descriptorManifest is the model file set of the pretrained descriptor
// network o.Descriptor names (o with defaults filled in).
func (o Options) descriptorManifest() registry.Manifest {
	if o.Descriptor == DescriptorMobileFaceNet {
		return registry.FRFeature
	}
	return registry.FaceRecognition
}

// loadDescriptor loads the pretrained descriptor network o.Descriptor
// names from dir, whose files the caller has checked.
func (o Options) loadDescriptor(dir string) (DescriptorModel, error) {
	if o.Descriptor == DescriptorMobileFaceNet {
		return loadMobileFaceNet(dir)
	}
	return loadPretrained(dir)
}

// landmarks is the landmark network the options select.
func (o Options) landmarks() registry.Manifest {
	if o.TinyLandmarks {
		return registry.Landmark68Tiny
	}
	return registry.Landmark68
}

// Options returns the pipeline's options with defaults filled in.
func (p *Pipeline) Options() Options { return p.opt }

// DefaultEnrollJitter is how many jittered copies a gallery photo's
// descriptor averages by default on dlib's chips (see WithJitter). On LFW
// View 1, plain descriptors matched against descriptors with 10 copies
// get 29 pairs of 3,200 wrong at DefaultThreshold, against 34 with plain
// descriptors on both sides; 30 copies do no better (docs/lfw.md).
const DefaultEnrollJitter = 10

// AutoEnrollJitter asks ForEnrolment for the copies that pay for the
// pipeline's descriptor: DefaultEnrollJitter for dlib's ResNet and a
// trained checkpoint, none for MobileFaceNet. On LFW's open-set protocol
// (docs/door.md) the copies raise dlib's right-person rate at 1% of
// strangers by 3.6 points and lower MobileFaceNet's by 1.0.
const AutoEnrollJitter = -1

// enrollJitter is AutoEnrollJitter's number for these options.
func (o Options) enrollJitter() int {
	if o.Model == "" && o.Descriptor == DescriptorMobileFaceNet {
		return 0
	}
	return DefaultEnrollJitter
}

// WithJitter returns a pipeline that shares p's networks but averages n
// jittered copies of each face into its descriptor (see Options.Jitter).
// It is meant for enrolment: a gallery descriptor is computed once, so it
// can afford the copies, and matching it against a plain descriptor at the
// door keeps most of their gain (LFW View 1, docs/lfw.md).
func (p *Pipeline) WithJitter(n int) (*Pipeline, error) {
	q := *p
	q.opt.Jitter = n
	var err error
	if q.opt, err = q.opt.withDefaults(); err != nil {
		return nil, err
	}
	return &q, nil
}

// ForEnrolment returns the pipeline for enrolment photos: p with n
// jittered copies (WithJitter; AutoEnrollJitter: the descriptor's
// default), or p itself when it already averages as many, or uses
// face-api's crop, which has no jitter.
func (p *Pipeline) ForEnrolment(n int) (*Pipeline, error) {
	if n < 0 {
		n = p.opt.enrollJitter()
	}
	if n <= p.opt.Jitter || p.opt.Align == AlignFaceAPI {
		return p, nil
	}
	return p.WithJitter(n)
}

// Model returns the descriptor model the pipeline describes faces with.
func (p *Pipeline) Model() DescriptorModel { return p.desc }

// detect runs the detector at a tiny-detector input size with a minimum
// score, dropping faces under MinFaceSize.
//
// Each network pass returns plain values (boxes, points, descriptors) and
// resets the arena when done: a labelled photo can take a dozen detector
// passes, and an arena sized for all of them at once would be kept, that
// large, by every pooled arena (the server's memory grew by hundreds of
// megabytes this way).
func (p *Pipeline) detect(arena *tensor.Arena, img *tensor.Tensor, size int, minScore float64) ([]model.Detection, error) {
	defer arena.Reset()
	dets, err := p.det.detect(arena, img, size, minScore)
	if err != nil || p.opt.MinFaceSize <= 0 {
		return dets, err
	}
	return slices.DeleteFunc(dets, func(d model.Detection) bool {
		return math.Min(d.Box.W, d.Box.H) < p.opt.MinFaceSize
	}), nil
}

// retryTiers are the smaller tiny-detector inputs tried, tier by tier, when
// nothing is found: a face filling much of a tight crop (LFW's 250×250
// images, a selfie) is seen better at a coarser scale. A tier's sizes are
// tried at MinScore, then the tier's best detection at FallbackScore is
// taken, before the next, coarser tier: the coarser the input, the looser
// the box and the worse the landmarks placed from it. The last tier finds
// LFW's George_HW_Bush_0006 (a washed-out video still), the one LFW image
// the others miss.
var retryTiers = [][]int{{320, 224, 160}, {128, 96}}

// mergeIoU is the overlap above which two detections of different passes
// are the same face (the tiny detector's own NMS threshold).
const mergeIoU = 0.4

// detectWithRetry is the detection policy: the configured detector first.
// When it finds faces, the tiny detector's coarse pass adds the faces it
// finds that overlap none of them by IoU > mergeIoU (the first pass's boxes
// fit the landmark net better, so they are kept where both passes see a
// face). A coarse box that overlaps a first-pass box less is kept as well:
// at 416 the detector sometimes draws a large, misplaced box around a face
// that the coarse pass places right, and then both are offered. When it finds
// nothing and the fallback is on, the tiny detector looks again at smaller
// input sizes, tier by tier (see retryTiers), each tier ending with its
// single best detection scoring FallbackScore. It never invents a box:
// every face comes from a detector.
//
// In a large frame the small-face search (detectSmall) adds the faces the
// whole-frame passes are too coarse to see, before any retry: always for
// every face of a photo (Faces, Detect), and for a labelled photo's
// subject (onlyIfNone) only when the first pass finds nothing, so that a
// small bystander near the centre never displaces the subject the
// whole-frame passes found.
func (p *Pipeline) detectWithRetry(ctx context.Context, arena *tensor.Arena, img *tensor.Tensor, onlyIfNone bool) ([]model.Detection, error) {
	first := p.firstPassSize(img)
	dets, err := p.detect(arena, img, first, p.opt.MinScore)
	if err != nil {
		return nil, err
	}
	var small []model.Detection
	if len(dets) == 0 || !onlyIfNone {
		if small, err = p.detectSmall(ctx, img); err != nil {
			return nil, err
		}
	}
	if len(dets) > 0 || len(small) > 0 {
		if p.det.multiScale() && p.opt.CoarseInputSize > 0 && p.opt.CoarseInputSize < first {
			coarse, err := p.detect(arena, img, p.opt.CoarseInputSize, p.opt.MinScore)
			if err != nil {
				return nil, err
			}
			dets = addNew(dets, coarse)
		}
		// The whole-frame boxes are kept where the search sees the same
		// face: the search is for the faces they miss.
		dets = addNew(dets, small)
		slices.SortStableFunc(dets, func(a, b model.Detection) int { return cmp.Compare(b.Score, a.Score) })
		return dets, nil
	}
	if p.opt.FallbackScore <= 0 || p.opt.FallbackScore >= p.opt.MinScore {
		return nil, nil
	}
	tiers := [][]int{{p.opt.InputSize}}
	if p.det.multiScale() {
		tiers[0] = append(tiers[0], smallerThan(retryTiers[0], p.opt.InputSize)...)
		tiers = append(tiers, smallerThan(retryTiers[1], p.opt.InputSize))
	}
	for _, sizes := range tiers {
		// A small photo's first pass ran below InputSize: the retry
		// looks at InputSize too, for its smallest faces.
		for _, s := range sizes {
			if s == first {
				continue // done above
			}
			if dets, err = p.detect(arena, img, s, p.opt.MinScore); err != nil || len(dets) > 0 {
				return dets, err
			}
		}
		var best []model.Detection
		for _, s := range sizes {
			dets, err := p.detect(arena, img, s, p.opt.FallbackScore)
			if err != nil {
				return nil, err
			}
			if len(dets) > 0 && (best == nil || dets[0].Score > best[0].Score) {
				best = dets[:1]
			}
		}
		if best != nil {
			return best, nil
		}
	}
	return nil, nil
}

// addNew appends to dets the detections of more that overlap none of
// dets by IoU > mergeIoU.
func addNew(dets, more []model.Detection) []model.Detection {
	n := len(dets)
	for _, c := range more {
		if !slices.ContainsFunc(dets[:n], func(d model.Detection) bool { return model.IoU(c.Box, d.Box) > mergeIoU }) {
			dets = append(dets, c)
		}
	}
	return dets
}

// minFirstPass is the smallest input the first pass over a small photo
// gets: below it the tiny detector's grid (8×8 at 256) is too coarse to
// place a box well; AT&T's 92×112 photos at 128 gave looser chips.
const minFirstPass = 256

// firstPassSize is the tiny detector's input size for the first pass over
// img: InputSize, or for a smaller photo (without Upscale) its longer side
// rounded up to a multiple of 32, at least minFirstPass.
func (p *Pipeline) firstPassSize(img *tensor.Tensor) int {
	if p.opt.Upscale {
		return p.opt.InputSize
	}
	return min(p.opt.InputSize, max(minFirstPass, roundUp32(float64(max(img.Shape[0], img.Shape[1])))))
}

// smallerThan returns the sizes below limit.
func smallerThan(sizes []int, limit int) []int {
	return slices.DeleteFunc(slices.Clone(sizes), func(s int) bool { return s >= limit })
}

// Detect finds the faces in img with their landmarks, without
// descriptors, ordered by descending detector score.
func (p *Pipeline) Detect(ctx context.Context, img image.Image) ([]Face, error) {
	return withImage(ctx, p, img, func(arena *tensor.Arena, t *tensor.Tensor) ([]Face, error) {
		return p.detectFaces(ctx, arena, t)
	})
}

// Faces finds every face in img and computes its descriptor: the policy
// for a photo at the door, where every face counts. Faces are ordered by
// descending detector score; an image without a face gives an empty slice
// and no error. Cancelling ctx stops the work between two networks.
func (p *Pipeline) Faces(ctx context.Context, img image.Image) ([]Face, error) {
	return withImage(ctx, p, img, func(arena *tensor.Arena, t *tensor.Tensor) ([]Face, error) {
		faces, err := p.detectFaces(ctx, arena, t)
		if err != nil {
			return nil, err
		}
		for i := range faces {
			if faces[i].Descriptor, err = p.describe(ctx, arena, t, &faces[i]); err != nil {
				return nil, err
			}
		}
		return faces, nil
	})
}

// Describe computes the descriptor of a face already found in img (by
// this pipeline or another with the same detector and landmarks): a second
// descriptor model describes the faces of the first without detecting
// them again.
func (p *Pipeline) Describe(ctx context.Context, img image.Image, f Face) (Descriptor, error) {
	return withImage(ctx, p, img, func(arena *tensor.Arena, t *tensor.Tensor) (Descriptor, error) {
		return p.describe(ctx, arena, t, &f)
	})
}

// withImage converts img to the networks' tensor and calls fn with a
// scratch arena; what fn returns must hold no memory of the arena.
func withImage[T any](ctx context.Context, p *Pipeline, img image.Image, fn func(*tensor.Arena, *tensor.Tensor) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	t, err := imageTensor(img)
	if err != nil {
		return zero, err
	}
	arena := p.arenas.get()
	defer p.arenas.put(arena)
	return fn(arena, t)
}

// imageTensor is img as the networks read it: [H, W, 3] RGB 0..255.
func imageTensor(img image.Image) (*tensor.Tensor, error) {
	if img == nil {
		return nil, errors.New("face: nil image")
	}
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return nil, fmt.Errorf("face: empty image (%d×%d)", b.Dx(), b.Dy())
	}
	return photo.ImageTensor(img), nil
}

func (p *Pipeline) detectFaces(ctx context.Context, arena *tensor.Arena, img *tensor.Tensor) ([]Face, error) {
	dets, err := p.detectWithRetry(ctx, arena, img, false)
	if err != nil {
		return nil, err
	}
	faces := make([]Face, 0, len(dets))
	for _, d := range dets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, ok, err := p.landmarks(arena, img, d)
		if err != nil {
			return nil, err
		}
		if ok {
			faces = append(faces, f)
		}
	}
	slices.SortStableFunc(faces, func(a, b Face) int { return cmp.Compare(b.Score, a.Score) })
	return faces, nil
}

// landmarks places the 68 points of a detected face; ok is false when
// they do not have a face's shape (see Options.MaxShapeError).
func (p *Pipeline) landmarks(arena *tensor.Arena, img *tensor.Tensor, d model.Detection) (f Face, ok bool, err error) {
	defer arena.Reset() // see detect
	f = Face{Box: d.Box, Score: d.Score}
	if f.Landmarks, err = p.marks.Landmarks(arena, img, d.Box); err != nil {
		return f, false, err
	}
	if p.opt.Align != AlignFaceAPI && !p.opt.SinglePass {
		if f.Landmarks, err = p.marks.Landmarks(arena, img, refineBox(&f.Landmarks)); err != nil {
			return f, false, err
		}
	}
	return f, p.opt.MaxShapeError < 0 || ShapeError(&f.Landmarks) <= p.opt.MaxShapeError, nil
}

// Subject is the face-choice policy for a labelled photo, one that is
// meant to show one person: an enrolment photo, a photo to verify, an
// evaluation or training image. It returns that person's face with its
// descriptor.
//
// The subject is the face nearest the centre of the image: labelled photos
// (LFW, ID photos, portraits) centre their subject, and a bystander can
// score higher, be larger, or be the only face the detector finds. So when
// no face found covers the centre, the tiny detector looks again at every
// input size, at MinScore and then at FallbackScore (when the fallback is
// on), for one that does. A candidate whose landmarks do not have a face's
// shape (Options.MaxShapeError) is passed over for the next nearest, or
// another box covering the centre.
//
// With no face it returns ErrNoFace. When another face of the photo could
// as well be the subject (see Rivals) it returns the subject together with
// an *AmbiguousError: an enrolment should refuse the photo (enrolling the
// wrong one of two people is worse than asking for another photo), while
// an evaluation protocol, which must take a face, can ignore the error.
func (p *Pipeline) Subject(ctx context.Context, img image.Image) (Face, error) {
	return p.subjectOf(ctx, img, true)
}

// DetectSubject is Subject without the descriptor: the face and its
// landmarks, for callers that only cut the chip (training data).
func (p *Pipeline) DetectSubject(ctx context.Context, img image.Image) (Face, error) {
	return p.subjectOf(ctx, img, false)
}

func (p *Pipeline) subjectOf(ctx context.Context, img image.Image, describe bool) (Face, error) {
	return withImage(ctx, p, img, func(arena *tensor.Arena, t *tensor.Tensor) (Face, error) {
		return p.subject(ctx, arena, t, describe)
	})
}

// AmbiguousError is Subject's answer for a photo in which more than one
// face could be the subject: the caller may ask the user to pick one.
type AmbiguousError struct {
	Subject Rect   // the face Subject chose
	Rivals  []Rect // the other faces that could be it
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%v: %d faces could be the subject", ErrAmbiguous, 1+len(e.Rivals))
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// DominanceRatio is how much larger (in box area) the subject must be than
// another face for that face not to count as a rival when the subject does
// not stand alone at the centre: a crowd far behind them is fine, two
// people side by side are not.
const DominanceRatio = 4

// Rivals returns the boxes among others (detections in a w×h photo, the
// subject's own box among them or not) that could as well be the subject:
// a face as large as it, or at least 1/DominanceRatio of its area unless
// the subject covers the centre of the photo and that face does not. Boxes
// overlapping the subject by IoU > 0.4 are the subject itself.
func Rivals(subject Rect, others []Face, w, h float64) []Rect {
	cx, cy := w/2, h/2
	central := covers(subject, cx, cy)
	var out []Rect
	for _, o := range others {
		if model.IoU(o.Box, subject) > mergeIoU {
			continue
		}
		a, s := o.Box.Area(), subject.Area()
		if a >= s || (a*DominanceRatio >= s && (!central || covers(o.Box, cx, cy))) {
			out = append(out, o.Box)
		}
	}
	return out
}

// subject finds the subject of img, with Subject's errors; the faces the
// first detection found are the ones Rivals weighs it against.
func (p *Pipeline) subject(ctx context.Context, arena *tensor.Arena, img *tensor.Tensor, describe bool) (Face, error) {
	w, h := float64(img.Shape[1]), float64(img.Shape[0])
	cx, cy := w/2, h/2
	dets, err := p.detectWithRetry(ctx, arena, img, true)
	if err != nil {
		return Face{}, err
	}
	// The faces the detection found, for Rivals: dets shrinks below.
	all := make([]Face, len(dets))
	for i, d := range dets {
		all[i] = Face{Box: d.Box, Score: d.Score}
	}
	// A candidate whose landmarks have no face's shape is passed over for
	// the next nearest; a few tries are plenty (LFW needs at most two).
	var rejected []model.Rect
	for range maxSubjectTries {
		if err := ctx.Err(); err != nil {
			return Face{}, err
		}
		best, found := centreMost(dets, cx, cy)
		// Search when the nearest face misses the centre, or when every
		// face found was rejected (never when there was none at all).
		if found && !covers(best.Box, cx, cy) || !found && rejected != nil {
			c, ok, err := p.searchCentre(arena, img, cx, cy, rejected)
			if err != nil {
				return Face{}, err
			}
			if ok {
				best, found = c, true
			}
		}
		if !found {
			return Face{}, ErrNoFace
		}
		f, ok, err := p.landmarks(arena, img, best)
		if err != nil {
			return Face{}, err
		}
		if !ok {
			rejected = append(rejected, best.Box)
			dets = slices.DeleteFunc(dets, func(d model.Detection) bool { return d.Box == best.Box })
			continue
		}
		if describe {
			if f.Descriptor, err = p.describe(ctx, arena, img, &f); err != nil {
				return Face{}, err
			}
		}
		if rivals := Rivals(f.Box, all, w, h); len(rivals) > 0 {
			return f, &AmbiguousError{Subject: f.Box, Rivals: rivals}
		}
		return f, nil
	}
	return Face{}, ErrNoFace
}

// maxSubjectTries bounds the candidates Subject places landmarks on.
const maxSubjectTries = 3

// sameBoxIoU is the overlap above which searchCentre takes a box for one
// it was told to skip. It is high on purpose: another, tighter box around
// the same face can give good landmarks where a loose one failed.
const sameBoxIoU = 0.9

// searchCentre runs the tiny detector at every input size, at MinScore and
// then at FallbackScore, for the face nearest (cx, cy) among those covering
// it, other than the boxes in skip; ok is false when none does (or the
// detector is SSD).
func (p *Pipeline) searchCentre(arena *tensor.Arena, img *tensor.Tensor, cx, cy float64, skip []model.Rect) (best model.Detection, ok bool, err error) {
	if !p.det.multiScale() {
		return best, false, nil
	}
	scores := []float64{p.opt.MinScore}
	if p.opt.FallbackScore > 0 && p.opt.FallbackScore < p.opt.MinScore {
		scores = append(scores, p.opt.FallbackScore)
	}
	sizes := slices.Compact(slices.Sorted(slices.Values(slices.Concat([]int{p.opt.InputSize, p.opt.CoarseInputSize}, slices.Concat(retryTiers...)))))
	sizes = slices.DeleteFunc(sizes, func(s int) bool { return s <= 0 || s > p.opt.InputSize })
	for _, score := range scores {
		var all []model.Detection
		for _, size := range sizes {
			d, err := p.detect(arena, img, size, score)
			if err != nil {
				return best, false, err
			}
			all = append(all, d...)
		}
		all = slices.DeleteFunc(all, func(d model.Detection) bool {
			return !covers(d.Box, cx, cy) || slices.ContainsFunc(skip, func(r model.Rect) bool { return model.IoU(d.Box, r) > sameBoxIoU })
		})
		if best, ok = centreMost(model.NMS(all, mergeIoU, 0), cx, cy); ok {
			return best, true, nil
		}
	}
	return best, false, nil
}

// centreMost is the detection whose box centre is nearest (cx, cy).
func centreMost(dets []model.Detection, cx, cy float64) (model.Detection, bool) {
	var best model.Detection
	bestD := math.Inf(1)
	for _, d := range dets {
		if dist := math.Hypot(d.Box.X+d.Box.W/2-cx, d.Box.Y+d.Box.H/2-cy); dist < bestD {
			best, bestD = d, dist
		}
	}
	return best, len(dets) > 0
}

// covers reports whether the box contains the point (x, y).
func covers(b model.Rect, x, y float64) bool {
	return b.X < x && x < b.Right() && b.Y < y && y < b.Bottom()
}

// Chip returns the crop the descriptor network sees for a face found in
// img: the dlib-aligned 150×150 chip, or face-api's axis-aligned crop, as
// an [H, W, 3] tensor of RGB values 0..255 (training caches them).
func (p *Pipeline) Chip(img image.Image, f *Face) (*tensor.Tensor, error) {
	t, err := imageTensor(img)
	if err != nil {
		return nil, err
	}
	return p.chip(nil, t, f)
}

func (p *Pipeline) chip(arena *tensor.Arena, img *tensor.Tensor, f *Face) (*tensor.Tensor, error) {
	switch p.opt.Align {
	case AlignDlib:
		return alignedChip(arena, img, &f.Landmarks), nil
	case AlignArcFace:
		return arcFaceChip(arena, img, &f.Landmarks), nil
	}
	r, err := faceAPICropRect(&f.Landmarks, f.Box, img.Shape[1], img.Shape[0])
	if err != nil {
		return nil, err
	}
	return sliceHWC(arena, img, r), nil
}

// describe computes a face's descriptor, averaged with the mirror image's
// (Flip) and the jittered copies' (Jitter).
func (p *Pipeline) describe(ctx context.Context, arena *tensor.Arena, img *tensor.Tensor, f *Face) (Descriptor, error) {
	defer arena.Reset() // see detect
	chip, err := p.chip(arena, img, f)
	if err != nil {
		return Descriptor{}, err
	}
	views := []*tensor.Tensor{chip}
	if p.opt.Flip {
		views = append(views, flip(arena, chip))
	}
	rng := rand.New(rand.NewPCG(1, 0x7177e2))
	for range p.opt.Jitter {
		views = append(views, jitterChip(arena, chip, rng))
	}
	// The views are described on all cores (a lone `verify --jitter`
	// would otherwise use one), then summed in float64 in a fixed order, so
	// the result does not depend on the scheduling.
	ds, err := p.desc.Describe(ctx, views)
	if err != nil {
		return Descriptor{}, err
	}
	if len(ds) == 1 {
		return ds[0], nil
	}
	sum := make([]float64, len(ds[0].Vector))
	for _, e := range ds {
		for i, v := range e.Vector {
			sum[i] += float64(v)
		}
	}
	d := ds[0]
	for i := range d.Vector {
		d.Vector[i] = float32(sum[i] / float64(len(ds)))
	}
	if p.desc.Metric() == Cosine {
		unit(d.Vector) // the mean of unit vectors is shorter
	}
	return d, nil
}

// refineBox is the square around a first set of landmarks, 1.1 times their
// extent, centred on them. The landmark net is sensitive to where the face
// sits in its input; a detector box can be off-centre or loose, and a
// second pass on this box gives steadier points. On LFW View 1 it raised
// the accuracy of dlib alignment from 98.25% to about 98.6% (3,200 pairs).
func refineBox(pts *[model.NumLandmarks]model.Point) model.Rect {
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, minY = math.Min(minX, p.X), math.Min(minY, p.Y)
		maxX, maxY = math.Max(maxX, p.X), math.Max(maxY, p.Y)
	}
	side := 1.1 * math.Max(maxX-minX, maxY-minY)
	cx, cy := (minX+maxX)/2, (minY+maxY)/2
	return model.Rect{X: cx - side/2, Y: cy - side/2, W: side, H: side}
}
