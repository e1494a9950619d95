package eval

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
)

// CentredFace is an EmbedFunc for labelled photos: the face-choice
// policy of labelled photos, [face.Pipeline.Subject] (the face nearest the
// image centre, looked for harder when none covers it). LFW, like most
// labelled face crops, labels the person in the middle, and a bystander can
// score higher. A protocol must take a face from every image it can, so
// where another face could also be the subject (face.ErrAmbiguous) the
// subject is taken all the same.
func CentredFace(p *face.Pipeline) EmbedFunc {
	return func(ctx context.Context, file string) ([]float32, bool, error) {
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
		return f.Descriptor.Vector, true, nil
	}
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
	// A and B are each pair's image paths relative to the root.
	A, B []string `json:"-"`
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
	descs, found, err := EmbedFiles(ctx, files, CentredFace(p), progress)
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
	for _, ok := range found {
		if !ok {
			res.ImagesNoFace++
		}
	}
	res.MissRate = float64(res.ImagesNoFace) / float64(len(files))
	features := make([][]float32, len(pf.Pairs))
	for i, pr := range pf.Pairs {
		res.A = append(res.A, pr.PathA())
		res.B = append(res.B, pr.PathB())
		a, b := index[pr.PathA()], index[pr.PathB()]
		if !found[a] || !found[b] {
			res.Distances = append(res.Distances, math.NaN())
			continue
		}
		res.Distances = append(res.Distances, p.Model().Metric().Distance(descs[a], descs[b]))
		if features[i], err = face.AbsDiff(descs[a], descs[b]); err != nil {
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

// WriteCSV writes one row per pair: its fold, both image paths, the label,
// the distance, the threshold chosen for its fold on the other folds, and
// whether the pair was decided right (a missing face is wrong), so that
// the errors can be looked at one by one.
func (r *PairsResult) WriteCSV(w io.Writer) error {
	// Summarize ran the folds in ascending order of their identifiers.
	ids := slices.Compact(slices.Sorted(slices.Values(r.Fold)))
	if len(ids) != len(r.Thresholds) {
		return fmt.Errorf("lfw: %d folds but %d thresholds", len(ids), len(r.Thresholds))
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"fold", "a", "b", "same", "distance", "threshold", "correct"})
	for i := range r.Distances {
		k, _ := slices.BinarySearch(ids, r.Fold[i])
		tau := r.Thresholds[k]
		d := r.Distances[i]
		correct := !math.IsNaN(d) && (d < tau) == r.Same[i]
		cw.Write([]string{
			strconv.Itoa(r.Fold[i]), r.A[i], r.B[i], strconv.FormatBool(r.Same[i]),
			strconv.FormatFloat(d, 'f', 6, 64), strconv.FormatFloat(tau, 'f', 6, 64), strconv.FormatBool(correct),
		})
	}
	cw.Flush()
	return cw.Error()
}
