package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
	"github.com/spf13/cobra"
)

// pipelineFlags are the options of every command that finds faces, bound
// straight onto face.Options: the defaults shown are face.DefaultOptions,
// the package's own.
type pipelineFlags struct {
	opt          face.Options
	enrollJitter int // registered by the commands that enrol
	decision     decisionFlags
	liveness     livenessFlags // registered by identify, verify and serve
	quality      qualityFlags  // registered by enroll, identify, verify and serve
}

// decisionFlags choose the decision rule of the commands that decide.
type decisionFlags struct {
	threshold   float64
	far         string
	calibration string
}

// registerDecision adds --far and --threshold to a command that decides.
func (f *pipelineFlags) registerDecision(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.decision.far, "far", face.DefaultPreset,
		"share (`RATE`) of strangers' attempts let in, whatever the gallery's size: strict (0.1%), balanced (1%, the default), lenient (5%) or a number; the threshold is calibrated for it and the gallery's size (models without a calibration use their fixed threshold)")
	fl.Float64Var(&f.decision.threshold, "threshold", 0,
		"a fixed distance threshold instead of the calibrated one (0: calibrated; a model without a calibration uses its own, 0.61 for dlib)")
	fl.StringVar(&f.decision.calibration, "calibration", "",
		"calibrate --far on your own photos: a `FILE` that facerec eval door --root wrote (site-calibration-*.json) for this descriptor, instead of the LFW one facerec ships")
}

// rule is the decision rule the flags choose for model m.
func (f *pipelineFlags) rule(m face.DescriptorModel) (face.Rule, error) {
	r := face.RuleOf(m)
	if f.decision.threshold > 0 {
		if f.decision.calibration != "" {
			return face.Rule{}, errors.New("--threshold fixes the threshold, --calibration calibrates it: give one")
		}
		return face.Rule{Threshold: face.Threshold{Model: m.ID(), Metric: m.Metric(), Max: f.decision.threshold}}, nil
	}
	if f.decision.calibration != "" {
		c, err := readCalibration(f.decision.calibration)
		if err != nil {
			return face.Rule{}, err
		}
		if c.Score != m.ID() {
			return face.Rule{}, fmt.Errorf("--calibration %s calibrates %q, but the descriptor in use is %q", f.decision.calibration, c.Score, m.ID())
		}
		r.Calibration, r.Margin = c, c.Margin
		if r.FAR == 0 {
			r.FAR = face.Presets[face.DefaultPreset]
		}
	}
	if f.decision.far != "" && r.Calibration != nil {
		far, err := face.ParseFAR(f.decision.far)
		if err != nil {
			return face.Rule{}, fmt.Errorf("--far: %w", err)
		}
		r.FAR = far
	}
	return r, nil
}

func (f *pipelineFlags) register(cmd *cobra.Command) {
	d := face.DefaultOptions()
	f.opt = d
	fl := cmd.Flags()
	fl.StringVar((*string)(&f.opt.Detector), "detector", string(d.Detector), "face detector: `tiny|ssd` (fast or accurate)")
	fl.StringVar((*string)(&f.opt.Align), "align", string(d.Align), "crop for the descriptor, `dlib|arcface|faceapi`: similarity transform of 68 points, of 5 points (112×112), or face-api's axis-aligned crop (default: arcface for mobilefacenet, dlib for --descriptor dlib and --model)")
	fl.StringVar(&f.opt.Descriptor, "descriptor", "", "pretrained descriptor network, `mobilefacenet|dlib`: MobileFaceNet (default, 512-d, cosine distance) or dlib's ResNet (128-d); a gallery enrolled with one keeps being served by it")
	fl.IntVar(&f.opt.InputSize, "input-size", d.InputSize, "tiny detector input size (multiple of 32)")
	fl.BoolVar(&f.opt.Upscale, "upscale", false, "run the tiny detector at --input-size even over a smaller photo (face-api's way; it finds only faces too small to recognise, at up to 2.6× the cost)")
	fl.IntVar(&f.opt.CoarseInputSize, "coarse-size", 0, "a second, coarse tiny-detector pass merged with the first, for faces that fill the frame (0: 160 when --input-size is larger; negative: off)")
	fl.IntVar(&f.opt.SmallFaceSize, "small-face-size", d.SmallFaceSize, "smallest face (pixels) looked for in overlapping tiles of a frame too large for the whole-frame pass to see it (negative: no tiles)")
	fl.Float64Var(&f.opt.MinScore, "min-score", d.MinScore, "minimum detector score")
	fl.Float64Var(&f.opt.FallbackScore, "fallback-score", d.FallbackScore, "when no face reaches --min-score, take the best one above this (negative: off)")
	fl.Float64Var(&f.opt.MinFaceSize, "min-face-size", d.MinFaceSize, "ignore faces smaller than this many pixels")
	fl.Float64Var(&f.opt.MaxShapeError, "max-shape-error", d.MaxShapeError, "drop faces whose landmarks are further than this from a face's shape (rms, in face widths; negative: off)")
	fl.BoolVar(&f.opt.TinyLandmarks, "tiny-landmarks", d.TinyLandmarks, "use the tiny 68-point landmark net")
	fl.BoolVar(&f.opt.Flip, "flip", d.Flip, "average the descriptors of the face and its mirror image")
	fl.IntVar(&f.opt.Jitter, "jitter", d.Jitter, "also average this many randomly jittered copies of each face (dlib's num_jitters; one descriptor each)")
	registerModel(cmd, &f.opt.Model)
}

// registerModel adds --model, bound to path.
func registerModel(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "model", "", "describe faces with the network at `PATH` (a best.safetensors of facerec train) instead of the pretrained one")
}

// load builds the pipeline, pulling the models on first use.
func (f *pipelineFlags) load(cmd *cobra.Command) (*face.Pipeline, error) {
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return face.Load(cmd.Context(), dir, f.opt, os.Stderr)
}

// loadDescriptor loads the descriptor model alone (path "" is the default
// pretrained one), pulling it on first use.
func loadDescriptor(cmd *cobra.Command, path string) (face.DescriptorModel, error) {
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return face.LoadDescriptorModel(cmd.Context(), dir, path, os.Stderr)
}

// loadPretrained loads the pretrained descriptor network of that name (a
// --descriptor value) alone, pulling it on first use.
func loadPretrained(cmd *cobra.Command, name string) (face.DescriptorModel, error) {
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return face.LoadPretrained(cmd.Context(), dir, name, os.Stderr)
}

// registerEnroll adds --enroll-jitter to a command that enrols people.
func (f *pipelineFlags) registerEnroll(cmd *cobra.Command) {
	f.enrollJitter = face.AutoEnrollJitter
	cmd.Flags().Var((*autoCount)(&f.enrollJitter), "enroll-jitter",
		"`N` jittered copies averaged into the descriptor of each enrolment photo (paid once per photo; identification uses --jitter; none with --align faceapi); "+
			fmt.Sprintf("auto: %d for dlib and trained checkpoints, none for mobilefacenet, where they cost accuracy", face.DefaultEnrollJitter))
}

// autoCount is a count flag whose default, face.AutoEnrollJitter, shows
// and parses as "auto".
type autoCount int

func (c *autoCount) String() string {
	if *c < 0 {
		return "auto"
	}
	return strconv.Itoa(int(*c))
}

func (c *autoCount) Set(s string) error {
	if s == "auto" {
		*c = face.AutoEnrollJitter
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a count ≥ 0 or auto, not %q", s)
	}
	*c = autoCount(n)
	return nil
}

func (c *autoCount) Type() string { return "N" }

// service builds the recognition service of the pipeline's model over g
// (nil: none), with --enroll-jitter for the photos it enrols and the rule
// of --far and --threshold (the model's default without them).
func (f *pipelineFlags) service(p *face.Pipeline, g *openedGallery) (*recognition.Service, error) {
	enroll, err := p.ForEnrolment(f.enrollJitter)
	if err != nil {
		return nil, err
	}
	d, err := f.rule(p.Model())
	if err != nil {
		return nil, err
	}
	cfg := recognition.Config{Recognizer: p, Enroller: enroll, Decision: d}
	if f.liveness.checker != nil {
		cfg.Liveness, cfg.LivenessThreshold = f.liveness.checker, f.liveness.threshold
	}
	f.quality.configure(&cfg)
	if g != nil {
		cfg.Gallery = g.Gallery
	}
	return recognition.New(cfg)
}

// loadWithGallery loads the pipeline and opens the gallery for its model.
// Without --descriptor and --model the gallery has a say: one whose faces
// were all described by another pretrained network than the default keeps
// being served by that one (a new default must not lock people out of a
// gallery enrolled under the old), with a line saying how to move it.
func (f *pipelineFlags) loadWithGallery(cmd *cobra.Command, gf *galleryFlags) (*face.Pipeline, *openedGallery, error) {
	var p *face.Pipeline
	var loadErr error
	g, err := gf.openWith(cmd, false, func(ctx context.Context, store gallery.Store) (*gallery.Gallery, error) {
		if f.opt.Descriptor == "" && f.opt.Model == "" {
			d, err := galleryDescriptor(ctx, store)
			if err != nil {
				return nil, err
			}
			if d != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "facerec: this gallery's faces were described by the %s network, so it is used instead of the default %s; "+
					"facerec gallery reembed --descriptor %s moves a gallery enrolled with --keep-photos\n", d, face.DefaultOptions().Descriptor, face.DefaultOptions().Descriptor)
				f.opt.Descriptor = d
			}
		}
		if p, loadErr = f.load(cmd); loadErr != nil {
			return nil, loadErr
		}
		return recognition.OpenGallery(ctx, store, p.Model(), cmd.ErrOrStderr())
	})
	if loadErr != nil {
		return nil, nil, loadErr
	}
	return p, g, err
}

// galleryDescriptor is the pretrained network a gallery's faces call for
// when it is not the default one: "" for an empty gallery, one holding
// descriptors of the default network, or one with faces of other models
// (opening it for the default then names them).
func galleryDescriptor(ctx context.Context, store gallery.Store) (string, error) {
	counts, err := gallery.Models(ctx, store)
	if err != nil {
		return "", err
	}
	def := face.DefaultOptions().Descriptor
	want := ""
	for id := range counts {
		d := face.PretrainedDescriptor(id)
		if d == def || d == "" || (want != "" && d != want) {
			return "", nil
		}
		want = d
	}
	return want, nil
}

// readCalibration reads a calibration file (face.Calibration's JSON).
func readCalibration(path string) (*face.Calibration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--calibration: %w", err)
	}
	defer f.Close()
	c, err := face.LoadCalibration(f)
	if err != nil {
		return nil, fmt.Errorf("--calibration %s: %w", path, err)
	}
	return c, nil
}
