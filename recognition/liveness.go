package recognition

import (
	"context"
	"fmt"
	"image"

	"github.com/facerec/facerec/face"
)

// LivenessChecker scores how likely a face found in img is a live person
// rather than a printed or re-displayed photo: a probability in [0, 1].
// analysis.Analyzer (loaded with Options.Liveness) is one; the interface
// keeps recognition from depending on the analysis networks.
type LivenessChecker interface {
	Liveness(ctx context.Context, img image.Image, f face.Face) (float64, error)
}

// RefusedNotLive is Verdict.Refused when the face's liveness score was
// below Config.LivenessThreshold: the door stays shut whoever it looks like.
const RefusedNotLive = "not_live"

// DefaultLivenessThreshold is the cut used when Config.LivenessThreshold is
// zero; it is analysis.LivenessThreshold (docs/analysis.md), repeated here
// so that recognition need not import analysis.
const DefaultLivenessThreshold = 0.5

func (s *Service) livenessThreshold() float64 {
	if s.cfg.LivenessThreshold > 0 {
		return s.cfg.LivenessThreshold
	}
	return DefaultLivenessThreshold
}

// checkLive scores face i of img when the service requires liveness,
// records the score in r and, below the threshold, turns the verdict into
// a refusal: no match, the reason "not_live". A face with no candidate
// still gets a verdict, so that a spoof is never reported as a stranger.
func (s *Service) checkLive(ctx context.Context, img image.Image, f face.Face, i int, r *FaceResult) error {
	if s.cfg.Liveness == nil {
		return nil
	}
	score, err := s.cfg.Liveness.Liveness(ctx, img, f)
	if err != nil {
		return fmt.Errorf("recognition: face %d: liveness: %w", i, err)
	}
	r.Liveness = &score
	if score >= s.livenessThreshold() {
		return nil
	}
	if r.Verdict == nil {
		r.Verdict = &face.Verdict{Threshold: s.cfg.Decision.ThresholdFor(0)}
	}
	r.Verdict.Accepted, r.Verdict.Refused = false, RefusedNotLive
	r.Match = nil
	return nil
}

// checkLiveClaim is checkLive for Verify: a claim by a face below the
// threshold is not the same person, with the reason RefusedNotLive.
func (s *Service) checkLiveClaim(ctx context.Context, img image.Image, f face.Face, d *face.Decision) error {
	if s.cfg.Liveness == nil {
		return nil
	}
	score, err := s.cfg.Liveness.Liveness(ctx, img, f)
	if err != nil {
		return fmt.Errorf("recognition: liveness: %w", err)
	}
	d.Liveness = &score
	if score < s.livenessThreshold() {
		d.Same, d.Refused = false, RefusedNotLive
	}
	return nil
}
