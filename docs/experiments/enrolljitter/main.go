// Command enrolljitter is the experiment behind --enroll-jitter's default
// (docs/lfw.md), not part of facerec: how much of jitter's gain remains
// when only one side of a comparison is jittered, as when a gallery photo
// is enrolled with jitter and the door camera's photo is not?
//
// It describes every image of both LFW View 1 pairs files (3,200 pairs)
// with the default pipeline and with 10 jittered copies, then scores the
// pairs plain–plain, jittered–plain (either image jittered) and
// jittered–jittered: k-fold accuracy over ten interleaved folds, the
// separation d′ = (mean different − mean same) / pooled standard deviation,
// and the wrong pairs at fixed thresholds around τ = 0.61. Run from the
// repository root (about 5 minutes on 2 cores):
//
//	go run ./docs/experiments/enrolljitter
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
)

func main() {
	lfw := flag.String("lfw", "../shared/data/lfw", "LFW folder: deepfunneled/ and the View 1 files")
	jitter := flag.Int("jitter", 10, "jittered copies on the enrolled side")
	flag.Parse()
	log.SetFlags(0)

	var pairs []eval.Pair
	for _, name := range []string{"pairsDevTest.txt", "pairsDevTrain.txt"} {
		f, err := os.Open(filepath.Join(*lfw, name))
		if err != nil {
			log.Fatal(err)
		}
		pf, err := eval.ParsePairs(f)
		f.Close()
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		pairs = append(pairs, pf.Pairs...)
	}
	dir, err := registry.Dir()
	if err != nil {
		log.Fatal(err)
	}
	plainP, err := face.Load(context.Background(), dir, face.Options{}, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	jitP, err := plainP.WithJitter(*jitter)
	if err != nil {
		log.Fatal(err)
	}
	root := filepath.Join(*lfw, "deepfunneled")
	plain := describeAll(root, pairs, plainP)
	jit := describeAll(root, pairs, jitP)

	same := make([]bool, len(pairs))
	fold := make([]int, len(pairs))
	for i, p := range pairs {
		same[i], fold[i] = p.Same, i%10
	}
	score := func(a, b map[string][]float32) []float64 {
		d := make([]float64, len(pairs))
		for i, p := range pairs {
			x, okA := a[p.PathA()]
			y, okB := b[p.PathB()]
			d[i] = math.NaN()
			if okA && okB {
				d[i] = face.Euclidean.Distance(x, y)
			}
		}
		return d
	}
	taus := []float64{0.58, 0.59, 0.60, 0.61, 0.62}
	fmt.Printf("%d pairs; %d jittered copies\n%-18s %8s %6s %6s", len(pairs), *jitter, "", "k-fold", "wrong", "d'")
	for _, tau := range taus {
		fmt.Printf("  τ=%.2f", tau)
	}
	fmt.Println()
	for _, v := range []struct {
		name string
		d    []float64
	}{
		{"plain-plain", score(plain, plain)},
		{"jittered-plain", score(jit, plain)},
		{"plain-jittered", score(plain, jit)},
		{"jittered-jittered", score(jit, jit)},
	} {
		res, err := eval.KFold(v.d, same, fold)
		if err != nil {
			log.Fatal(err)
		}
		wrong := 0
		for _, f := range res.Folds {
			wrong += int(math.Round(float64(f.Pairs) * (1 - f.Accuracy)))
		}
		fmt.Printf("%-18s %7.2f%% %6d %6.3f", v.name, 100*res.MeanAccuracy, wrong, dPrime(v.d, same))
		for _, tau := range taus {
			w := 0
			for i, d := range v.d {
				if !(d < tau) == same[i] {
					w++
				}
			}
			fmt.Printf("  %6d", w)
		}
		fmt.Println()
	}
}

// describeAll describes the centred face of every image of the pairs on
// all cores; an image without a face is left out (its pairs score NaN).
func describeAll(root string, pairs []eval.Pair, p *face.Pipeline) map[string][]float32 {
	var files []string
	seen := map[string]bool{}
	for _, pr := range pairs {
		for _, f := range []string{pr.PathA(), pr.PathB()} {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(root, f)
	}
	log.Printf("describing %d images (jitter %d)...", len(files), p.Options().Jitter)
	descs, found, err := eval.EmbedFiles(context.Background(), paths, eval.CentredFace(p), nil)
	if err != nil {
		log.Fatal(err)
	}
	out := map[string][]float32{}
	for i, f := range files {
		if found[i] {
			out[f] = descs[i]
		}
	}
	return out
}

// dPrime is (mean different − mean same) / pooled standard deviation over
// the pairs with a distance.
func dPrime(d []float64, same []bool) float64 {
	var n, sum, sq [2]float64
	for i, x := range d {
		if math.IsNaN(x) {
			continue
		}
		k := 0
		if same[i] {
			k = 1
		}
		n[k]++
		sum[k] += x
		sq[k] += x * x
	}
	var mean, v [2]float64
	for k := range mean {
		mean[k] = sum[k] / n[k]
		v[k] = sq[k]/n[k] - mean[k]*mean[k]
	}
	return (mean[0] - mean[1]) / math.Sqrt((v[0]+v[1])/2)
}
