package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/recognition"
)

// qualityFlags are --quality (and serve's --door-quality) with
// --quality-thresholds: the photo-quality policy of the commands that
// enrol or open the door (recognition.Config.Quality).
type qualityFlags struct {
	enrol, door string // the modes; "" where the command has no such flag
	thresholds  string
	checker     *analysis.Analyzer // loaded by loadQuality when a mode is not off
}

// The default modes, chosen from eval door --quality on LFW
// (docs/analysis.md, "Quality at enrolment and at the door").
const (
	defaultEnrolQuality = recognition.QualityRefuse
	defaultDoorQuality  = recognition.QualityWarn
)

const qualityThresholdsUsage = "the quality thresholds, name=value,... of min_eye_distance, min_sharpness, min_rel_sharpness, min_brightness, " +
	"max_brightness, max_clipped, min_contrast, min_eye_openness, max_yaw, max_pitch, max_roll, and ignore=REASON (repeatable; e.g. ignore=cut_off) " +
	"(empty: analysis.DefaultQuality, docs/analysis.md) (`LIST`)"

// registerQuality adds the quality flags: --quality for the enrolment
// mode when enrol, for the door's when door, both (serve: --quality and
// --door-quality).
func (f *pipelineFlags) registerQuality(cmd *cobra.Command, enrol, door bool) {
	fl := cmd.Flags()
	switch {
	case enrol && door:
		fl.StringVar(&f.quality.enrol, "quality", string(defaultEnrolQuality), "what enrolment does with a poor photo (small face, turned head, blurred, badly exposed, eyes closed, cut off), a `MODE`: refuse (the reasons in the error), warn (enrol it, the reasons in the answer) or off")
		fl.StringVar(&f.quality.door, "door-quality", string(defaultDoorQuality), "what identify and verify do with a poor photo, a `MODE`: refuse (refused: poor_quality, try again), warn (decide, the quality in the answer) or off")
	case enrol:
		fl.StringVar(&f.quality.enrol, "quality", string(defaultEnrolQuality), "what enrolment does with a poor photo (small face, turned head, blurred, badly exposed, eyes closed, cut off), a `MODE`: refuse (the reasons in the error; the other photos go on), warn (enrol it, the reasons on stderr and in quality_warnings) or off")
	case door:
		fl.StringVar(&f.quality.door, "quality", string(defaultDoorQuality), "what the door does with a poor photo (small face, turned head, blurred, badly exposed, eyes closed, cut off), a `MODE`: refuse (refused: poor_quality, try again, not unknown), warn (decide, the quality in the answer) or off")
	}
	fl.StringVar(&f.quality.thresholds, "quality-thresholds", "", qualityThresholdsUsage)
}

// loadQuality checks the quality flags and builds the checker when a mode
// is not off (no network: the measures come from the landmarks and
// pixels).
func (f *pipelineFlags) loadQuality(cmd *cobra.Command) error {
	on := false
	for _, m := range []*string{&f.quality.enrol, &f.quality.door} {
		if *m == "" {
			continue
		}
		mode, err := recognition.ParseQualityMode(*m)
		if err != nil {
			return usageErrorf("--quality: %v", err)
		}
		on = on || mode != recognition.QualityOff
	}
	t, err := analysis.ParseQualityThresholds(f.quality.thresholds)
	if err != nil {
		return usageErrorf("--quality-thresholds: %v", err)
	}
	if !on {
		return nil
	}
	dir, err := modelDir(cmd)
	if err != nil {
		return err
	}
	a, err := analysis.Load(cmd.Context(), dir, analysis.Options{Quality: t}, os.Stderr)
	if err != nil {
		return fmt.Errorf("--quality: %w", err)
	}
	f.quality.checker = a
	return nil
}

// configure sets the quality policy of cfg from the flags.
func (q *qualityFlags) configure(cfg *recognition.Config) {
	if q.checker == nil {
		return
	}
	cfg.Quality = q.checker
	cfg.EnrolQuality, cfg.DoorQuality = recognition.QualityOff, recognition.QualityOff
	if q.enrol != "" {
		cfg.EnrolQuality = recognition.QualityMode(q.enrol)
	}
	if q.door != "" {
		cfg.DoorQuality = recognition.QualityMode(q.door)
	}
}
