package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/facerec/facerec/internal/parallel"
	"github.com/facerec/facerec/photo"
)

// EmbedFunc computes the descriptor of the face in one image file; found is
// false when the image holds no face.
type EmbedFunc func(ctx context.Context, path string) (desc []float32, found bool, err error)

// OneShotConfig is the one-shot identification scenario on a folder of
// <person>/<photos>.
type OneShotConfig struct {
	// Strangers is the share of people left out of the gallery (their
	// photos probe as strangers). Default 0.2; negative means none.
	Strangers float64
	// Seed picks the strangers (deterministically).
	Seed uint64
	// Threshold is the operating point reported besides the curve.
	Threshold float64
	// Enroll, when set, describes the enrolled photos instead of the
	// EmbedFunc given to OneShot (which still describes every probe): a
	// product can spend more on the one-off enrolment than on each probe.
	Enroll EmbedFunc
}

// OneShotResult is what OneShot measured.
type OneShotResult struct {
	OpenSetResult
	People       int     `json:"people"`
	Enrolled     int     `json:"enrolled"`
	Images       int     `json:"images"`
	Threshold    float64 `json:"threshold"`
	DIRAtTau     float64 `json:"dir_at_threshold"`
	FARAtTau     float64 `json:"far_at_threshold"`
	NotEnrolable int     `json:"people_without_enrolable_photo"`
}

// OneShot enrols one photo per person (the first by name that has a face),
// probes with all their other photos, and treats a share of the people as
// strangers who are never enrolled: rank-1 accuracy on known probes, and the
// open-set curve (right person found below a threshold vs false alarms on
// strangers).
func OneShot(ctx context.Context, root string, embed EmbedFunc, cfg OneShotConfig, progress func(done, total int)) (*OneShotResult, error) {
	if cfg.Strangers == 0 {
		cfg.Strangers = 0.2
	}
	people, err := listPeople(root)
	if err != nil {
		return nil, err
	}
	if len(people) < 2 {
		return nil, fmt.Errorf("eval: %s holds %d people folders; need at least 2", root, len(people))
	}
	var files []string
	for _, p := range people {
		files = append(files, p.files...)
	}
	descs, found, err := EmbedFiles(ctx, files, embed, progress)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(people))
	for i, p := range people {
		names[i] = p.name
	}
	strangers := map[string]bool{}
	if cfg.Strangers > 0 {
		r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
		perm := r.Perm(len(names))
		n := int(float64(len(names))*cfg.Strangers + 0.5)
		for _, i := range perm[:n] {
			strangers[names[i]] = true
		}
	}
	res := &OneShotResult{People: len(people), Images: len(files), Threshold: cfg.Threshold}
	var gallery []Identity
	var probes []Probe
	k := 0
	for _, p := range people {
		enrolled := -1
		if !strangers[p.name] {
			for j := range p.files {
				if !found[k+j] {
					continue
				}
				d := descs[k+j]
				if cfg.Enroll != nil {
					e, ok, err := cfg.Enroll(ctx, p.files[j])
					if err != nil {
						return nil, err
					}
					if !ok {
						continue
					}
					d = e
				}
				enrolled = j
				gallery = append(gallery, Identity{Name: p.name, Embedding: d})
				break
			}
			if enrolled < 0 {
				res.NotEnrolable++
			}
		}
		for j := range p.files {
			if j != enrolled {
				probes = append(probes, Probe{Name: p.name, Embedding: descs[k+j]})
			}
		}
		k += len(p.files)
	}
	res.Enrolled = len(gallery)
	osr, err := OpenSet(gallery, probes, nil)
	if err != nil {
		return nil, err
	}
	res.OpenSetResult = *osr
	for _, pt := range osr.Points {
		if pt.Threshold < cfg.Threshold {
			res.DIRAtTau, res.FARAtTau = pt.DIR, pt.FAR
		}
	}
	return res, nil
}

type personFiles struct {
	name  string
	files []string
}

// listPeople reads <root>/<person>/<images>, sorted by name; person
// folders may be symbolic links.
func listPeople(root string) ([]personFiles, error) {
	folders, err := photo.ListFolders(root)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var out []personFiles
	for _, f := range folders {
		if len(f.Files) > 0 {
			out = append(out, personFiles{name: f.Name, files: f.Files})
		}
	}
	return out, nil
}

// EmbedFiles runs embed over files on all cores and returns each file's
// descriptor and whether it has a face, in the order of files. progress
// (may be nil) is called after each file. When embed fails on any file
// the error of the first such file is returned once all are done; a
// cancelled context stops the work and returns its error.
func EmbedFiles(ctx context.Context, files []string, embed EmbedFunc, progress func(done, total int)) ([][]float32, []bool, error) {
	descs := make([][]float32, len(files))
	found := make([]bool, len(files))
	errs := make([]error, len(files))
	var mu sync.Mutex
	done := 0
	err := parallel.For(ctx, len(files), 0, func(i int) {
		descs[i], found[i], errs[i] = embed(ctx, files[i])
		if progress != nil {
			mu.Lock()
			done++
			progress(done, len(files))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for i, e := range errs {
		if e != nil {
			return nil, nil, fmt.Errorf("eval: %s: %w", files[i], e)
		}
	}
	return descs, found, nil
}
