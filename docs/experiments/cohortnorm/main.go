// Command cohortnorm is the cohort score normalisation experiment of
// docs/lfw.md, not part of facerec: does normalising each pair's distance by
// how far each image lies from a cohort of other people make the LFW k-fold
// accuracy better?
//
// For every image x of the pairs file it takes the distances from x to the
// cohort's descriptors and keeps the K smallest (all when K = 0), with mean
// μ(x) and standard deviation σ(x). For a pair (a, b) at distance d it scores
//
//	snorm: ((d − μ(a))/σ(a) + (d − μ(b))/σ(b)) / 2
//	ratio: d / ((μ(a) + μ(b)) / 2)
//	shift: d − (μ(a) + μ(b)) / 2
//
// and runs the same k-fold protocol as `facerec eval lfw` (a View 1 file is
// split into ten interleaved folds). The cohort's people must not be the
// pairs' people: use the other View 1 file's people. Run from the repository
// root:
//
//	go run ./docs/experiments/cohortnorm --pairs pairsDevTest.txt --cohort peopleDevTrain.txt
//	go run ./docs/experiments/cohortnorm --pairs pairsDevTrain.txt --cohort peopleDevTest.txt
//
// add --cohort-size 3000 for the equal-size cohorts. Descriptors come from
// the default pipeline (eval.CentredFace); --cache keeps them between runs.
package main

import (
	"context"
	"encoding/gob"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
)

func main() {
	lfw := flag.String("lfw", "../shared/data/lfw", "LFW folder: deepfunneled/ and the View 1 files")
	pairsName := flag.String("pairs", "pairsDevTest.txt", "pairs file to score, in the LFW folder")
	cohortName := flag.String("cohort", "peopleDevTrain.txt", "people file whose images form the cohort, in the LFW folder")
	cohortSize := flag.Int("cohort-size", 0, "use this many cohort images, evenly spaced over the sorted list (0: all)")
	cache := flag.String("cache", "", "gob file of descriptors to reuse between runs (optional)")
	flag.Parse()
	log.SetFlags(0)

	pf, err := readWith(filepath.Join(*lfw, *pairsName), eval.ParsePairs)
	if err != nil {
		log.Fatal(err)
	}
	people, err := readWith(filepath.Join(*lfw, *cohortName), eval.ParsePeople)
	if err != nil {
		log.Fatal(err)
	}
	var cohortFiles []string
	for _, p := range people {
		cohortFiles = append(cohortFiles, p.Paths()...)
	}
	slices.Sort(cohortFiles)
	if n := *cohortSize; n > 0 && n < len(cohortFiles) {
		sub := make([]string, n)
		for i := range sub {
			sub[i] = cohortFiles[i*len(cohortFiles)/n]
		}
		cohortFiles = sub
	}
	var pairFiles []string
	for _, pr := range pf.Pairs {
		pairFiles = append(pairFiles, pr.PathA(), pr.PathB())
	}

	desc, err := describe(filepath.Join(*lfw, "deepfunneled"), append(slices.Clone(cohortFiles), pairFiles...), *cache)
	if err != nil {
		log.Fatal(err)
	}
	var cohort [][]float32
	for _, f := range cohortFiles {
		if d, ok := desc[f]; ok {
			cohort = append(cohort, d)
		}
	}
	fmt.Printf("%s: %d pairs; cohort %s: %d of %d images with a face\n", *pairsName, len(pf.Pairs), *cohortName, len(cohort), len(cohortFiles))

	same := pf.Same()
	fold := pf.FoldIndex()
	if pf.Folds == 1 {
		for i := range fold {
			fold[i] = i % 10
		}
	}
	report := func(name string, scores []float64) {
		res, err := eval.KFold(scores, same, fold)
		if err != nil {
			log.Fatal(err)
		}
		roc, err := eval.ROC(scores, same)
		if err != nil {
			log.Fatal(err)
		}
		wrong := 0
		for _, f := range res.Folds {
			wrong += int(math.Round(float64(f.Pairs) * (1 - f.Accuracy)))
		}
		fmt.Printf("%-14s accuracy %.2f%% (%2d wrong)  AUC %.5f\n", name, 100*res.MeanAccuracy, wrong, eval.AUC(roc))
	}

	raw := make([]float64, len(pf.Pairs))
	for i, pr := range pf.Pairs {
		raw[i] = distance(desc, pr.PathA(), pr.PathB())
	}
	report("raw", raw)
	for _, k := range []int{0, 1000, 300, 100, 50, 30, 20, 10} {
		st := map[string]stats{}
		get := func(f string) stats {
			s, ok := st[f]
			if !ok {
				s = cohortStats(desc[f], cohort, k)
				st[f] = s
			}
			return s
		}
		snorm := make([]float64, len(raw))
		ratio := make([]float64, len(raw))
		shift := make([]float64, len(raw))
		for i, pr := range pf.Pairs {
			d := raw[i]
			if math.IsNaN(d) {
				snorm[i], ratio[i], shift[i] = d, d, d
				continue
			}
			a, b := get(pr.PathA()), get(pr.PathB())
			snorm[i] = ((d-a.mean)/a.std + (d-b.mean)/b.std) / 2
			ratio[i] = d / ((a.mean + b.mean) / 2)
			shift[i] = d - (a.mean+b.mean)/2
		}
		for _, v := range []struct {
			name   string
			scores []float64
		}{{"snorm", snorm}, {"ratio", ratio}, {"shift", shift}} {
			report(fmt.Sprintf("K=%d %s", k, v.name), v.scores)
		}
	}
}

// readWith opens path and parses it.
func readWith[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// describe returns the descriptor of the centred face of every file that
// has one, keyed by the path relative to root, reading and extending cache.
func describe(root string, files []string, cache string) (map[string][]float32, error) {
	desc := map[string][]float32{}
	if cache != "" {
		f, err := os.Open(cache)
		switch {
		case err == nil:
			err = gob.NewDecoder(f).Decode(&desc)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cache, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	var todo []string
	for _, f := range slices.Compact(slices.Sorted(slices.Values(files))) {
		if _, ok := desc[f]; !ok {
			todo = append(todo, f)
		}
	}
	if len(todo) == 0 {
		return desc, nil
	}
	dir, err := registry.Dir()
	if err != nil {
		return nil, err
	}
	p, err := face.Load(context.Background(), dir, face.Options{}, os.Stderr)
	if err != nil {
		return nil, err
	}
	log.Printf("describing %d images...", len(todo))
	paths := make([]string, len(todo))
	for i, f := range todo {
		paths[i] = filepath.Join(root, f)
	}
	descs, found, err := eval.EmbedFiles(context.Background(), paths, eval.CentredFace(p), nil)
	if err != nil {
		return nil, err
	}
	for i, f := range todo {
		if found[i] {
			desc[f] = descs[i]
		}
	}
	if cache != "" {
		f, err := os.Create(cache)
		if err != nil {
			return nil, err
		}
		if err := gob.NewEncoder(f).Encode(desc); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return desc, nil
}

// distance is the Euclidean distance between the descriptors of two files,
// NaN when either has no face.
func distance(desc map[string][]float32, a, b string) float64 {
	x, okA := desc[a]
	y, okB := desc[b]
	if !okA || !okB {
		return math.NaN()
	}
	return face.Euclidean.Distance(x, y)
}

// stats are the mean and standard deviation of an image's distances to
// its nearest cohort descriptors.
type stats struct{ mean, std float64 }

// cohortStats returns the stats of the k smallest distances from x to the
// cohort (all of them when k is 0 or more than the cohort).
func cohortStats(x []float32, cohort [][]float32, k int) stats {
	ds := make([]float64, len(cohort))
	for i, c := range cohort {
		ds[i] = face.Euclidean.Distance(x, c)
	}
	slices.Sort(ds)
	if k > 0 && k < len(ds) {
		ds = ds[:k]
	}
	var s stats
	for _, d := range ds {
		s.mean += d
	}
	s.mean /= float64(len(ds))
	for _, d := range ds {
		s.std += (d - s.mean) * (d - s.mean)
	}
	s.std = math.Sqrt(s.std / float64(len(ds)))
	return s
}
