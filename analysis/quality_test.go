package analysis

import (
	"slices"
	"strings"
	"testing"
)

func TestParseQualityThresholds(t *testing.T) {
	q, err := ParseQualityThresholds("max_yaw=20, min_eye_distance=40,ignore=cut_off,ignore=pose")
	if err != nil {
		t.Fatal(err)
	}
	if q.MaxYaw != 20 || q.MinEyeDistance != 40 || q.MinSharpness != DefaultQuality.MinSharpness || !slices.Equal(q.Ignore, []string{"cut_off", "pose"}) {
		t.Fatalf("%+v", q)
	}
	if d, err := ParseQualityThresholds(""); err != nil || d.MaxPitch != DefaultQuality.MaxPitch {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	for _, bad := range []string{"max_yaw", "max_yaw=x", "max_yaw=-1", "max_yaw=NaN", "bogus=1", "ignore=sunburn"} {
		if _, err := ParseQualityThresholds(bad); err == nil || !strings.Contains(err.Error(), strings.SplitN(bad, "=", 2)[0]) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// The reasons follow the measures, each at its own threshold, and an
// ignored reason is measured but never given.
func TestQualityReasons(t *testing.T) {
	good := Quality{EyeDistance: 40, Sharpness: 40, RelSharpness: 0.03, Brightness: 120, Contrast: 35, EyeOpenness: 0.3}
	var zero QualityThresholds
	if rs := zero.Reasons(good); len(rs) != 0 {
		t.Fatalf("a good face: %v", rs)
	}
	for _, tc := range []struct {
		change func(*Quality)
		reason string
	}{
		{func(q *Quality) { q.EyeDistance = 12 }, ReasonSmall},
		{func(q *Quality) { q.Sharpness = 3 }, ReasonBlurred},
		{func(q *Quality) { q.RelSharpness = 0.001 }, ReasonBlurred},
		{func(q *Quality) { q.Brightness = 20 }, ReasonDark},
		{func(q *Quality) { q.Brightness = 240 }, ReasonBright},
		{func(q *Quality) { q.Clipped = 0.5 }, ReasonClipped},
		{func(q *Quality) { q.Contrast = 5 }, ReasonFlat},
		{func(q *Quality) { q.EyeOpenness = 0.05 }, ReasonEyesClosed},
		{func(q *Quality) { q.Pose.Yaw = -60 }, ReasonPose},
		{func(q *Quality) { q.Pose.Pitch = 50 }, ReasonPose},
		{func(q *Quality) { q.Pose.Roll = 45 }, ReasonPose},
		{func(q *Quality) { q.CutOff = true }, ReasonOutsideImage},
	} {
		q := good
		tc.change(&q)
		j := zero.Judge(q)
		if j.OK || !slices.Equal(j.Reasons, []string{tc.reason}) {
			t.Errorf("want %s: %+v", tc.reason, j)
		}
		if rs := (QualityThresholds{Ignore: []string{tc.reason}}).Reasons(q); len(rs) != 0 {
			t.Errorf("%s ignored, still %v", tc.reason, rs)
		}
	}
}
