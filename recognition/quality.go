package recognition

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strings"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
)

// QualityChecker measures how fit a face found in img is for recognition
// (size, pose, blur, exposure, eyes), with the reasons it is not;
// *analysis.Analyzer is one. It is the one quality policy: enrolment and
// the door judge a face by the same measures and thresholds.
type QualityChecker interface {
	Quality(ctx context.Context, img image.Image, f face.Face) (analysis.Quality, error)
}

// QualityMode is what an operation does with a poor photo.
type QualityMode string

// The quality modes. The zero mode of a Config with a QualityChecker is
// QualityRefuse.
const (
	QualityOff    QualityMode = "off"    // not measured
	QualityWarn   QualityMode = "warn"   // measured and reported; the operation goes on
	QualityRefuse QualityMode = "refuse" // enrolment fails with a *QualityError; the door answers "try again"
)

// ParseQualityMode reads off, warn or refuse.
func ParseQualityMode(s string) (QualityMode, error) {
	switch m := QualityMode(s); m {
	case QualityOff, QualityWarn, QualityRefuse:
		return m, nil
	}
	return "", fmt.Errorf("quality mode %q: want off, warn or refuse", s)
}

// RefusedPoorQuality is Verdict.Refused (and Decision.Refused) when the
// probe's photo was too poor to decide on: not a stranger, but "try
// again" (the reasons are in the answer's quality).
const RefusedPoorQuality = "poor_quality"

// ErrPoorQuality is what a *QualityError wraps: an enrolment photo too
// poor to enrol.
var ErrPoorQuality = errors.New("poor photo quality")

// QualityError is the refusal of a poor enrolment photo, with its
// measures and reasons.
type QualityError struct {
	Quality analysis.Quality
}

func (e *QualityError) Error() string {
	return fmt.Sprintf("%v: %s (a sharper, frontal, well-lit photo with the face large enough is needed)",
		ErrPoorQuality, strings.Join(e.Quality.Reasons, ", "))
}

func (e *QualityError) Unwrap() error { return ErrPoorQuality }

func mode(m QualityMode) QualityMode {
	if m == "" {
		return QualityRefuse
	}
	return m
}

// measure returns f's quality when mode m measures it (nil when off or
// without a checker).
func (s *Service) measure(ctx context.Context, m QualityMode, img image.Image, f face.Face) (*analysis.Quality, error) {
	if s.cfg.Quality == nil || mode(m) == QualityOff {
		return nil, nil
	}
	q, err := s.cfg.Quality.Quality(ctx, img, f)
	if err != nil {
		return nil, fmt.Errorf("recognition: quality: %w", err)
	}
	return &q, nil
}

// checkEnrolQuality measures an enrolment photo's subject, reports it to
// p.OnQuality, and refuses a poor one in QualityRefuse mode.
func (s *Service) checkEnrolQuality(ctx context.Context, p Photo, f face.Face) error {
	q, err := s.measure(ctx, s.cfg.EnrolQuality, p.Image, f)
	if err != nil || q == nil {
		return err
	}
	if p.OnQuality != nil {
		p.OnQuality(*q)
	}
	if !q.OK && mode(s.cfg.EnrolQuality) == QualityRefuse {
		return &QualityError{Quality: *q}
	}
	return nil
}

// checkDoorQuality measures face i of a door photo; in QualityRefuse mode
// a poor one is refused with RefusedPoorQuality (no match, whoever it looks
// like), so that the person is asked to try again rather than called a
// stranger.
func (s *Service) checkDoorQuality(ctx context.Context, img image.Image, f face.Face, r *FaceResult) error {
	q, err := s.measure(ctx, s.cfg.DoorQuality, img, f)
	if err != nil || q == nil {
		return err
	}
	r.Quality = q
	if q.OK || mode(s.cfg.DoorQuality) != QualityRefuse {
		return nil
	}
	if r.Verdict == nil {
		r.Verdict = &face.Verdict{Threshold: s.cfg.Decision.ThresholdFor(0)}
	}
	r.Verdict.Accepted, r.Verdict.Refused = false, RefusedPoorQuality
	r.Match = nil
	return nil
}

// checkClaimQuality is checkDoorQuality for a claim (Verify, and the
// probe of CompareProbe).
func (s *Service) checkClaimQuality(ctx context.Context, img image.Image, f face.Face, d *face.Decision) error {
	q, err := s.measure(ctx, s.cfg.DoorQuality, img, f)
	if err != nil || q == nil {
		return err
	}
	d.QualityReasons = q.Reasons
	if !q.OK && mode(s.cfg.DoorQuality) == QualityRefuse {
		d.Same, d.Refused = false, RefusedPoorQuality
	}
	return nil
}
