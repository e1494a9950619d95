package main

import (
	"os"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/recognition"
	"github.com/spf13/cobra"
)

// pipelineFlags are the options of every command that finds faces, bound
// straight onto face.Options: the defaults shown are face.DefaultOptions,
// the package's own.
type pipelineFlags struct {
	opt          face.Options
	enrollJitter int // registered by the commands that enrol
}

func (f *pipelineFlags) register(cmd *cobra.Command) {
	d := face.DefaultOptions()
	f.opt = d
	fl := cmd.Flags()
	fl.StringVar((*string)(&f.opt.Detector), "detector", string(d.Detector), "face detector: tiny (fast) or ssd (accurate)")
	fl.StringVar((*string)(&f.opt.Align), "align", string(d.Align), "crop for the descriptor: dlib (similarity transform of 68 points), arcface (of 5 points, 112×112) or faceapi (face-api's axis-aligned crop) (default: dlib, arcface for --descriptor mobilefacenet)")
	fl.StringVar(&f.opt.Descriptor, "descriptor", "", "pretrained descriptor network: dlib (default, 128-d) or mobilefacenet (512-d, cosine distance, threshold 0.715)")
	fl.IntVar(&f.opt.InputSize, "input-size", d.InputSize, "tiny detector input size (multiple of 32)")
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

// loadDescriptor loads the descriptor model alone (path "" is the
// pretrained one), pulling it on first use.
func loadDescriptor(cmd *cobra.Command, path string) (face.DescriptorModel, error) {
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return face.LoadDescriptorModel(cmd.Context(), dir, path, os.Stderr)
}

// registerEnroll adds --enroll-jitter to a command that enrols people.
func (f *pipelineFlags) registerEnroll(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.enrollJitter, "enroll-jitter", face.DefaultEnrollJitter,
		"jittered copies averaged into the descriptor of each enrolment photo (paid once per photo; identification uses --jitter; none with --align faceapi)")
}

// service builds the recognition service of the pipeline's model over g
// (nil: none), with --enroll-jitter for the photos it enrols and the
// model's decision, its threshold replaced by threshold when positive.
func (f *pipelineFlags) service(p *face.Pipeline, g *openedGallery, threshold float64) (*recognition.Service, error) {
	enroll, err := p.ForEnrolment(f.enrollJitter)
	if err != nil {
		return nil, err
	}
	d := face.ThresholdOf(p.Model())
	if threshold > 0 {
		d.Max = threshold
	}
	cfg := recognition.Config{Recognizer: p, Enroller: enroll, Decision: d}
	if g != nil {
		cfg.Gallery = g.Gallery
	}
	return recognition.New(cfg)
}
