package eval

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
)

// ImageEmbedding is the descriptor of the face chosen in one image, or
// Found=false when no face was detected (or the file could not be read:
// Err says why).
type ImageEmbedding struct {
	Descriptor face.Descriptor
	Found      bool
	Faces      int // faces detected in the image
	Err        error
}

// EmbedCentred detects the faces of every file with p and keeps, per
// image, the face whose box centre is nearest the image centre: LFW (and
// most labelled crops) label the person in the middle, and a bystander can
// score higher. Files are processed on all cores; progress (may be nil) is
// called after each file. Unreadable files are reported in Err, not as an
// error of the whole run.
func EmbedCentred(ctx context.Context, p *face.Pipeline, files []string, progress func()) ([]ImageEmbedding, error) {
	out := make([]ImageEmbedding, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = embedCentred(p, files[i])
				if progress != nil {
					progress()
				}
			}
		}()
	}
	var err error
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	return out, err
}

func embedCentred(p *face.Pipeline, file string) ImageEmbedding {
	img, _, err := photo.DecodeFile(file, photo.Options{})
	if err != nil {
		return ImageEmbedding{Err: err}
	}
	t := photo.ToTensor(img)
	faces, err := p.Faces(t)
	if err != nil {
		return ImageEmbedding{Err: err}
	}
	if len(faces) == 0 {
		return ImageEmbedding{}
	}
	cx, cy := float64(t.Shape[1])/2, float64(t.Shape[0])/2
	best, bestD := 0, math.Inf(1)
	for i, f := range faces {
		d := math.Hypot(f.Box.X+f.Box.W/2-cx, f.Box.Y+f.Box.H/2-cy)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return ImageEmbedding{Descriptor: faces[best].Descriptor, Found: true, Faces: len(faces)}
}

// PairsResult is a pairs file evaluated with a pipeline.
type PairsResult struct {
	Summary
	Images       int     `json:"images"`
	ImagesNoFace int     `json:"images_no_face"`
	MissRate     float64 `json:"image_miss_rate"`
	// Head is the k-fold result of the logistic head, when asked for.
	Head *HeadResult `json:"head,omitempty"`

	// Distances, Same, Fold and Features (|f(a) − f(b)|, nil where a face
	// is missing) are per pair.
	Distances []float64   `json:"-"`
	Features  [][]float32 `json:"-"`
	Same      []bool      `json:"-"`
	Fold      []int       `json:"-"`
}

// HeadResult is the k-fold accuracy of the logistic head (trained on k−1
// folds, tested on the remaining one).
type HeadResult struct {
	MeanAccuracy   float64   `json:"mean_accuracy"`
	StdAccuracy    float64   `json:"std_accuracy"`
	FoldAccuracies []float64 `json:"fold_accuracies"`
}

// EvaluatePairs embeds every image of a pairs file under root (each image
// once), scores every pair by descriptor distance (NaN when either image
// has no face: counted as an error, never dropped) and runs the k-fold
// protocol. With head, the logistic head on |f(a) − f(b)| is also trained
// on k−1 folds and tested on the remaining one.
func EvaluatePairs(ctx context.Context, p *face.Pipeline, root string, pf *PairsFile, head bool, progress func(done, total int)) (*PairsResult, error) {
	index := map[string]int{}
	var files []string
	for _, pr := range pf.Pairs {
		for _, rel := range []string{pr.PathA(), pr.PathB()} {
			if _, ok := index[rel]; !ok {
				index[rel] = len(files)
				files = append(files, filepath.Join(root, rel))
			}
		}
	}
	var mu sync.Mutex
	done := 0
	embs, err := EmbedCentred(ctx, p, files, func() {
		if progress != nil {
			mu.Lock()
			done++
			progress(done, len(files))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	res := &PairsResult{Images: len(files), Same: pf.Same(), Fold: pf.FoldIndex()}
	if pf.Folds == 1 {
		// View 1 files are one fold: split them into ten interleaved folds so
		// the threshold is still always chosen on other pairs than it is
		// tested on.
		for i := range res.Fold {
			res.Fold[i] = i % 10
		}
	}
	for i, e := range embs {
		if e.Err != nil {
			return nil, fmt.Errorf("eval: %s: %w", files[i], e.Err)
		}
		if !e.Found {
			res.ImagesNoFace++
		}
	}
	res.MissRate = float64(res.ImagesNoFace) / float64(len(files))
	features := make([][]float32, len(pf.Pairs))
	for i, pr := range pf.Pairs {
		a, b := embs[index[pr.PathA()]], embs[index[pr.PathB()]]
		if !a.Found || !b.Found {
			res.Distances = append(res.Distances, math.NaN())
			continue
		}
		res.Distances = append(res.Distances, face.Distance(a.Descriptor, b.Descriptor))
		if features[i], err = AbsDiff(a.Descriptor[:], b.Descriptor[:]); err != nil {
			return nil, err
		}
	}
	res.Features = features
	if res.Summary, err = Summarize(res.Distances, res.Same, res.Fold); err != nil {
		return nil, err
	}
	if head {
		h, err := KFoldLogistic(features, res.Same, res.Fold, LogisticOptions{})
		if err != nil {
			return nil, err
		}
		res.Head = &HeadResult{MeanAccuracy: h.MeanAccuracy, StdAccuracy: h.StdAccuracy}
		for _, f := range h.Folds {
			res.Head.FoldAccuracies = append(res.Head.FoldAccuracies, f.Accuracy)
		}
	}
	return res, nil
}
