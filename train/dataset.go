package train

import (
	"context"

	"fmt"
	"image"
	"os"
	"slices"
	"sync"

	"github.com/facerec/facerec/internal/parallel"

	"github.com/facerec/facerec/model"

	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// DatasetConfig configures [OpenDataset].
type DatasetConfig struct {
	// Root is a folder with one sub-folder per identity, named after it,
	// holding that identity's images.
	Root string
	// Size is the height and width of the images the dataset returns,
	// the network's input size (e.g. 64 or 96).
	Size int
	// Grey returns one-channel luma images instead of RGB. Grey sources
	// (such as AT&T's PGMs) decode to RGB with equal channels, so without
	// Grey they train as RGB.
	Grey bool
	// Aligned takes the images as they are, already cropped to the face,
	// and resizes them to Size. Exactly one of Aligned and Align must be
	// set.
	Aligned bool
	// Align detects and aligns the face in the image at path and returns
	// the chip as an [H, W, 3] tensor with values in 0..255. It is called
	// at most once per image: chips are cached in memory and, with
	// CacheDir, on disk.
	Align func(path string) (*tensor.Tensor, error)
	// CacheDir, when set with Align, keeps the aligned chips on disk across
	// runs, keyed by the image's path, size and modification time and the
	// output size. The key does not know the aligner, so use a different
	// folder for a different alignment.
	CacheDir string
	// People keeps only the identities named (e.g. from [ReadPeopleFile]);
	// nil keeps all. A named identity without a folder is an error.
	People []string
	// Exclude drops the identities named, e.g. a held-out test set.
	Exclude []string
	// MinImages drops identities with fewer images, typically K.
	MinImages int
	// Decode limits decoding; the zero value is photo's defaults.
	Decode photo.Options
}

// Dataset is a face dataset: identities (labels 0..Len()−1 in name order)
// and their images, decoded or aligned on first use and cached in memory as
// bytes at the output size. It is safe for concurrent use.
type Dataset struct {
	cfg   DatasetConfig
	names []string
	paths [][]string
	chips [][]chip
}

// chip is one cached image: H×W×C bytes at the output size, or the error
// that loading it gave (a bad file stays bad, so it is not retried).
type chip struct {
	once sync.Once
	pix  []uint8
	err  error
}

// OpenDataset lists the identities and images under cfg.Root; the images
// themselves are read when first needed. Identities and images are sorted
// by name so that labels are stable across runs.
func OpenDataset(cfg DatasetConfig) (*Dataset, error) {
	switch {
	case cfg.Size <= 0 || cfg.Size > 4096:
		return nil, fmt.Errorf("open dataset: size %d outside 1..4096", cfg.Size)
	case cfg.Aligned == (cfg.Align != nil):
		return nil, fmt.Errorf("open dataset: set exactly one of Aligned and Align")
	case cfg.CacheDir != "" && cfg.Align == nil:
		return nil, fmt.Errorf("open dataset: CacheDir needs Align (aligned images are read directly)")
	}
	// Identity folders may be symbolic links (a subset of a dataset made of
	// links): photo.ListFolders follows them.
	folders, err := photo.ListFolders(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	keep := func(string) bool { return true }
	if cfg.People != nil {
		want := make(map[string]bool, len(cfg.People))
		for _, p := range cfg.People {
			want[p] = true
		}
		for _, f := range folders {
			delete(want, f.Name)
		}
		if len(want) > 0 {
			missing := make([]string, 0, len(want))
			for p := range want {
				missing = append(missing, p)
			}
			slices.Sort(missing)
			return nil, fmt.Errorf("open dataset: %d listed identities have no folder in %s, e.g. %q", len(missing), cfg.Root, missing[0])
		}
		listed := make(map[string]bool, len(cfg.People))
		for _, p := range cfg.People {
			listed[p] = true
		}
		keep = func(name string) bool { return listed[name] }
	}
	d := &Dataset{cfg: cfg}
	for _, f := range folders {
		if !keep(f.Name) || slices.Contains(cfg.Exclude, f.Name) {
			continue
		}
		if len(f.Files) == 0 || len(f.Files) < cfg.MinImages {
			continue
		}
		d.names = append(d.names, f.Name)
		d.paths = append(d.paths, f.Files)
		d.chips = append(d.chips, make([]chip, len(f.Files)))
	}
	if len(d.names) == 0 {
		return nil, fmt.Errorf("open dataset: no identity in %s has %d or more images", cfg.Root, max(cfg.MinImages, 1))
	}
	return d, nil
}

// ReadPeopleFile returns the names in an LFW people file such as
// peopleDevTrain.txt, for DatasetConfig.People.
func ReadPeopleFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read people file: %w", err)
	}
	defer f.Close()
	people, err := eval.ParsePeople(f)
	if err != nil {
		return nil, fmt.Errorf("read people file %s: %w", path, err)
	}
	names := make([]string, len(people))
	for i, p := range people {
		names[i] = p.Name
	}
	return names, nil
}

// Len returns the number of identities.
func (d *Dataset) Len() int { return len(d.names) }

// Name returns the name (folder) of identity id.
func (d *Dataset) Name(id int) string { return d.names[id] }

// Paths returns the image paths of identity id, sorted.
func (d *Dataset) Paths(id int) []string { return slices.Clone(d.paths[id]) }

// Counts returns the number of images of each identity, for NewSampler.
func (d *Dataset) Counts() []int {
	c := make([]int, len(d.paths))
	for i, p := range d.paths {
		c[i] = len(p)
	}
	return c
}

// Channels returns the number of channels of the images: 1 with Grey,
// otherwise 3.
func (d *Dataset) Channels() int {
	if d.cfg.Grey {
		return 1
	}
	return 3
}

// Shape returns the shape of one image, [Size, Size, Channels].
func (d *Dataset) Shape() []int { return []int{d.cfg.Size, d.cfg.Size, d.Channels()} }

// Raw returns image img of identity id at the output size with values in
// 0..255, before normalisation.
func (d *Dataset) Raw(id, img int) (*tensor.Tensor, error) {
	pix, err := d.load(id, img)
	if err != nil {
		return nil, err
	}
	t := tensor.New(d.Shape()...)
	for i, v := range pix {
		t.Data[i] = float32(v)
	}
	return t, nil
}

// Image returns image img of identity id, normalised as the network sees
// it (see [Normalize]).
func (d *Dataset) Image(id, img int) (*tensor.Tensor, error) {
	t, err := d.Raw(id, img)
	if err != nil {
		return nil, err
	}
	Normalize(t.Data)
	return t, nil
}

// Normalize maps pixel values in 0..255 to (v − 127.5) / 127.5, that is to
// −1..1: roughly zero mean and unit scale for face images, which keeps the
// first layer's activations in the range its initialisation expects.
func Normalize(p []float32) { model.NormalizeInput(p) }

// load returns the cached bytes of an image, loading them on first use.
func (d *Dataset) load(id, img int) ([]uint8, error) {
	if id < 0 || id >= len(d.paths) || img < 0 || img >= len(d.paths[id]) {
		return nil, fmt.Errorf("dataset: no image %d of identity %d", img, id)
	}
	c := &d.chips[id][img]
	c.once.Do(func() {
		c.pix, c.err = d.read(d.paths[id][img])
		if c.err != nil {
			c.err = fmt.Errorf("dataset: %s: %w", d.paths[id][img], c.err)
		}
	})
	return c.pix, c.err
}

// read produces the output-size bytes of the image at path: decoded and
// resized, or aligned (through the disk cache when there is one).
func (d *Dataset) read(path string) ([]uint8, error) {
	if d.cfg.Aligned {
		img, _, err := photo.DecodeFile(path, d.cfg.Decode)
		if err != nil {
			return nil, err
		}
		return d.resize(img), nil
	}
	var key string
	if d.cfg.CacheDir != "" {
		var err error
		if key, err = cacheKey(path, d.cfg.Size, d.Channels()); err != nil {
			return nil, err
		}
		if pix, ok := readCache(d.cfg.CacheDir, key, d.Shape()); ok {
			return pix, nil
		}
	}
	t, err := d.cfg.Align(path)
	if err != nil {
		return nil, fmt.Errorf("align: %w", err)
	}
	img, err := photo.FromTensor(t)
	if err != nil {
		return nil, fmt.Errorf("align: %w", err)
	}
	pix := d.resize(img)
	if key != "" {
		if err := writeCache(d.cfg.CacheDir, key, d.Shape(), pix); err != nil {
			return nil, err
		}
	}
	return pix, nil
}

// resize scales img to Size×Size with x/image's bilinear filter, whose
// kernel widens when shrinking so that downscaled faces do not alias, and
// returns its RGB or luma bytes.
func (d *Dataset) resize(img *image.RGBA) []uint8 {
	return model.ScaleChip(img, d.cfg.Size, d.Channels() == 1)
}

// Prune loads every image now (on all cores) and drops those that fail to
// load or align (no face found, unreadable file), then identities left with
// fewer than MinImages. It returns the dropped files with their errors, so
// a caller can report them; a dataset is pruned before training starts,
// because labels change.
func (d *Dataset) Prune() (dropped []error) {
	type job struct{ id, img int }
	var jobs []job
	for id := range d.paths {
		for img := range d.paths[id] {
			jobs = append(jobs, job{id, img})
		}
	}
	parallel.For(context.Background(), len(jobs), 0, func(i int) { d.load(jobs[i].id, jobs[i].img) })
	var names []string
	var paths [][]string
	var chips [][]chip
	for id := range d.paths {
		var ps []string
		var cs []chip
		for img, p := range d.paths[id] {
			if c := &d.chips[id][img]; c.err != nil {
				dropped = append(dropped, c.err)
				continue
			}
			ps = append(ps, p)
			cs = append(cs, chip{pix: d.chips[id][img].pix})
		}
		if len(ps) == 0 || len(ps) < d.cfg.MinImages {
			continue
		}
		names, paths = append(names, d.names[id]), append(paths, ps)
		chips = append(chips, cs)
	}
	// The copied chips hold their pixels; mark them loaded so load does
	// not read them again.
	for id := range chips {
		for img := range chips[id] {
			chips[id][img].once.Do(func() {})
		}
	}
	d.names, d.paths, d.chips = names, paths, chips
	return dropped
}
