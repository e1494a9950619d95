package eval

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
)

// TestEvaluatePairsOnLFW runs the real pipeline over a slice of View 1
// (20 matched and 20 mismatched pairs of pairsDevTest) end to end.
func TestEvaluatePairsOnLFW(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face pipeline over 80 photos")
	}
	lfw := sharedtest.Path(t, "data", "lfw")
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
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

// TestWriteCSV checks the per-pair rows on a hand-made result: each pair is
// judged with its own fold's threshold, and a missing face is an error.
func TestWriteCSV(t *testing.T) {
	r := &PairsResult{
		Summary:   Summary{Thresholds: []float64{0.5, 0.7}},
		Distances: []float64{0.6, 0.6, math.NaN(), 0.2},
		Same:      []bool{true, true, true, false},
		Fold:      []int{0, 1, 1, 0},
		A:         []string{"a/1", "b/1", "c/1", "d/1"},
		B:         []string{"a/2", "b/2", "c/2", "e/1"},
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	want := `fold,a,b,same,distance,threshold,correct
0,a/1,a/2,true,0.600000,0.500000,false
1,b/1,b/2,true,0.600000,0.700000,true
1,c/1,c/2,true,NaN,0.700000,false
0,d/1,e/1,false,0.200000,0.500000,false
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	r.Thresholds = r.Thresholds[:1]
	if err := r.WriteCSV(&buf); err == nil {
		t.Error("two folds with one threshold: no error")
	}
}
