package visualize

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
)

// TestSaliencyOnFace: on real LFW pairs (two of one person, two of
// different people) most of the saliency map's mass lies inside photo A's
// face box. The maps are zero outside the aligned chip, and the chip lies
// mostly inside the detector's box (a map uniform over the chip has 80–90%
// of its mass there), so that alone says little; the test also asks that
// the saliency concentrates on the inner face (the box of the landmarks
// 17 … 67) at least 10 points above a uniform map's share. The Grad-CAM
// fraction is logged.
func TestSaliencyOnFace(t *testing.T) {
	if testing.Short() {
		t.Skip("the full pipeline on LFW photos")
	}
	lfw := sharedtest.Path(t, "data", "lfw", "deepfunneled")
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	pairs := [][2]string{
		{"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg"},
		{"Abdullah_Gul/Abdullah_Gul_0001.jpg", "Abdullah_Gul/Abdullah_Gul_0003.jpg"},
		{"Aaron_Peirsol/Aaron_Peirsol_0003.jpg", "Abdullah_Gul/Abdullah_Gul_0002.jpg"},
		{"AJ_Cook/AJ_Cook_0001.jpg", "Aaron_Eckhart/Aaron_Eckhart_0001.jpg"},
	}
	for _, c := range []struct {
		name string
		opt  face.Options
		xo   ExplainOptions
	}{
		{"dlib", face.Options{Descriptor: face.DescriptorDlib}, ExplainOptions{}},
		// The server's bound: maps of at most 128 px for 250 px photos.
		{"dlib at 128 px", face.Options{Descriptor: face.DescriptorDlib}, ExplainOptions{MaxSide: 128}},
		{"mobilefacenet", face.Options{Descriptor: face.DescriptorMobileFaceNet}, ExplainOptions{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.opt.Descriptor == face.DescriptorMobileFaceNet {
				sharedtest.Need(t, "the MobileFaceNet model (run `facerec models pull fr_feature`)", registry.Verify(dir, registry.FRFeature))
			}
			p, err := face.Load(context.Background(), dir, c.opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			x, err := NewExplainer(p, c.xo)
			if err != nil {
				t.Fatal(err)
			}
			saliencyPairs(t, x, lfw, pairs, c.xo.MaxSide)
		})
	}
}

func saliencyPairs(t *testing.T, x *Explainer, lfw string, pairs [][2]string, maxSide int) {
	for _, pr := range pairs {
		a, b := filepath.Join(lfw, pr[0]), filepath.Join(lfw, pr[1])
		if _, err := os.Stat(a); err != nil {
			t.Skipf("LFW photo %s: %v", pr[0], err)
		}
		ia, _, err := photo.DecodeFile(a, photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ib, _, err := photo.DecodeFile(b, photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := x.Pair(context.Background(), ia, ib)
		if err != nil {
			t.Fatal(err)
		}
		// The distance explained is the decision's (the plain pipeline).
		fa, errA := x.p.Subject(context.Background(), ia)
		fb, errB := x.p.Subject(context.Background(), ib)
		if err := errors.Join(errA, errB); err != nil {
			t.Fatal(err)
		}
		if want := x.m.Metric().Distance(fa.Descriptor.Vector, fb.Descriptor.Vector); math.Abs(e.Distance-want) > 1e-4 {
			t.Errorf("%s – %s: explained distance %.5f, the pipeline's %.5f", pr[0], pr[1], e.Distance, want)
		}
		t.Logf("%s – %s: d %.3f, saliency in box %.0f%% (uniform over the chip: %.0f%%), Grad-CAM in box %.0f%%; in the inner face %.0f%% (uniform %.0f%%)",
			filepath.Base(pr[0]), filepath.Base(pr[1]), e.Distance, 100*e.SaliencyInBox, 100*e.UniformInBox, 100*e.GradCAMInBox, 100*e.SaliencyInInner, 100*e.UniformInInner)
		if e.SaliencyInBox <= 0.5 {
			t.Errorf("%s – %s: only %.0f%% of the saliency inside the face box", pr[0], pr[1], 100*e.SaliencyInBox)
		}
		if e.SaliencyInInner < e.UniformInInner+0.1 {
			t.Errorf("%s – %s: %.0f%% of the saliency in the inner face, hardly above the %.0f%% of a uniform map", pr[0], pr[1], 100*e.SaliencyInInner, 100*e.UniformInInner)
		}
		// The maps cover photo A, scaled down to maxSide when it is larger.
		wantW, wantH := ia.Bounds().Dx(), ia.Bounds().Dy()
		if maxSide > 0 && max(wantW, wantH) > maxSide {
			k := float64(maxSide) / float64(max(wantW, wantH))
			wantW, wantH = int(math.Round(float64(wantW)*k)), int(math.Round(float64(wantH)*k))
		}
		for _, img := range []image.Image{e.SaliencyHeat(), e.GradCAMHeat(), e.SaliencyImage, e.GradCAMImage} {
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("%s: a map of %v, want %d×%d", pr[0], b, wantW, wantH)
			}
		}
		if e.W != wantW || e.H != wantH || len(e.Saliency) != wantW*wantH {
			t.Errorf("%s: maps %d×%d (%d values), want %d×%d", pr[0], e.W, e.H, len(e.Saliency), wantW, wantH)
		}
	}
}
