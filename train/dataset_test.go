package train

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// makeFolder writes a dataset folder with counts[name] PNG images of size
// w×h per identity. Image j of identity i has a flat colour derived from
// (i, j), so tests can tell images apart after resizing.
func makeFolder(t testing.TB, counts map[string]int, w, h int) string {
	t.Helper()
	root := t.TempDir()
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, name := range names {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < counts[name]; j++ {
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			c := color.RGBA{uint8(40 * i), uint8(20 * j), 200, 255}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					img.SetRGBA(x, y, c)
				}
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s_%04d.png", name, j+1)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Non-images and hidden files are ignored.
	if err := os.WriteFile(filepath.Join(root, names[0], "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "README"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestDatasetAligned(t *testing.T) {
	root := makeFolder(t, map[string]int{"ann": 3, "bob": 1, "cy": 4}, 20, 24)
	d, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Aligned: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Name(0) != "ann" || d.Name(2) != "cy" || !slices.Equal(d.Counts(), []int{3, 1, 4}) {
		t.Fatalf("identities %d %v", d.Len(), d.Counts())
	}
	img, err := d.Image(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.Shape, []int{8, 8, 3}) {
		t.Fatalf("image shape %v", img.Shape)
	}
	// Flat colour (80, 20, 200) survives resizing and normalises to (v−127.5)/127.5.
	for k, v := range []float32{80, 20, 200} {
		if want := (v - 127.5) / 127.5; math.Abs(float64(img.Data[k]-want)) > 1e-6 {
			t.Errorf("channel %d = %v, want %v", k, img.Data[k], want)
		}
	}

	grey, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Aligned: true, Grey: true, MinImages: 3})
	if err != nil {
		t.Fatal(err)
	}
	if grey.Len() != 2 || grey.Channels() != 1 {
		t.Fatalf("grey, MinImages 3: %d identities, %d channels", grey.Len(), grey.Channels())
	}
	raw, err := grey.Raw(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := float32(math.Round(0.299*80 + 0.587*20 + 0.114*200)); raw.Data[0] != want || len(raw.Data) != 64 {
		t.Errorf("grey value %v (of %d), want %v", raw.Data[0], len(raw.Data), want)
	}

	sel, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Aligned: true, People: []string{"cy", "ann"}, Exclude: []string{"ann"}})
	if err != nil || sel.Len() != 1 || sel.Name(0) != "cy" {
		t.Errorf("People+Exclude: %v, %v", sel, err)
	}
	if _, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Aligned: true, People: []string{"dan"}}); err == nil || !strings.Contains(err.Error(), "dan") {
		t.Errorf("a listed identity without a folder: error %v", err)
	}
	for name, cfg := range map[string]DatasetConfig{
		"size":     {Root: root, Aligned: true},
		"neither":  {Root: root, Size: 8},
		"both":     {Root: root, Size: 8, Aligned: true, Align: func(string) (*tensor.Tensor, error) { return nil, nil }},
		"cache":    {Root: root, Size: 8, Aligned: true, CacheDir: t.TempDir()},
		"root":     {Root: filepath.Join(root, "nope"), Size: 8, Aligned: true},
		"too many": {Root: root, Size: 8, Aligned: true, MinImages: 5},
	} {
		if _, err := OpenDataset(cfg); err == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
	if _, err := d.Image(1, 1); err == nil {
		t.Error("Image of a missing index succeeded")
	}
	// A corrupt file is reported with its path, on every request.
	if err := os.WriteFile(d.Paths(0)[0], []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := d.Image(0, 0); err == nil || !strings.Contains(err.Error(), "ann_0001.png") {
			t.Errorf("corrupt image: error %v", err)
		}
	}
}

func TestDatasetAlignCache(t *testing.T) {
	root := makeFolder(t, map[string]int{"ann": 2, "bob": 2}, 10, 10)
	cache := t.TempDir()
	var calls atomic.Int32
	align := func(path string) (*tensor.Tensor, error) {
		calls.Add(1)
		img, _, err := photo.DecodeFile(path, photo.Options{})
		if err != nil {
			return nil, err
		}
		// A "chip" that differs from the photo, so the test can tell
		// aligned output from a plain decode: the colour inverted.
		ch := photo.ToTensor(img)
		for i, v := range ch.Data {
			ch.Data[i] = 255 - v
		}
		return ch, nil
	}
	cfg := DatasetConfig{Root: root, Size: 6, Align: align, CacheDir: cache}
	d, err := OpenDataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := d.Batch([]Sample{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 0}, {1, 1}}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Fatalf("aligned %d times for 4 images", calls.Load())
	}
	if want := float32((255-200)-127.5) / 127.5; math.Abs(float64(first.Data[2]-want)) > 1e-6 {
		t.Errorf("aligned blue %v, want %v (the inverted chip)", first.Data[2], want)
	}

	// A new Dataset on the same cache aligns nothing and sees the same chips.
	d2, err := OpenDataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := d2.Batch([]Sample{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 0}, {1, 1}}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 || !slices.Equal(first.Data, again.Data) {
		t.Errorf("second run: %d align calls in all, same pixels %v", calls.Load(), slices.Equal(first.Data, again.Data))
	}

	// Touching an image changes its key; truncating a cache file makes it
	// a miss. Both are aligned again.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(d.Paths(0)[0], future, future); err != nil {
		t.Fatal(err)
	}
	key, err := cacheKey(d.Paths(1)[1], 6, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cachePath(cache, key), []byte(cacheMagic), 0o644); err != nil {
		t.Fatal(err)
	}
	d3, err := OpenDataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d3.Batch([]Sample{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 6 {
		t.Errorf("after a touch and a truncation: %d align calls, want 6", calls.Load())
	}

	// Aligner failures and bad chips surface as errors.
	bad, err := OpenDataset(DatasetConfig{Root: root, Size: 6, Align: func(string) (*tensor.Tensor, error) { return tensor.New(3, 3), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Image(0, 0); err == nil {
		t.Error("a 2-D chip was accepted")
	}
}

func TestBatch(t *testing.T) {
	root := makeFolder(t, map[string]int{"a": 3, "b": 3, "c": 3}, 12, 12)
	d, err := OpenDataset(DatasetConfig{Root: root, Size: 10, Aligned: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSampler(d.Counts(), SamplerConfig{P: 2, K: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	samples, labels := s.Next()
	aug := &Augment{Mirror: true, Scale: 0.1, Shift: 0.1, Brightness: 0.2, Contrast: 0.2}
	x, got, err := d.Batch(samples, aug, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape, []int{6, 10, 10, 3}) || !slices.Equal(got, labels) {
		t.Fatalf("batch shape %v labels %v, want [6 10 10 3] and %v", x.Shape, got, labels)
	}
	for _, v := range x.Data {
		if v < -1 || v > 1 {
			t.Fatalf("normalised value %v outside −1..1", v)
		}
	}
	y, _, _ := d.Batch(samples, aug, 9)
	if !slices.Equal(x.Data, y.Data) {
		t.Error("the same seed gave a different batch")
	}
	z, _, _ := d.Batch(samples, aug, 10)
	if slices.Equal(x.Data, z.Data) {
		t.Error("a different seed gave the same augmented batch")
	}
	// Without augmentation, each image is exactly Image().
	plain, _, err := d.Batch(samples, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, smp := range samples {
		img, err := d.Image(smp.Identity, smp.Image)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(plain.Data[i*300:(i+1)*300], img.Data) {
			t.Fatalf("sample %d differs from Image", i)
		}
	}
	for name, call := range map[string]func() error{
		"empty":    func() error { _, _, err := d.Batch(nil, nil, 0); return err },
		"identity": func() error { _, _, err := d.Batch([]Sample{{5, 0}}, nil, 0); return err },
		"image":    func() error { _, _, err := d.Batch([]Sample{{0, 3}}, nil, 0); return err },
		"augment":  func() error { _, _, err := d.Batch(samples, &Augment{Scale: 2}, 0); return err },
	} {
		if call() == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
}

func TestReadPeopleFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "people.txt")
	if err := os.WriteFile(p, []byte("2\nAl_Bo 3\nCy 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := ReadPeopleFile(p)
	if err != nil || !slices.Equal(names, []string{"Al_Bo", "Cy"}) {
		t.Errorf("ReadPeopleFile = %v, %v", names, err)
	}
	if err := os.WriteFile(p, []byte("3\nAl 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPeopleFile(p); err == nil {
		t.Error("a truncated people file was accepted")
	}
	if _, err := ReadPeopleFile(p + ".missing"); err == nil {
		t.Error("a missing people file was accepted")
	}
}

// holdOut is the AT&T test split used across facerec: the last five subjects.
var holdOut = []string{"s36", "s37", "s38", "s39", "s40"}

func TestDatasetATT(t *testing.T) {
	root := sharedtest.Path(t, "data", "att")
	all, err := OpenDataset(DatasetConfig{Root: root, Size: 64, Aligned: true, MinImages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() != 40 {
		t.Fatalf("%d identities, want 40", all.Len())
	}
	for id, n := range all.Counts() {
		if n != 10 {
			t.Errorf("%s has %d images, want 10", all.Name(id), n)
		}
	}
	train, err := OpenDataset(DatasetConfig{Root: root, Size: 64, Aligned: true, Exclude: holdOut})
	if err != nil {
		t.Fatal(err)
	}
	test, err := OpenDataset(DatasetConfig{Root: root, Size: 64, Aligned: true, People: holdOut, Grey: true})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 35 || test.Len() != 5 {
		t.Fatalf("split %d + %d identities, want 35 + 5", train.Len(), test.Len())
	}
	for id := 0; id < test.Len(); id++ {
		if test.Name(id) != holdOut[id] {
			t.Errorf("test identity %d is %s, want %s", id, test.Name(id), holdOut[id])
		}
	}
	for id := 0; id < train.Len(); id++ {
		if slices.Contains(holdOut, train.Name(id)) {
			t.Errorf("training set holds %s", train.Name(id))
		}
	}
	// A 92×112 grey PGM becomes a 64×64 image; RGB channels are equal.
	img, err := train.Raw(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mean float64
	for i := 0; i < 64*64; i++ {
		if img.Data[3*i] != img.Data[3*i+1] || img.Data[3*i] != img.Data[3*i+2] {
			t.Fatalf("pixel %d of a grey image has unequal channels", i)
		}
		mean += float64(img.Data[3*i])
	}
	if mean /= 64 * 64; mean < 20 || mean > 235 {
		t.Errorf("mean pixel %v: the decode looks wrong", mean)
	}
	s, err := NewSampler(test.Counts(), SamplerConfig{P: 5, K: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	samples, _ := s.Next()
	x, labels, err := test.Batch(samples, &Augment{Mirror: true, Scale: 0.05, Shift: 0.05}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape, []int{20, 64, 64, 1}) || len(labels) != 20 {
		t.Errorf("batch shape %v with %d labels", x.Shape, len(labels))
	}
}
