package onnx

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

// The attribute networks of faceplugin-face-recognition-js 0.0.1 against
// onnxruntime on the inputs of testdata/golden_attributes.json, which
// testdata/attributes.js wrote (onnxruntime-node 1.30.0, CPU, graph
// optimisations off).

// modelPath returns the installed file of m, or skips: the analysis
// networks are Optional, fetched only when named.
func modelPath(t testing.TB, m registry.Manifest) string {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, m)
	}
	if err != nil {
		t.Skipf("needs %s in the model directory (facerec models pull %s): %v", m.Files[0].Name, m.Name, err)
	}
	return m.Path(dir, m.Files[0].Name)
}

// attrInput mirrors attributes.js: the package's scaling of each model.
type attrInput struct {
	size, channels int
	scale          func(v uint8, c int) float32
}

var imagenetMean, imagenetStd = [3]float64{0.485, 0.456, 0.406}, [3]float64{0.229, 0.224, 0.225}

func imagenet(v uint8, c int) float32 {
	return float32((float64(v)/255.0 - imagenetMean[c]) / imagenetStd[c])
}

var attrInputs = map[string]attrInput{
	"fr_liveness":   {128, 3, func(v uint8, _ int) float32 { return float32(v) }},
	"fr_age":        {64, 3, imagenet},
	"fr_gender":     {64, 3, imagenet},
	"fr_expression": {224, 3, func(v uint8, _ int) float32 { return float32(float64(v) / 255.0) }},
	"fr_pose":       {224, 3, imagenet},
	"fr_eye":        {24, 1, func(v uint8, _ int) float32 { return float32(float64(v) / 255.0) }},
}

// pixels builds attributes.js's uint8 HWC image of a case.
func (in attrInput) pixels(t testing.TB, name string) []uint8 {
	px := make([]uint8, in.size*in.size*in.channels)
	var crop []uint8
	if name != "pattern" {
		crop = pngRGB(t, filepath.Join("testdata", name))
	}
	for y := 0; y < in.size; y++ {
		for x := 0; x < in.size; x++ {
			for c := 0; c < in.channels; c++ {
				i := (y*in.size+x)*in.channels + c
				if crop == nil {
					px[i] = uint8((7*x + 13*y + 61*c + (x*y)%17) % 256)
					continue
				}
				sy, sx := y*112/in.size, x*112/in.size
				px[i] = crop[(sy*112+sx)*3+c]
			}
		}
	}
	return px
}

func (in attrInput) tensor(px []uint8) *tensor.Tensor {
	x := tensor.New(1, in.size, in.size, in.channels)
	for i, v := range px {
		x.Data[i] = in.scale(v, i%in.channels)
	}
	return x
}

type attrGolden struct {
	Runtime string `json:"runtime"`
	Models  []struct {
		Model   string   `json:"model"`
		Outputs []string `json:"outputs"`
		Cases   []struct {
			Name    string      `json:"name"`
			Outputs [][]float64 `json:"outputs"`
		} `json:"cases"`
	} `json:"models"`
}

func TestAttributeParity(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden_attributes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gold attrGolden
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatal(err)
	}
	if len(gold.Models) != len(registry.Analysis()) {
		t.Fatalf("%d golden models, %d analysis manifests", len(gold.Models), len(registry.Analysis()))
	}
	for _, gm := range gold.Models {
		t.Run(gm.Model, func(t *testing.T) {
			m, ok := registry.Lookup(gm.Model)
			if !ok {
				t.Fatalf("no manifest %s", gm.Model)
			}
			net, err := Load(modelPath(t, m))
			if err != nil {
				t.Fatal(err)
			}
			in := attrInputs[gm.Model]
			if c, h, w := net.InputSize(); c != in.channels || h != in.size || w != in.size {
				t.Fatalf("input %d×%d×%d, want %d×%d×%d", c, h, w, in.channels, in.size, in.size)
			}
			if got := net.Outputs(); len(got) != len(gm.Outputs) {
				t.Fatalf("outputs %v, onnxruntime's %v", got, gm.Outputs)
			} else {
				for i := range got {
					if got[i] != gm.Outputs[i] {
						t.Fatalf("outputs %v, onnxruntime's %v", got, gm.Outputs)
					}
				}
			}
			for _, c := range gm.Cases {
				outs, err := net.ForwardOutputs(nil, in.tensor(in.pixels(t, c.Name)))
				if err != nil {
					t.Fatal(err)
				}
				maxDiff := 0.0
				for i, want := range c.Outputs {
					if len(outs[i].Data) != len(want) {
						t.Fatalf("%s: output %s has %d values, golden %d", c.Name, gm.Outputs[i], len(outs[i].Data), len(want))
					}
					for j, v := range want {
						maxDiff = math.Max(maxDiff, math.Abs(float64(outs[i].Data[j])-v))
					}
				}
				t.Logf("%s: max |Δ| = %.3g against %s", c.Name, maxDiff, gold.Runtime)
				if maxDiff > 1e-4 {
					t.Errorf("%s: max |Δ| = %g, want ≤ 1e-4", c.Name, maxDiff)
				}
			}
		})
	}
}

// BenchmarkAttributes is one face through each network on one goroutine
// (run with -cpu 1 for one thread), with a reused arena.
func BenchmarkAttributes(b *testing.B) {
	for _, m := range registry.Analysis() {
		b.Run(m.Name, func(b *testing.B) {
			net, err := Load(modelPath(b, m))
			if err != nil {
				b.Fatal(err)
			}
			in := attrInputs[m.Name]
			x := in.tensor(in.pixels(b, "pattern"))
			var arena tensor.Arena
			b.ReportAllocs()
			for b.Loop() {
				arena.Reset()
				if _, err := net.ForwardOutputs(&arena, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
