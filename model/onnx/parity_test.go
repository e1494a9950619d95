package onnx

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

// The parity test compares the network on facerec's engine with
// onnxruntime on the inputs of testdata/golden.json, which
// testdata/golden.js wrote (onnxruntime-node 1.30.0, CPU, graph
// optimisations off).

// frFeaturePath returns the installed fr_feature.onnx, or skips: the file
// is not in the repository and not in the default model set, so it is
// there only after Pull(ctx, dir, "", log, registry.FRFeature). (Not
// sharedtest.Need: CI pulls the default set only, and would fail.)
func frFeaturePath(t testing.TB) string {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.FRFeature)
	}
	if err != nil {
		t.Skipf("needs %s in the model directory (registry.Pull with registry.FRFeature): %v", registry.FRFeature.NPM(), err)
	}
	return registry.FRFeature.Path(dir, registry.FRFeature.Files[0].Name)
}

type golden struct {
	Model   string `json:"model"`
	Runtime string `json:"runtime"`
	Cases   []struct {
		Name   string    `json:"name"`
		Recipe string    `json:"recipe"`
		PNG    string    `json:"png"`
		Output []float64 `json:"output"`
	} `json:"cases"`
}

// patternRGB is golden.js's synthetic input, 112×112 RGB.
func patternRGB() []uint8 {
	rgb := make([]uint8, 112*112*3)
	for y := 0; y < 112; y++ {
		for x := 0; x < 112; x++ {
			for c := 0; c < 3; c++ {
				rgb[(y*112+x)*3+c] = uint8((7*x + 13*y + 61*c + (x*y)%17) % 256)
			}
		}
	}
	return rgb
}

func pngRGB(t testing.TB, path string) []uint8 {
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
	b := img.Bounds()
	if b.Dx() != 112 || b.Dy() != 112 {
		t.Fatalf("%s is %v, want 112×112", path, b)
	}
	rgb := make([]uint8, 0, 112*112*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y).(interface{ RGBA() (r, g, b, a uint32) })
			r, g, bl, _ := c.RGBA()
			rgb = append(rgb, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
		}
	}
	return rgb
}

// input is the package's preprocessing, (v − 127)/128, channels last.
func input(rgb []uint8) *tensor.Tensor {
	x := tensor.New(1, 112, 112, 3)
	for i, v := range rgb {
		x.Data[i] = (float32(v) - 127) / 128
	}
	return x
}

func TestFRFeatureParity(t *testing.T) {
	net, err := Load(frFeaturePath(t))
	if err != nil {
		t.Fatal(err)
	}
	if c, h, w := net.InputSize(); c != 3 || h != 112 || w != 112 || net.OutputLen() != 512 {
		t.Fatalf("input %d×%d×%d, output %d; want 3×112×112 → 512", c, h, w, net.OutputLen())
	}
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gold golden
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatal(err)
	}
	if len(gold.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range gold.Cases {
		rgb := patternRGB()
		if c.PNG != "" {
			rgb = pngRGB(t, filepath.Join("testdata", c.PNG))
		}
		out, err := net.Forward(nil, input(rgb))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Data) != len(c.Output) {
			t.Fatalf("%s: %d outputs, golden %d", c.Name, len(out.Data), len(c.Output))
		}
		maxDiff := 0.0
		for i, v := range c.Output {
			maxDiff = math.Max(maxDiff, math.Abs(float64(out.Data[i])-v))
		}
		t.Logf("%s: max |Δ| = %.3g against %s", c.Name, maxDiff, gold.Runtime)
		if maxDiff > 1e-4 {
			t.Errorf("%s: max |Δ| = %g, want ≤ 1e-4", c.Name, maxDiff)
		}
	}
}

// BenchmarkFRFeature is one face through the network on one goroutine
// (run with -cpu 1 for one thread), in an inference graph with a reused
// arena, as a descriptor model runs it.
func BenchmarkFRFeature(b *testing.B) {
	net, err := Load(frFeaturePath(b))
	if err != nil {
		b.Fatal(err)
	}
	x := input(patternRGB())
	var arena tensor.Arena
	b.ReportAllocs()
	for b.Loop() {
		arena.Reset()
		if _, err := net.Forward(&arena, x); err != nil {
			b.Fatal(err)
		}
	}
}
