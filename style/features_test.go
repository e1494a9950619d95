package style

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

// writeTinyVGG writes a VGG-19 with 4 channels per layer and random
// weights, with torchvision's names, as a safetensors file.
func writeTinyVGG(t *testing.T, path string) {
	rng := rand.New(rand.NewPCG(3, 3))
	ts := map[string]*tensor.Tensor{}
	idx, cin := 0, 3
	for _, convs := range []int{2, 2, 4, 4, 4} {
		for j := 0; j < convs; j++ {
			w := tensor.New(4, cin, 3, 3)
			for k := range w.Data {
				w.Data[k] = float32(rng.NormFloat64() * 0.4)
			}
			ts[fmt.Sprintf("features.%d.weight", idx)] = w
			ts[fmt.Sprintf("features.%d.bias", idx)] = tensor.New(4)
			idx += 2
			cin = 4
		}
		idx++
	}
	// A classifier tensor, as in a full state dict: ignored.
	ts["classifier.0.weight"] = tensor.New(2, 2)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.WriteTensors(f, ts); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLoadVGG19: the loader reads a synthetic torchvision-named file, the
// network's defaults are Gatys et al.'s layers, and a cost made with it
// evaluates; bad files are errors.
func TestLoadVGG19(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vgg.safetensors")
	writeTinyVGG(t, path)
	net, err := LoadVGG19(path)
	if err != nil {
		t.Fatal(err)
	}
	content, styleL := net.Defaults()
	if content != "conv4_2" || len(styleL) != 5 || styleL[0] != "conv1_1" || styleL[4] != "conv5_1" {
		t.Errorf("defaults %s, %v", content, styleL)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	c, err := NewCost(Config{Net: net, ContentWeight: 1, StyleWeight: 1}, randImage(rng, 32, 32), []*tensor.Tensor{randImage(rng, 32, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := tensor.New(32, 32, 3)
	terms, err := c.Eval(randImage(rng, 32, 32), g)
	if err != nil {
		t.Fatal(err)
	}
	if len(terms.Layers) != 5 || terms.Content <= 0 {
		t.Errorf("terms %+v", terms)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVGG19(bad); err == nil {
		t.Error("a file without the VGG tensors loaded")
	}
	if _, err := LoadVGG19(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing file loaded")
	}
}

var (
	ssdOnce sync.Once
	ssdNetV *model.SSDMobilenetV1
	ssdErr  error
)

func testSSD(t testing.TB) FeatureNet {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.SSDMobilenetV1)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	ssdOnce.Do(func() {
		w, err := model.LoadWeights(dir, model.SSDName)
		if err != nil {
			ssdErr = err
			return
		}
		ssdNetV, ssdErr = model.NewSSDMobilenetV1(w)
	})
	if ssdErr != nil {
		t.Fatal(ssdErr)
	}
	return SSD(ssdNetV)
}

// checker draws a test pattern: coloured checks of side k with a diagonal.
func checker(n, k int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := color.RGBA{40, 60, 200, 255}
			if (x/k+y/k)%2 == 0 {
				c = color.RGBA{240, 200, 30, 255}
			}
			if x == y {
				c = color.RGBA{200, 20, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// TestSSDStyleCostFalls: with the real feature network (the SSD backbone),
// the default layers and the command's default weights, 150 L-BFGS steps
// from noise cut the style cost by at least 10× on 64-pixel images
// (observed 12×; the deep layers fall 100× and more, the first two, whose
// Gram matrices hold the colour statistics, 6×: they converge slowest).
func TestSSDStyleCostFalls(t *testing.T) {
	net := testSSD(t)
	content, styleImg := Pixels(checker(64, 16)), Pixels(Resize(stripesImage(96), 64))
	c, err := NewCost(Config{Net: net, ContentWeight: 0.1, StyleWeight: 1e4, TVWeight: 0.01}, content, []*tensor.Tensor{styleImg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Optimize(context.Background(), Options{Iterations: 150, Init: FromNoise})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Steps[len(res.Steps)-1]
	if !(last.Style*10 <= res.Initial.Style) {
		t.Errorf("style cost %.4g → %.4g in %d steps: not 10× lower", res.Initial.Style, last.Style, len(res.Steps))
	}
	t.Logf("style cost %.4g → %.4g (%.0f×), content %.4g, in %d steps (%d evaluations)",
		res.Initial.Style, last.Style, res.Initial.Style/last.Style, last.Content, len(res.Steps), last.Evals)
}

func stripesImage(n int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := color.RGBA{220, 40, 30, 255}
			if (x+y)/6%2 == 0 {
				c = color.RGBA{20, 30, 90, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// TestColourModes: luminance-only transfer gives G the content's
// chrominance; histogram matching gives the style the content's values.
func TestColourModes(t *testing.T) {
	content, sty := checker(24, 6), stripesImage(24)
	res, err := Transfer(context.Background(), content, []image.Image{sty}, TransferOptions{
		Config:  Config{Net: newTestNet(t), ContentWeight: 0.1, StyleWeight: 1},
		Options: Options{Iterations: 10},
		Size:    24, Colour: Luminance,
	})
	if err != nil {
		t.Fatal(err)
	}
	cq, gq := toYIQ(Pixels(Resize(content, 24))), toYIQ(Pixels(res.Image))
	worst := 0.0
	for i := 0; i < len(cq.Data); i += 3 {
		// Where no channel clipped, I and Q are the content's to rounding.
		r, g, b := res.Image.Pix[4*(i/3)], res.Image.Pix[4*(i/3)+1], res.Image.Pix[4*(i/3)+2]
		if r == 0 || r == 255 || g == 0 || g == 255 || b == 0 || b == 255 {
			continue
		}
		worst = math.Max(worst, math.Max(math.Abs(float64(cq.Data[i+1]-gq.Data[i+1])), math.Abs(float64(cq.Data[i+2]-gq.Data[i+2]))))
	}
	if worst > 0.01 {
		t.Errorf("luminance mode: chrominance differs from the content's by %.3g", worst)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	src, ref := randImage(rng, 5, 7), randImage(rng, 7, 5)
	MatchHistogram(src, ref)
	for c := 0; c < 3; c++ {
		var a, b []float32
		for i := c; i < len(src.Data); i += 3 {
			a, b = append(a, src.Data[i]), append(b, ref.Data[i])
		}
		if !sameMultiset(a, b) {
			t.Errorf("channel %d: matched values %v are not the reference's %v", c, a, b)
		}
	}
}

func sameMultiset(a, b []float32) bool {
	count := map[float32]int{}
	for _, v := range a {
		count[v]++
	}
	for _, v := range b {
		count[v]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
