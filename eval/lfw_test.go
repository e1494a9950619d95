package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model"
)

// TestEvaluatePairsOnLFW runs the real pipeline over a slice of View 1
// (20 matched and 20 mismatched pairs of pairsDevTest) end to end.
func TestEvaluatePairsOnLFW(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face pipeline over 80 photos")
	}
	lfw := sharedtest.Path(t, "data", "lfw")
	dir, err := model.Dir()
	if err == nil {
		err = model.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models", err)
	f, err := os.Open(filepath.Join(lfw, "pairsDevTest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := ParsePairs(f)
	if err != nil {
		t.Fatal(err)
	}
	pf.Pairs = append(pf.Pairs[:20:20], pf.Pairs[500:520]...)
	p, err := face.Load(context.Background(), dir, face.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	res, err := EvaluatePairs(context.Background(), p, filepath.Join(lfw, "deepfunneled"), pf, true, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if res.Pairs != 40 || res.Matched != 20 || calls != res.Images {
		t.Fatalf("pairs %d matched %d images %d progress calls %d", res.Pairs, res.Matched, res.Images, calls)
	}
	if res.ImagesNoFace != 0 {
		t.Errorf("%d images without a face", res.ImagesNoFace)
	}
	// These are easy pairs for the pretrained descriptor; a broken pipeline
	// (wrong alignment, wrong face) falls far below.
	if res.MeanAccuracy < 0.9 || res.Head == nil {
		t.Errorf("accuracy %.3f, head %v", res.MeanAccuracy, res.Head)
	}
	t.Logf("accuracy %.3f, AUC %.4f, head %.3f", res.MeanAccuracy, res.AUC, res.Head.MeanAccuracy)
}
