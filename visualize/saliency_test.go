package visualize

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model"
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
	p, err := face.Load(context.Background(), dir, face.Options{Descriptor: face.DescriptorDlib}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := model.LoadWeights(dir, model.RecognitionName)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewRecognitionNet(w)
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{
		{"Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg"},
		{"Abdullah_Gul/Abdullah_Gul_0001.jpg", "Abdullah_Gul/Abdullah_Gul_0003.jpg"},
		{"Aaron_Peirsol/Aaron_Peirsol_0003.jpg", "Abdullah_Gul/Abdullah_Gul_0002.jpg"},
		{"AJ_Cook/AJ_Cook_0001.jpg", "Aaron_Eckhart/Aaron_Eckhart_0001.jpg"},
	}
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
		e, err := Explain(context.Background(), p, net, ia, ib, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s – %s: d %.3f, saliency in box %.0f%% (uniform over the chip: %.0f%%), Grad-CAM in box %.0f%%; in the inner face %.0f%% (uniform %.0f%%)",
			filepath.Base(pr[0]), filepath.Base(pr[1]), e.Distance, 100*e.SaliencyInBox, 100*e.UniformInBox, 100*e.GradCAMInBox, 100*e.SaliencyInInner, 100*e.UniformInInner)
		if e.SaliencyInBox <= 0.5 {
			t.Errorf("%s – %s: only %.0f%% of the saliency inside the face box", pr[0], pr[1], 100*e.SaliencyInBox)
		}
		if e.SaliencyInInner < e.UniformInInner+0.1 {
			t.Errorf("%s – %s: %.0f%% of the saliency in the inner face, hardly above the %.0f%% of a uniform map", pr[0], pr[1], 100*e.SaliencyInInner, 100*e.UniformInInner)
		}
	}
}
