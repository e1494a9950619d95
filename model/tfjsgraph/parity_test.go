package tfjsgraph

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// The parity test compares the compiled centernet backbone with tfjs
// (4.22.0, cpu backend) on testdata/centernet/golden.json, which
// testdata/golden.js wrote: eight nodes from the stem (stride 2) to the
// last block (stride 32).

// centernetPath returns the installed centernet.json, or skips: the model
// is optional (registry.CenterNet), not in the default set CI pulls.
func centernetPath(t testing.TB) string {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.CenterNet)
	}
	if err != nil {
		t.Skipf("needs %s in the model directory (facerec models pull centernet): %v", registry.CenterNet.NPM(), err)
	}
	return registry.CenterNet.Path(dir, "centernet.json")
}

type goldenFile struct {
	Input struct {
		H, W int
	} `json:"input"`
	Layers []struct {
		Node  string  `json:"node"`
		Shape []int   `json:"shape"`
		File  string  `json:"file"`
		Sum   float64 `json:"sum"`
	} `json:"layers"`
}

// goldenInput is golden.js's pixel(x, y, c) = (x*7 + y*13 + c*31) % 256.
func goldenInput(h, w int) *tensor.Tensor {
	x := tensor.New(1, h, w, 3)
	for y := 0; y < h; y++ {
		for i := 0; i < w; i++ {
			for c := 0; c < 3; c++ {
				x.Data[(y*w+i)*3+c] = float32((i*7 + y*13 + c*31) % 256)
			}
		}
	}
	return x
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func TestCenterNetParity(t *testing.T) {
	m, err := Load(centernetPath(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/centernet/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var gf goldenFile
	if err := json.Unmarshal(b, &gf); err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, l := range gf.Layers {
		nodes = append(nodes, l.Node)
	}
	net, err := Compile(m, "tower_0/images", nodes...)
	if err != nil {
		t.Fatal(err)
	}
	g := nn.NewInferenceGraph(nil)
	outs := net.Graph(g, g.Input(goldenInput(gf.Input.H, gf.Input.W), false))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for i, l := range gf.Layers {
		want := readF32(t, filepath.Join("testdata/centernet", l.File))
		got := outs[i].Value
		if !tensor.SameShape(got.Shape, l.Shape) || len(want) != got.Len() {
			t.Fatalf("%s: shape %v, tfjs %v (%d values)", l.Node, got.Shape, l.Shape, len(want))
		}
		// The error relative to the layer's scale (its largest |value|):
		// an element near zero has no meaningful relative error of its own.
		var maxDiff, scale float64
		for j, w := range want {
			maxDiff = max(maxDiff, math.Abs(float64(got.Data[j])-float64(w)))
			scale = max(scale, math.Abs(float64(w)))
		}
		rel := maxDiff / scale
		t.Logf("%-70s %v max |Δ| %.3g, scale %.3g, relative %.2g", l.Node, l.Shape, maxDiff, scale, rel)
		if rel > 1e-4 {
			t.Errorf("%s: relative error %.3g over 1e-4", l.Node, rel)
		}
	}
}
