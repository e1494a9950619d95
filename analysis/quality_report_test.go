package analysis_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
)

// TestQualityGateReport runs the one-shot open-set protocol (eval.OneShot:
// one enrolment photo per person, the rest probe, 20% of the people
// strangers) twice on a folder of <person>/<photos>: as it is, and with
// enrolment refusing a photo whose Quality is not OK, so that the person's
// next photo is enrolled instead (what a refusal with a reason leads to).
// A measurement: FACEREC_QUALITY_REPORT=DIR (e.g. ../../shared/data/att),
// FACEREC_QUALITY_IGNORE=reason,... for reasons that do not refuse.
func TestQualityGateReport(t *testing.T) {
	root := os.Getenv("FACEREC_QUALITY_REPORT")
	if root == "" {
		t.Skip("a measurement: set FACEREC_QUALITY_REPORT=DIR of <person>/<photos>")
	}
	ctx := context.Background()
	dir, err := registry.Dir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := face.Load(ctx, dir, face.DefaultOptions(), nil)
	if err != nil {
		t.Skip(err)
	}
	a, err := analysis.Load(ctx, dir, analysis.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	embed := eval.CentredFace(p)
	// FACEREC_QUALITY_IGNORE=reason,...: reasons that do not refuse.
	ignore := map[string]bool{}
	for _, r := range strings.Split(os.Getenv("FACEREC_QUALITY_IGNORE"), ",") {
		ignore[r] = r != ""
	}
	var mu sync.Mutex
	refused := map[string][]string{}
	gated := func(ctx context.Context, file string) ([]float32, bool, error) {
		img, _, err := photo.DecodeFile(file, photo.Options{})
		if err != nil {
			return nil, false, err
		}
		f, err := p.Subject(ctx, img)
		switch {
		case errors.Is(err, face.ErrNoFace):
			return nil, false, nil
		case err != nil && !errors.Is(err, face.ErrAmbiguous):
			return nil, false, err
		}
		rs, err := a.Analyze(ctx, img, []face.Face{f})
		if err != nil {
			return nil, false, err
		}
		var reasons []string
		for _, r := range rs[0].Quality.Reasons {
			if !ignore[r] {
				reasons = append(reasons, r)
			}
		}
		if len(reasons) > 0 {
			mu.Lock()
			refused[filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file)] = reasons
			mu.Unlock()
			return nil, false, nil
		}
		return f.Descriptor.Vector, true, nil
	}
	tau := face.ThresholdOf(p.Model()).Max
	base, err := eval.OneShot(ctx, root, embed, eval.OneShotConfig{Threshold: tau}, nil)
	if err != nil {
		t.Fatal(err)
	}
	withGate, err := eval.OneShot(ctx, root, embed, eval.OneShotConfig{Threshold: tau, Enroll: gated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	var names []string
	for n, rs := range refused {
		names = append(names, n)
		for _, r := range rs {
			reasons[r]++
		}
	}
	sort.Strings(names)
	for _, c := range []struct {
		name string
		r    *eval.OneShotResult
	}{{"every first photo", base}, {"poor photos refused", withGate}} {
		t.Logf("%s: %d enrolled (%d without an acceptable photo), rank-1 %.1f%%, DIR at FAR 1%% %.1f%%, at FAR 10%% %.1f%%, at τ=%.2f: DIR %.1f%% FAR %.1f%%",
			c.name, c.r.Enrolled, c.r.NotEnrolable, 100*c.r.Rank1, 100*c.r.DIRAtFAR1, 100*c.r.DIRAtFAR10, tau, 100*c.r.DIRAtTau, 100*c.r.FARAtTau)
	}
	t.Logf("photos refused on the way to an enrolment: %d (%s); reasons %v", len(names), strings.Join(names, " "), reasons)
}
