package model

import (
	"encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// testWeights loads a model's weights from the model directory, skipping
// (or failing under FACEREC_REQUIRE_SHARED=1) when the models were never
// pulled.
func testWeights(t testing.TB, name string) Weights {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	w, err := LoadWeights(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	recNetOnce sync.Once
	recNet     *RecognitionNet
	recNetErr  error
)

func testRecognitionNet(t testing.TB) *RecognitionNet {
	t.Helper()
	w := testWeights(t, RecognitionName)
	recNetOnce.Do(func() { recNet, recNetErr = NewRecognitionNet(w) })
	if recNetErr != nil {
		t.Fatal(recNetErr)
	}
	return recNet
}

// golden is the part of shared/oracle/golden.json these tests read.
type golden struct {
	Recognition struct {
		Case150    goldenCase `json:"case150"`
		CaseResize goldenCase `json:"caseResize"`
		RealCrops  []struct {
			File       string    `json:"file"`
			Descriptor []float64 `json:"descriptor"`
		} `json:"realCrops"`
	} `json:"recognition"`
}

type goldenCase struct {
	Layers []struct {
		Name  string    `json:"name"`
		Shape []int     `json:"shape"`
		First []float64 `json:"first8"`
		Sum   float64   `json:"sum"`
		Min   float64   `json:"min"`
		Max   float64   `json:"max"`
		File  string    `json:"file"`
	} `json:"layers"`
	Descriptor []float64 `json:"descriptor"`
}

func readGolden(t *testing.T) (golden, string) {
	t.Helper()
	dir := sharedtest.Path(t, "oracle")
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g, dir
}

// synthetic is the oracle's test pattern pixel(x, y, c) = (7x + 13y + 31c) mod 256.
func synthetic(h, w int) *tensor.Tensor {
	t := tensor.New(h, w, 3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				t.Data[(y*w+x)*3+c] = float32((x*7 + y*13 + c*31) % 256)
			}
		}
	}
	return t
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestRecognitionGoldenLayers compares every intermediate tensor of the
// synthetic 150×150 case with the oracle's complete dumps.
func TestRecognitionGoldenLayers(t *testing.T) {
	gold, dir := readGolden(t)
	net := testRecognitionNet(t)
	got := map[string]*tensor.Tensor{}
	x, err := Preprocess(nil, synthetic(150, 150))
	if err != nil {
		t.Fatal(err)
	}
	got["normalized"] = x
	g := nn.NewInferenceGraph(nil)
	g.Observe = func(name string, v *tensor.Tensor) { got[name] = v.Clone() }
	net.Graph(g, g.Input(x, false))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	got["fc=descriptor"] = got["fc"]

	checked := 0
	for _, l := range gold.Recognition.Case150.Layers {
		if l.Name == "input" || strings.HasPrefix(l.Name, "conv32_down/") {
			continue // inside the fused stem: not observable separately
		}
		v, ok := got[l.Name]
		if !ok {
			t.Errorf("layer %s: not produced", l.Name)
			continue
		}
		want := readF32(t, filepath.Join(dir, l.File))
		if len(want) != v.Len() {
			t.Errorf("layer %s: %d values, want %d (shape %v vs %v)", l.Name, v.Len(), len(want), v.Shape, l.Shape)
			continue
		}
		// Errors grow with the magnitude of a layer's values; scale the
		// tolerance by the layer's range (the descriptor itself: 1e-4 absolute).
		scale := math.Max(1, math.Max(math.Abs(l.Min), math.Abs(l.Max)))
		diff := tensor.MaxAbsDiff(v.Data, want)
		tol := 1e-4 * scale
		if l.Name == "fc=descriptor" {
			tol = 1e-4
		}
		if diff > tol {
			t.Errorf("layer %s: max |Δ| = %.3g > %.3g", l.Name, diff, tol)
		}
		t.Logf("%-45s max |Δ| = %.2g", l.Name, diff)
		checked++
	}
	if checked < 50 {
		t.Errorf("only %d layers checked", checked)
	}
}

// TestRecognitionResizePath covers the centred pad + tfjs resize of a
// 120×97 crop.
func TestRecognitionResizePath(t *testing.T) {
	g, _ := readGolden(t)
	net := testRecognitionNet(t)
	x, err := Preprocess(nil, synthetic(120, 97))
	if err != nil {
		t.Fatal(err)
	}
	d := net.Forward(nil, x)
	if diff := tensor.MaxAbsDiff(d.Data, toF32(g.Recognition.CaseResize.Descriptor)); diff > 1e-4 {
		t.Fatalf("descriptor max |Δ| = %.3g", diff)
	} else {
		t.Logf("descriptor max |Δ| = %.2g", diff)
	}
	// The resized square itself, before normalisation.
	sq := nn.ResizeBilinear(nil, nn.PadToSquare(nil, synthetic(120, 97).Reshape(1, 120, 97, 3), true), 150, 150)
	for _, l := range g.Recognition.CaseResize.Layers {
		if l.Name != "padded_to_square_and_resized_150" {
			continue
		}
		if diff := tensor.MaxAbsDiff(sq.Data[:8], toF32(l.First)); diff > 1e-4 {
			t.Errorf("resized first8 max |Δ| = %.3g", diff)
		}
		sum := 0.0
		for _, v := range sq.Data {
			sum += float64(v)
		}
		if math.Abs(sum-l.Sum) > 1e-6*math.Abs(l.Sum) {
			t.Errorf("resized sum %v, want %v", sum, l.Sum)
		}
		return
	}
	t.Error("golden case lacks the resized layer")
}

// TestRecognitionRealCrops runs the 22 real face crops of the oracle.
func TestRecognitionRealCrops(t *testing.T) {
	g, dir := readGolden(t)
	net := testRecognitionNet(t)
	if len(g.Recognition.RealCrops) != 22 {
		t.Fatalf("golden has %d real crops, want 22", len(g.Recognition.RealCrops))
	}
	worst := 0.0
	for _, c := range g.Recognition.RealCrops {
		img := readPNG(t, filepath.Join(dir, c.File))
		x, err := Preprocess(nil, img)
		if err != nil {
			t.Fatal(err)
		}
		d := net.Forward(nil, x)
		diff := tensor.MaxAbsDiff(d.Data, toF32(c.Descriptor))
		if diff > 1e-4 {
			t.Errorf("%s: max |Δ| = %.3g", c.File, diff)
		}
		worst = math.Max(worst, diff)
	}
	t.Logf("worst max |Δ| over %d crops: %.2g", len(g.Recognition.RealCrops), worst)
}

func readPNG(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return rgbTensor(img)
}

func rgbTensor(img image.Image) *tensor.Tensor {
	b := img.Bounds()
	out := tensor.New(b.Dy(), b.Dx(), 3)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out.Data[i], out.Data[i+1], out.Data[i+2] = float32(r>>8), float32(g>>8), float32(bl>>8)
			i += 3
		}
	}
	return out
}
