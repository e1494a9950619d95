package main

import (
	"os"

	"github.com/facerec/facerec/face"
	"github.com/spf13/cobra"
)

// pipelineFlags are the options of every command that finds faces.
type pipelineFlags struct {
	detector, align string
	inputSize       int
	jitter          int
	minScore        float64
	fallback        float64
	minSize         float64
	tinyLandmarks   bool
	flip            bool
	model           string
	coarseSize      int
	maxShapeError   float64
	enrollJitter    int // registered by the commands that enrol
}

func (f *pipelineFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.detector, "detector", "tiny", "face detector: tiny (fast) or ssd (accurate)")
	fl.StringVar(&f.align, "align", string(face.AlignDlib), "crop for the descriptor: dlib (similarity transform) or faceapi (face-api's axis-aligned crop)")
	fl.IntVar(&f.inputSize, "input-size", 416, "tiny detector input size (multiple of 32)")
	fl.IntVar(&f.coarseSize, "coarse-size", 0, "a second, coarse tiny-detector pass merged with the first, for faces that fill the frame (0: 160 when --input-size is larger; negative: off)")
	fl.Float64Var(&f.minScore, "min-score", 0.5, "minimum detector score")
	fl.Float64Var(&f.fallback, "fallback-score", face.DefaultFallbackScore, "when no face reaches --min-score, take the best one above this (negative: off)")
	fl.Float64Var(&f.minSize, "min-face-size", 0, "ignore faces smaller than this many pixels")
	fl.Float64Var(&f.maxShapeError, "max-shape-error", face.DefaultMaxShapeError, "drop faces whose landmarks are further than this from a face's shape (rms, in face widths; negative: off)")
	fl.BoolVar(&f.tinyLandmarks, "tiny-landmarks", false, "use the tiny 68-point landmark net")
	fl.BoolVar(&f.flip, "flip", false, "average the descriptors of the face and its mirror image")
	fl.IntVar(&f.jitter, "jitter", 0, "also average this many randomly jittered copies of each face (dlib's num_jitters; one descriptor each)")
	fl.StringVar(&f.model, "model", "", "a network trained with `facerec train` (best.safetensors) instead of the pretrained descriptor")
}

func (f *pipelineFlags) options() face.Options {
	return face.Options{
		Detector: face.Detector(f.detector), Align: face.Alignment(f.align), InputSize: f.inputSize,
		CoarseInputSize: f.coarseSize,
		MinScore:        f.minScore, FallbackScore: f.fallback, MinFaceSize: f.minSize,
		MaxShapeError: f.maxShapeError,
		TinyLandmarks: f.tinyLandmarks, Flip: f.flip, Jitter: f.jitter, Model: f.model,
	}
}

// load builds the pipeline, pulling the models on first use.
func (f *pipelineFlags) load(cmd *cobra.Command) (*face.Pipeline, error) {
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return face.Load(cmd.Context(), dir, f.options(), os.Stderr)
}

// registerEnroll adds --enroll-jitter to a command that enrols people.
func (f *pipelineFlags) registerEnroll(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.enrollJitter, "enroll-jitter", face.DefaultEnrollJitter,
		"jittered copies averaged into the descriptor of each enrolment photo (paid once per photo; identification uses --jitter; none with --align faceapi)")
}
