package eval

import (
	"context"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/parallel"
	"github.com/facerec/facerec/photo"
)

// SubjectDescriber describes the subject of a labelled photo with several
// descriptor models, finding the face once (with the first pipeline; they
// must share its detector and landmarks). It follows CentredFace's policy.
type SubjectDescriber struct {
	Pipelines []*face.Pipeline
	// Quality, when set, also measures the subject's photo quality
	// (analysis.Analyzer.Quality), kept in the cache beside the
	// descriptors so that a quality gate can be tried without
	// describing the photos again.
	Quality func(ctx context.Context, img image.Image, f face.Face) (analysis.Quality, error)
}

// Key names what the describer computes, for a DescriptorCache: the models
// and the options that change a descriptor.
func (d SubjectDescriber) Key() string {
	var parts []string
	for _, p := range d.Pipelines {
		o := p.Options()
		parts = append(parts, fmt.Sprintf("%s;%+v", p.Model().ID(), o))
	}
	if d.Quality != nil {
		parts = append(parts, "quality")
	}
	return strings.Join(parts, "|")
}

// Describe returns one descriptor per pipeline, nil when the photo holds
// no face, and the subject's quality when d.Quality is set (nil without a
// face).
func (d SubjectDescriber) Describe(ctx context.Context, path string) ([][]float32, *analysis.Quality, error) {
	img, _, err := photo.DecodeFile(path, photo.Options{})
	if err != nil {
		return nil, nil, err
	}
	out := make([][]float32, len(d.Pipelines))
	f, err := d.Pipelines[0].Subject(ctx, img)
	switch {
	case errors.Is(err, face.ErrNoFace):
		return out, nil, nil
	case err != nil && !errors.Is(err, face.ErrAmbiguous):
		return nil, nil, err
	}
	out[0] = f.Descriptor.Vector
	for i, p := range d.Pipelines[1:] {
		desc, err := p.Describe(ctx, img, f)
		if err != nil {
			return nil, nil, err
		}
		out[i+1] = desc.Vector
	}
	if d.Quality == nil {
		return out, nil, nil
	}
	q, err := d.Quality(ctx, img, f)
	if err != nil {
		return nil, nil, fmt.Errorf("quality: %w", err)
	}
	return out, &q, nil
}

// DescriptorCache keeps computed descriptors on disk between evaluation
// runs, so that trying another decision rule does not describe 13,000
// photos again. An entry is used only for the same describer key and the
// same file (path, size and modification time); the rest is computed.
type DescriptorCache struct {
	path, key string
	mu        sync.Mutex
	entries   map[string]cacheEntry
}

type cacheEntry struct {
	Size    int64
	ModTime int64
	Vectors [][]float32
	Quality *analysis.Quality // with SubjectDescriber.Quality (part of the key)
}

type cacheFile struct {
	Key     string
	Entries map[string]cacheEntry
}

// OpenDescriptorCache opens (or starts) the cache of one describer key
// in dir; dir "" gives a cache that keeps nothing.
func OpenDescriptorCache(dir, key string) (*DescriptorCache, error) {
	c := &DescriptorCache{key: key, entries: map[string]cacheEntry{}}
	if dir == "" {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("descriptor cache: %w", err)
	}
	c.path = filepath.Join(dir,
		fmt.Sprintf("descriptors-%.8x.gob", sha256.Sum256([]byte(key))))
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("descriptor cache: %w", err)
	}
	defer f.Close()
	var stored cacheFile
	if err := gob.NewDecoder(f).Decode(&stored); err == nil && stored.Key == key {
		c.entries = stored.Entries
	} // a damaged or foreign cache is recomputed, not trusted
	return c, nil
}

// get returns the cached vectors of path, if they are of this very file.
func (c *DescriptorCache) get(path string, st os.FileInfo) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[path]
	if !ok || e.Size != st.Size() || e.ModTime != st.ModTime().UnixNano() {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *DescriptorCache) put(path string, st os.FileInfo, v [][]float32, q *analysis.Quality) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[path] = cacheEntry{Size: st.Size(), ModTime: st.ModTime().UnixNano(), Vectors: v, Quality: q}
}

// Save writes the cache (atomically: a killed run leaves the old one).
func (c *DescriptorCache) Save() error {
	if c.path == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tmp := c.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("descriptor cache: %w", err)
	}
	if err := gob.NewEncoder(f).Encode(cacheFile{Key: c.key, Entries: c.entries}); err != nil {
		f.Close()
		return fmt.Errorf("descriptor cache: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("descriptor cache: %w", err)
	}
	return os.Rename(tmp, c.path)
}

// Described is what DescribeAll found in each of its files.
type Described struct {
	// Vectors[m][i] is model m's descriptor of files[i], nil without a
	// face.
	Vectors [][][]float32
	// Quality[i] is the subject's quality in files[i] when the describer
	// measures it, nil without a face (and all nil when it does not).
	Quality []*analysis.Quality
}

// DescribeAll describes every file with d on all cores, through the
// cache (saved every 500 new files and at the end).
func DescribeAll(ctx context.Context, files []string, d SubjectDescriber, cache *DescriptorCache, progress func(done, total int)) (*Described, error) {
	res := &Described{Vectors: make([][][]float32, len(d.Pipelines)), Quality: make([]*analysis.Quality, len(files))}
	out := res.Vectors
	for m := range out {
		out[m] = make([][]float32, len(files))
	}
	errs := make([]error, len(files))
	var mu sync.Mutex
	done, fresh := 0, 0
	err := parallel.For(ctx, len(files), 0, func(i int) {
		st, err := os.Stat(files[i])
		if err != nil {
			errs[i] = err
			return
		}
		e, ok := cache.get(files[i], st)
		if !ok {
			if e.Vectors, e.Quality, err = d.Describe(ctx, files[i]); err != nil {
				errs[i] = err
				return
			}
			cache.put(files[i], st, e.Vectors, e.Quality)
		}
		for m, v := range e.Vectors {
			out[m][i] = v
		}
		res.Quality[i] = e.Quality
		mu.Lock()
		defer mu.Unlock()
		done++
		if !ok {
			if fresh++; fresh%500 == 0 {
				if err := cache.Save(); err != nil {
					errs[i] = err
				}
			}
		}
		if progress != nil {
			progress(done, len(files))
		}
	})
	if err != nil {
		return nil, err
	}
	for i, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("eval: %s: %w", files[i], e)
		}
	}
	return res, cache.Save()
}
