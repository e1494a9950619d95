// Package analysis describes a face the pipeline found, beyond who it is:
// a liveness (anti-spoofing) score, age, gender, expression, head pose,
// eyes open or closed, and the photo's quality for recognition with the
// reasons it is poor.
//
// It is a stage after face.Pipeline: it takes the image and a face.Face
// (box and 68 landmarks) the pipeline found in it, never tensors, and
// stores nothing. The networks are the optional models of
// faceplugin-face-recognition-js 0.0.1 (model/registry.Analysis), run on
// facerec's engine through model/onnx with the package's preprocessing
// (see crop.go); pose and the quality measures come from the landmarks
// and the pixels alone.
//
// What the numbers are worth is in docs/security.md ("Liveness limits")
// and docs/analysis.md: the liveness network has been tested only on
// simulated attacks made here, and the age and gender networks are
// unmeasured on any labelled data.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"sync"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/onnx"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Options chooses the networks an Analyzer loads; quality and pose need
// none. The zero value loads none (quality and pose only); All loads
// every network.
type Options struct {
	Liveness   bool // fr_liveness
	AgeGender  bool // fr_age and fr_gender
	Expression bool // fr_expression (28 MB, about 80 ms a face on one thread)
	Eyes       bool // fr_eye
	Pose       bool // fr_pose (Result.PoseModel; Result.Pose comes from the landmarks)
	// Quality holds the thresholds of the quality reasons; zero fields
	// take DefaultQuality's.
	Quality QualityThresholds
}

// All is Options with every network.
func All() Options {
	return Options{Liveness: true, AgeGender: true, Expression: true, Eyes: true, Pose: true}
}

// Analyzer runs the analysis networks. It is safe for concurrent use.
type Analyzer struct {
	opt                                       Options
	live, age, gender, expr, eyesNet, poseNet *onnx.Net
	arenas                                    sync.Pool
}

// Load loads the networks opt names from the model directory dir,
// fetching the missing ones first (progress to log, which may be nil).
func Load(ctx context.Context, dir string, opt Options, log io.Writer) (*Analyzer, error) {
	a := &Analyzer{opt: opt}
	a.opt.Quality = opt.Quality.WithDefaults()
	type want struct {
		on  bool
		m   registry.Manifest
		dst **onnx.Net
	}
	wants := []want{
		{opt.Liveness, registry.FRLiveness, &a.live},
		{opt.AgeGender, registry.FRAge, &a.age},
		{opt.AgeGender, registry.FRGender, &a.gender},
		{opt.Expression, registry.FRExpression, &a.expr},
		{opt.Eyes, registry.FREye, &a.eyesNet},
		{opt.Pose, registry.FRPose, &a.poseNet},
	}
	var ms []registry.Manifest
	for _, w := range wants {
		if w.on {
			ms = append(ms, w.m)
		}
	}
	if len(ms) > 0 {
		if err := registry.Ensure(ctx, dir, log, ms...); err != nil {
			return nil, fmt.Errorf("analysis: %w", err)
		}
	}
	for _, w := range wants {
		if !w.on {
			continue
		}
		net, err := onnx.Load(w.m.Path(dir, w.m.Files[0].Name))
		if err != nil {
			return nil, fmt.Errorf("analysis: %w", err)
		}
		*w.dst = net
	}
	return a, a.check()
}

// check refuses files whose shapes are not the networks this package
// decodes (the manifests' checksums make that a programming error, but a
// clear one).
func (a *Analyzer) check() error {
	for _, c := range []struct {
		net        *onnx.Net
		name       string
		ch, size   int
		outs, lens int
	}{
		{a.live, "fr_liveness", 3, liveSize, 1, 3},
		{a.age, "fr_age", 3, ageSize, 9, 3},
		{a.gender, "fr_gender", 3, ageSize, 9, 3},
		{a.expr, "fr_expression", 3, exprSize, 1, len(Expressions)},
		{a.eyesNet, "fr_eye", 1, eyeSize, 1, 2},
		{a.poseNet, "fr_pose", 3, poseSize, 3, poseBins},
	} {
		if c.net == nil {
			continue
		}
		ch, h, w := c.net.InputSize()
		if ch != c.ch || h != c.size || w != c.size || len(c.net.Outputs()) != c.outs || c.net.OutputLen() != c.lens {
			return fmt.Errorf("analysis: %s reads %d×%d×%d and has outputs %v; want %d×%d×%d", c.name, ch, h, w, c.net.Outputs(), c.ch, c.size, c.size)
		}
	}
	return nil
}

// The networks' inputs and the package's enlargements of the box.
const (
	liveSize, liveScale = 128, 2.7
	ageSize, ageScale   = 64, 1.4
	exprSize, exprScale = 224, 1.2
	eyeSize             = 24
	poseSize, poseBins  = 224, 66
)

// LiveClass is the index of the liveness network's output that means a
// live face. The package's JS reports the softmax of class 0 as its
// "liveness result"; on real photos here class 1 dominates and the
// simulated attacks move probability out of it (docs/analysis.md), as in
// Silent-Face-Anti-Spoofing, whose MiniFASNet this network resembles
// (label 1 real, 0 and 2 two kinds of spoof). Class 1 it is.
const LiveClass = 0

// LivenessThreshold is the score below which Liveness calls a face a
// spoof. It is the network's even odds (0.5), not a rate chosen on
// attack data: there is none here (docs/security.md).
const LivenessThreshold = 0.5

// Result is the analysis of one face; a part whose network was not loaded
// is nil.
type Result struct {
	Liveness   *Liveness   `json:"liveness,omitempty"`
	Age        *float64    `json:"age,omitempty"`
	Gender     *Gender     `json:"gender,omitempty"`
	Expression *Expression `json:"expression,omitempty"`
	Eyes       *Eyes       `json:"eyes,omitempty"`
	// Pose is estimated from the landmarks; PoseModel by fr_pose.
	Pose      Pose    `json:"pose"`
	PoseModel *Pose   `json:"pose_model,omitempty"`
	Quality   Quality `json:"quality"`
}

// Liveness is the anti-spoofing network's verdict.
type Liveness struct {
	// Score is the probability of the live class, in [0, 1].
	Score float64 `json:"score"`
	// Live is Score ≥ Threshold.
	Live      bool    `json:"live"`
	Threshold float64 `json:"threshold"`
	// Probs are the three classes' probabilities (LiveClass is live).
	Probs [3]float64 `json:"probs"`
}

// Gender is the gender network's merged output.
type Gender struct {
	// Value is in [0, 1], higher for men (SSR-Net's convention). The
	// network leans male: 0.5 was right on 60–65% of a hand-labelled LFW
	// sample; GenderThreshold is the label's cut.
	Value float64 `json:"value"`
	Label string  `json:"label"` // "male" above GenderThreshold, else "female"
}

// GenderThreshold is the Value above which Gender says "male": the cut
// right most often on the 100 photos of the "dev" people of
// testdata/gender_labels.tsv (docs/analysis.md has what it gives on the
// others).
const GenderThreshold = 0.78

// Expressions are the expression network's seven classes in its output
// order. The package names none of them (its JS returns the index); this
// is the order of FER-2013, which a seven-class expression network is
// almost always trained on, and an assumption.
var Expressions = [7]string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}

// Expression is the expression network's answer.
type Expression struct {
	Label string             `json:"label"`
	Score float64            `json:"score"`
	Probs map[string]float64 `json:"probs"`
}

// Eyes are the eye network's probabilities that each eye is open ("left"
// is the eye on the image's left).
type Eyes struct {
	LeftOpen  float64 `json:"left_open"`
	RightOpen float64 `json:"right_open"`
}

// EyeOpenClass is the eye network's output index that means open: on the
// real photos here, nearly all with open eyes, class 1 wins on seven eyes
// in ten (docs/analysis.md), and the package's JS reports class 0 winning
// as "closed". The network is weak on facerec's landmarks: the quality
// reason eyes_closed does not use it.
const EyeOpenClass = 1

// Analyze analyses every face of img (faces the pipeline found in it).
// Cancelling ctx stops it between two networks.
func (a *Analyzer) Analyze(ctx context.Context, img image.Image, faces []face.Face) ([]Result, error) {
	t, err := imageTensor(img)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(faces))
	for i := range faces {
		if out[i], err = a.analyze(ctx, t, &faces[i]); err != nil {
			return nil, fmt.Errorf("analysis: face %d: %w", i, err)
		}
	}
	return out, nil
}

// Liveness returns the probability that f, a face found in img, is a live
// face rather than a photo or a screen shown to the camera; a face scoring
// below LivenessThreshold should be refused. The Analyzer must have been
// loaded with Options.Liveness.
func (a *Analyzer) Liveness(ctx context.Context, img image.Image, f face.Face) (float64, error) {
	if a.live == nil {
		return 0, errors.New("analysis: the liveness network is not loaded (Options.Liveness)")
	}
	t, err := imageTensor(img)
	if err != nil {
		return 0, err
	}
	l, err := a.liveness(ctx, t, &f)
	if err != nil {
		return 0, err
	}
	return l.Score, nil
}

func imageTensor(img image.Image) (*tensor.Tensor, error) {
	if img == nil {
		return nil, errors.New("analysis: nil image")
	}
	if b := img.Bounds(); b.Dx() < 2 || b.Dy() < 2 {
		return nil, fmt.Errorf("analysis: a %d×%d image is too small", b.Dx(), b.Dy())
	}
	return photo.ImageTensor(img), nil
}

// checkFace refuses a face with non-finite or absent geometry.
func checkFace(f *face.Face, w, h int) error {
	b := f.Box
	for _, v := range []float64{b.X, b.Y, b.W, b.H} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("a box of non-finite coordinates %+v", b)
		}
	}
	if b.W < 2 || b.H < 2 || b.Right() <= 0 || b.Bottom() <= 0 || b.X >= float64(w) || b.Y >= float64(h) {
		return fmt.Errorf("the box %+v is empty or outside the %d×%d image", b, w, h)
	}
	for i, p := range f.Landmarks {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			return fmt.Errorf("landmark %d is not finite", i)
		}
	}
	return nil
}

func (a *Analyzer) analyze(ctx context.Context, img *tensor.Tensor, f *face.Face) (Result, error) {
	var r Result
	h, w := img.Shape[0], img.Shape[1]
	if err := checkFace(f, w, h); err != nil {
		return r, err
	}
	var err error
	if a.live != nil {
		if r.Liveness, err = a.liveness(ctx, img, f); err != nil {
			return r, err
		}
	}
	if a.age != nil {
		if r.Age, r.Gender, err = a.ageGender(ctx, img, f); err != nil {
			return r, err
		}
	}
	if a.expr != nil {
		if r.Expression, err = a.expression(ctx, img, f); err != nil {
			return r, err
		}
	}
	if a.eyesNet != nil {
		if r.Eyes, err = a.eyes(ctx, img, f); err != nil {
			return r, err
		}
	}
	if a.poseNet != nil {
		if r.PoseModel, err = a.pose(ctx, img, f); err != nil {
			return r, err
		}
	}
	r.Pose = PoseFromLandmarks(&f.Landmarks)
	pose := r.Pose
	if r.PoseModel != nil {
		pose = *r.PoseModel // the network sees the whole head, not 68 guesses
	}
	r.Quality = a.quality(img, f, pose)
	return r, ctx.Err()
}

// run feeds px (uint8 HWC at the network's size) through net, scaled by
// scale, and returns every output.
func (a *Analyzer) run(ctx context.Context, net *onnx.Net, px []uint8, scale func(v uint8, c int) float32) ([]*tensor.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, h, w := net.InputSize()
	x := tensor.New(1, h, w, c)
	for i, v := range px {
		x.Data[i] = scale(v, i%c)
	}
	arena, _ := a.arenas.Get().(*tensor.Arena)
	if arena == nil {
		arena = new(tensor.Arena)
	}
	defer a.arenas.Put(arena)
	defer arena.Reset()
	outs, err := net.ForwardOutputs(arena, x)
	if err != nil {
		return nil, err
	}
	// The arena is reused: copy the outputs out of it.
	for i, o := range outs {
		outs[i] = o.Clone()
	}
	return outs, nil
}

func raw(v uint8, _ int) float32 { return float32(v) }

func unitScale(v uint8, _ int) float32 { return float32(float64(v) / 255.0) }

var imagenetMean, imagenetStd = [3]float64{0.485, 0.456, 0.406}, [3]float64{0.229, 0.224, 0.225}

func imagenet(v uint8, c int) float32 {
	return float32((float64(v)/255.0 - imagenetMean[c]) / imagenetStd[c])
}

func softmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	p := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		p[i] = math.Exp(float64(v) - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// Channel orders: the package feeds every network the RGB of its canvas,
// but networks trained on OpenCV images read BGR. Which one each network
// reads was measured here (docs/analysis.md); they are variables only so
// that the measurement can flip them.
var (
	liveBGR = true
	ageBGR  = true
)

// bgr swaps the first and third channel of an RGB image in place.
func bgr(px []uint8, on bool) []uint8 {
	if on {
		for i := 0; i+2 < len(px); i += 3 {
			px[i], px[i+2] = px[i+2], px[i]
		}
	}
	return px
}

func (a *Analyzer) liveness(ctx context.Context, img *tensor.Tensor, f *face.Face) (*Liveness, error) {
	r := enlarged(f.Box, liveScale, img.Shape[1], img.Shape[0])
	outs, err := a.run(ctx, a.live, bgr(resizeLinear(img, r, liveSize), liveBGR), raw)
	if err != nil {
		return nil, err
	}
	p := softmax(outs[0].Data)
	l := &Liveness{Score: p[LiveClass], Threshold: LivenessThreshold, Probs: [3]float64{p[0], p[1], p[2]}}
	l.Live = l.Score >= l.Threshold
	return l, nil
}

// ssrMerge is SSR-Net's stage-wise regression as the package's mergeAge
// computes it: three stages of three bins, each stage's expectation over
// its bins (shifted by the index offsets) divided by the product of the
// stage widths so far (scaled by the delta_k), times v. The outputs are
// in the files' order: prob_stage_1..3, stage1..3_delta_k,
// index_offset_stage1..3.
func ssrMerge(outs []*tensor.Tensor, v float64) float64 {
	const s, lambdaLocal, lambdaD = 3.0, 1.0, 1.0
	sum, div := 0.0, 1.0
	for st := range 3 {
		prob, dk, off := outs[st].Data, float64(outs[3+st].Data[0]), outs[6+st].Data
		div *= s * (1 + lambdaD*dk)
		e := 0.0
		for i := range 3 {
			e += (float64(i) + lambdaLocal*float64(off[i])) * float64(prob[i])
		}
		sum += e / div
	}
	return sum * v
}

func (a *Analyzer) ageGender(ctx context.Context, img *tensor.Tensor, f *face.Face) (*float64, *Gender, error) {
	r := enlarged(f.Box, ageScale, img.Shape[1], img.Shape[0])
	px := bgr(resizeLinear(img, r, ageSize), ageBGR)
	outs, err := a.run(ctx, a.age, px, imagenet)
	if err != nil {
		return nil, nil, err
	}
	age := ssrMerge(outs, 101)
	if outs, err = a.run(ctx, a.gender, px, imagenet); err != nil {
		return nil, nil, err
	}
	g := &Gender{Value: ssrMerge(outs, 1), Label: "female"}
	if g.Value > GenderThreshold {
		g.Label = "male"
	}
	return &age, g, nil
}

func (a *Analyzer) expression(ctx context.Context, img *tensor.Tensor, f *face.Face) (*Expression, error) {
	// The package anchors the 1.2× box at the box's top-left corner, which
	// shifts the face off centre: taken for a bug, the box is enlarged
	// about its centre instead.
	r := enlarged(f.Box, exprScale, img.Shape[1], img.Shape[0])
	outs, err := a.run(ctx, a.expr, resizeLinear(img, r, exprSize), unitScale)
	if err != nil {
		return nil, err
	}
	p := softmax(outs[0].Data)
	e := &Expression{Probs: map[string]float64{}}
	for i, v := range p {
		e.Probs[Expressions[i]] = v
		if v > e.Score {
			e.Label, e.Score = Expressions[i], v
		}
	}
	return e, nil
}

func (a *Analyzer) eyes(ctx context.Context, img *tensor.Tensor, f *face.Face) (*Eyes, error) {
	var open [2]float64
	for i, r := range eyeRects(&f.Landmarks, img.Shape[1], img.Shape[0]) {
		outs, err := a.run(ctx, a.eyesNet, grey(resizeLinear(img, r, eyeSize)), unitScale)
		if err != nil {
			return nil, err
		}
		open[i] = softmax(outs[0].Data)[EyeOpenClass]
	}
	return &Eyes{LeftOpen: open[0], RightOpen: open[1]}, nil
}

// poseBGR: the package converts its RGBA canvas with BGR2RGB before the
// pose network, so it feeds B, G, R. With R, G, B the network's yaw
// agrees with the landmarks' far better (correlation 0.85 against 0.46 on
// 60 LFW photos, docs/analysis.md): RGB it is.
var poseBGR = false

// pose runs fr_pose on the package's crop (the box enlarged 1.5× about its
// centre, cut at the image's edges) and decodes each angle as HopeNet
// does: the expectation over 66 bins of 3°, minus 99°. HopeNet's yaw and
// roll turn the other way from Pose's (on LFW its yaw is anti-correlated
// with the landmarks'), so their signs are flipped.
func (a *Analyzer) pose(ctx context.Context, img *tensor.Tensor, f *face.Face) (*Pose, error) {
	w, h := img.Shape[1], img.Shape[0]
	x1, y1 := math.Trunc(f.Box.X), math.Trunc(f.Box.Y)
	x2, y2 := math.Trunc(f.Box.Right()), math.Trunc(f.Box.Bottom())
	bw, bh := math.Abs(x2-x1), math.Abs(y2-y1)
	l, t := int(x1-bw/4), int(y1-bh/4)
	r, b := int(x2+bw/4), int(y2+bh/4)
	rc := clampRect(rectInt{max(l, 0), max(t, 0), min(r-l, w), min(b-t, h)}, w, h)
	outs, err := a.run(ctx, a.poseNet, bgr(resizeLinear(img, rc, poseSize), poseBGR), imagenet)
	if err != nil {
		return nil, err
	}
	var angle [3]float64
	for k := range 3 {
		for i, p := range softmax(outs[k].Data) {
			angle[k] += p * float64(i)
		}
		angle[k] = angle[k]*3 - 99
	}
	return &Pose{Yaw: -angle[0], Pitch: angle[1], Roll: -angle[2]}, nil
}
