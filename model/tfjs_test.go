package model

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/tensor"
)

// le32 encodes little-endian 32-bit words.
func le32(words ...uint32) []byte {
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// formatsManifest covers every storage form tfjs uses: raw float32, uint8
// quantised float32 (also a scalar), raw int32 and uint8 quantised int32.
const formatsManifest = `[{"paths":["m.bin"],"weights":[
 {"name":"raw","shape":[2,2],"dtype":"float32"},
 {"name":"q","shape":[3],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.5}},
 {"name":"scalar","shape":[],"dtype":"float32","quantization":{"dtype":"uint8","min":0.25,"scale":2}},
 {"name":"i","shape":[2],"dtype":"int32"},
 {"name":"qi","shape":[5],"dtype":"int32","quantization":{"dtype":"uint8","min":-1,"scale":0.5}}
]}]`

var formatsBin = cat(
	le32(math.Float32bits(1.5), math.Float32bits(-2), math.Float32bits(float32(math.Inf(1))), math.Float32bits(3e-40)),
	[]byte{0, 1, 255},
	[]byte{3},
	le32(uint32(0xfffffff9), 1<<24+1), // -7, and 16777217, which float32 rounds to 16777216
	[]byte{0, 1, 2, 3, 5},
)

func TestParseWeightsFormats(t *testing.T) {
	w, err := ParseWeights([]byte(formatsManifest), formatsBin)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		shape []int
		data  []float32
	}{
		"raw":    {[]int{2, 2}, []float32{1.5, -2, float32(math.Inf(1)), 3e-40}},
		"q":      {[]int{3}, []float32{-1, -0.5, 126.5}},
		"scalar": {[]int{}, []float32{6.25}},
		"i":      {[]int{2}, []float32{-7, 16777216}},
		// Math.round: -0.5 → -0 (not -1), 0.5 → 1, 1.5 → 2.
		"qi": {[]int{5}, []float32{-1, 0, 0, 1, 2}},
	}
	if len(w) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(w), len(want))
	}
	for name, ww := range want {
		got, err := w.Get(name, ww.shape...)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(got.Shape, ww.shape) || len(got.Data) != len(ww.data) {
			t.Fatalf("%s: shape %v with %d values, want %v", name, got.Shape, len(got.Data), ww.shape)
		}
		for i := range ww.data {
			if math.Float32bits(got.Data[i]) != math.Float32bits(ww.data[i]) {
				t.Errorf("%s[%d] = %g, want %g", name, i, got.Data[i], ww.data[i])
			}
		}
	}
}

// TestDequantRounding checks the one-rounding rule on a real scale: the
// float64 product and sum are rounded once to float32. Rounding the product
// to float32 first, or fusing it into an FMA, changes some of these values.
func TestDequantRounding(t *testing.T) {
	const scale, min = 0.0005260649557207145, -0.07101876902229645
	m := `[{"paths":["x.bin"],"weights":[{"name":"x","shape":[256],"dtype":"float32",` +
		`"quantization":{"dtype":"uint8","min":-0.07101876902229645,"scale":0.0005260649557207145}}]}]`
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	w, err := ParseWeights([]byte(m), bin)
	if err != nil {
		t.Fatal(err)
	}
	x := w["x"].Data
	singleRounding := 0
	for q := range 256 {
		exact := float32(float64(float64(q)*scale) + min)
		if x[q] != exact {
			t.Fatalf("x[%d] = %v, want %v", q, x[q], exact)
		}
		if float32(float32(q)*float32(scale)+float32(min)) != exact {
			singleRounding++
		}
	}
	// The golden values of conv32_down/conv/filters (first4) come from this
	// very quantisation; they are checked in TestRecognitionWeightsGolden.
	t.Logf("%d of 256 levels differ when computed in float32", singleRounding)
}

func TestWeightsGet(t *testing.T) {
	w, err := ParseWeights([]byte(formatsManifest), formatsBin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get("raw"); err != nil {
		t.Errorf("Get without a shape: %v", err)
	}
	if _, err := w.Get("raw", 2, 2); err != nil {
		t.Errorf("Get with the right shape: %v", err)
	}
	if _, err := w.Get("raw", 4); err == nil || !strings.Contains(err.Error(), `"raw"`) {
		t.Errorf("Get with a wrong shape: err = %v, want one naming the tensor", err)
	}
	if _, err := w.Get("nope", 1); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Get of an absent tensor: err = %v, want one naming it", err)
	}
}

func TestParseWeightsErrors(t *testing.T) {
	one := func(spec string) string { return `[{"paths":["a.bin"],"weights":[` + spec + `]}]` }
	cases := []struct {
		name, manifest string
		bin            []byte
		want           string
	}{
		{"bad JSON", `[{"paths":`, nil, "JSON"},
		{"not an array", `{"paths":[]}`, nil, "JSON"},
		{"trailing garbage", one(`{"name":"a","shape":[1],"dtype":"float32"}`) + "x", make([]byte, 4), "JSON"},
		{"no weights", `[]`, nil, "no weights"},
		{"no name", one(`{"shape":[1],"dtype":"float32"}`), make([]byte, 4), "without a name"},
		{"no shape", one(`{"name":"a","dtype":"float32"}`), make([]byte, 4), "no shape"},
		{"null shape", one(`{"name":"a","shape":null,"dtype":"float32"}`), make([]byte, 4), "no shape"},
		{"negative shape", one(`{"name":"a","shape":[2,-1],"dtype":"float32"}`), nil, "negative"},
		{"fractional shape", one(`{"name":"a","shape":[2.5],"dtype":"float32"}`), nil, "JSON"},
		{"huge shape", one(`{"name":"a","shape":[1099511627776,1099511627776],"dtype":"float32"}`), nil, "too large"},
		{"shape beyond int", one(`{"name":"a","shape":[1e30],"dtype":"float32"}`), nil, "JSON"},
		{"sum overflow", one(`{"name":"a","shape":[274877906944],"dtype":"float32"},{"name":"b","shape":[274877906944],"dtype":"float32"}`),
			nil, "more than"},
		{"unknown dtype", one(`{"name":"a","shape":[1],"dtype":"bool"}`), make([]byte, 4), "dtype"},
		{"missing dtype", one(`{"name":"a","shape":[1]}`), make([]byte, 4), "dtype"},
		{"unknown quantization", one(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"float16"}}`),
			make([]byte, 2), "quantization"},
		{"quantization without scale", one(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"uint8","min":0}}`),
			make([]byte, 1), "min and scale"},
		{"min out of range", one(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"uint8","min":1e400,"scale":1}}`),
			make([]byte, 1), "JSON"},
		{"duplicate name", one(`{"name":"a","shape":[1],"dtype":"float32"},{"name":"a","shape":[1],"dtype":"float32"}`),
			make([]byte, 8), "twice"},
		{"short bin", one(`{"name":"a","shape":[3],"dtype":"float32"}`), make([]byte, 11), "11 bytes"},
		{"long bin", one(`{"name":"a","shape":[3],"dtype":"float32"}`), make([]byte, 13), "13 bytes"},
		{"long quantised bin", one(`{"name":"a","shape":[3],"dtype":"int32","quantization":{"dtype":"uint8","min":0,"scale":1}}`),
			make([]byte, 12), "12 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := ParseWeights([]byte(c.manifest), c.bin)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseWeights = %d tensors, %v; want an error containing %q", len(w), err, c.want)
			}
		})
	}
}

// writeModel writes a manifest and shards into a new folder.
func writeModel(t *testing.T, manifest string, shards map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m-weights_manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, b := range shards {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadWeightsShards reads two groups, the first split over two shards
// with a tensor straddling the cut, and checks the result equals parsing the
// concatenation.
func TestLoadWeightsShards(t *testing.T) {
	manifest := `[
 {"paths":["g1-1.bin","g1-2.bin"],"weights":[
  {"name":"a","shape":[3],"dtype":"float32"},
  {"name":"b","shape":[2],"dtype":"float32","quantization":{"dtype":"uint8","min":1,"scale":0.25}}]},
 {"paths":["g2.bin"],"weights":[{"name":"c","shape":[1,2],"dtype":"int32"}]}]`
	a := le32(math.Float32bits(1), math.Float32bits(2), math.Float32bits(3))
	bin := cat(a, []byte{4, 8}, le32(5, uint32(0xffffffff)))
	dir := writeModel(t, manifest, map[string][]byte{
		"g1-1.bin": bin[:6], // cuts tensor a
		"g1-2.bin": bin[6:14],
		"g2.bin":   bin[14:],
	})
	w, err := LoadWeights(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseWeights([]byte(manifest), bin)
	if err != nil {
		t.Fatal(err)
	}
	expect := map[string][]float32{"a": {1, 2, 3}, "b": {2, 3}, "c": {5, -1}}
	for name, vals := range expect {
		got := w[name]
		if got == nil || !tensor.SameShape(got.Shape, want[name].Shape) {
			t.Fatalf("%s: got %v, want shape %v", name, got, want[name].Shape)
		}
		for i, v := range vals {
			if got.Data[i] != v || want[name].Data[i] != v {
				t.Errorf("%s[%d] = %v (LoadWeights), %v (ParseWeights), want %v", name, i, got.Data[i], want[name].Data[i], v)
			}
		}
	}
}

func TestLoadWeightsErrors(t *testing.T) {
	manifest := func(path string) string {
		return `[{"paths":["` + path + `"],"weights":[{"name":"a","shape":[2],"dtype":"float32"}]}]`
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "x.bin"), make([]byte, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		dir   string
		model string
		want  string
	}{
		{"missing manifest", t.TempDir(), "m", "no such file"},
		{"bad name", t.TempDir(), "../m", "bad weight file name"},
		{"path traversal", writeModel(t, manifest("../"+filepath.Base(outside)+"/x.bin"), nil), "m", "leaves"},
		{"absolute path", writeModel(t, manifest(filepath.ToSlash(filepath.Join(outside, "x.bin"))), nil), "m", "leaves"},
		{"missing shard", writeModel(t, manifest("m.bin"), nil), "m", "no such file"},
		{"short shard", writeModel(t, manifest("m.bin"), map[string][]byte{"m.bin": make([]byte, 7)}), "m", "hold 7 bytes"},
		{"long shard", writeModel(t, manifest("m.bin"), map[string][]byte{"m.bin": make([]byte, 9)}), "m", "more than 8"},
		{"bad manifest", writeModel(t, `[{"weights":[{"name":"a","shape":[-2],"dtype":"float32"}]}]`, nil), "m", "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := LoadWeights(c.dir, c.model)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("LoadWeights = %d tensors, %v; want an error containing %q", len(w), err, c.want)
			}
		})
	}
}

// TestRecognitionWeightsGolden checks every tensor of the real recognition
// model against the values the face-api oracle (tfjs) decoded.
func TestRecognitionWeightsGolden(t *testing.T) {
	dir := releaseModelDir(t)
	raw, err := os.ReadFile(sharedtest.Path(t, "oracle", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Recognition struct {
			Weights []struct {
				Name   string    `json:"name"`
				Shape  []int     `json:"shape"`
				First4 []float64 `json:"first4"`
				Sum    float64   `json:"sum"`
			} `json:"weights"`
		} `json:"recognition"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	w, err := LoadWeights(dir, "face_recognition_model")
	if err != nil {
		t.Fatal(err)
	}
	golden := g.Recognition.Weights
	if len(golden) != 117 || len(w) != len(golden) {
		t.Fatalf("%d tensors loaded, golden lists %d, want 117", len(w), len(golden))
	}
	worst := 0.0
	for _, gw := range golden {
		tt, err := w.Get(gw.Name, gw.Shape...)
		if err != nil {
			t.Error(err)
			continue
		}
		for i, v := range gw.First4 {
			if math.Float32bits(tt.Data[i]) != math.Float32bits(float32(v)) {
				t.Errorf("%s[%d] = %v, want %v", gw.Name, i, tt.Data[i], float32(v))
			}
		}
		sum := 0.0
		for _, v := range tt.Data {
			sum += float64(v)
		}
		rel := math.Abs(sum-gw.Sum) / math.Max(math.Abs(gw.Sum), 1e-30)
		worst = math.Max(worst, rel)
		if rel > 1e-6 {
			t.Errorf("%s: sum %v, want %v (relative error %.2g)", gw.Name, sum, gw.Sum, rel)
		}
	}
	t.Logf("largest relative error of a tensor sum: %.2g", worst)
}

// TestReleaseModelsParse loads the five models we use and checks their
// tensor counts and, in the SSD model, some int32 graph constants whose
// values follow from its architecture.
func TestReleaseModelsParse(t *testing.T) {
	dir := releaseModelDir(t)
	counts := map[string]int{
		"face_recognition_model":      117,
		"tiny_face_detector_model":    19,
		"face_landmark_68_model":      49,
		"face_landmark_68_tiny_model": 28,
		"ssd_mobilenetv1_model":       151,
	}
	for name, n := range counts {
		w, err := LoadWeights(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) != n {
			t.Errorf("%s: %d tensors, want %d", name, len(w), n)
		}
		for tn, tt := range w {
			if len(tt.Data) != tensor.Numel(tt.Shape) {
				t.Errorf("%s/%s: %d values for shape %v", name, tn, len(tt.Data), tt.Shape)
			}
		}
	}
	ssd, err := LoadWeights(dir, "ssd_mobilenetv1_model")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		shape []int
		want  []float32
	}{
		{"Preprocessor/ResizeImage/size", []int{2}, []float32{512, 512}}, // the 512×512 input
		{"Postprocessor/stack/1", []int{}, []float32{5118}},              // the anchor count
		{"concat_1/axis", []int{}, []float32{1}},
	} {
		tt, err := ssd.Get(c.name, c.shape...)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range c.want {
			if tt.Data[i] != v {
				t.Errorf("%s = %v, want %v", c.name, tt.Data, c.want)
				break
			}
		}
	}
	if _, err := ssd.Get("Output/extra_dim", 1, 5118, 4); err != nil {
		t.Error(err)
	}
}

func FuzzParseWeights(f *testing.F) {
	f.Add([]byte(formatsManifest), formatsBin)
	f.Add([]byte(`[{"paths":["a.bin"],"weights":[{"name":"a","shape":[2],"dtype":"float32"}]}]`), make([]byte, 8))
	f.Add([]byte(`[{"paths":["a.bin"],"weights":[{"name":"a","shape":[0,3],"dtype":"int32"}]}]`), []byte{})
	f.Add([]byte(`[{"weights":[{"name":"a","shape":[4294967296,4294967296],"dtype":"float32"}]}]`), []byte{1})
	f.Add([]byte(`[{"weights":[{"name":"q","shape":[2],"dtype":"int32","quantization":{"dtype":"uint8","min":-1e300,"scale":1e300}}]}]`),
		[]byte{0, 255})
	f.Add([]byte(`[null,{"weights":null}]`), []byte{})
	f.Fuzz(func(t *testing.T, manifest, bin []byte) {
		w, err := ParseWeights(manifest, bin)
		if err != nil {
			return
		}
		// Whatever decodes must be consistent and use the .bin data exactly.
		total := 0
		for name, tt := range w {
			if len(tt.Data) != tensor.Numel(tt.Shape) {
				t.Fatalf("%s: %d values for shape %v", name, len(tt.Data), tt.Shape)
			}
			total += len(tt.Data)
		}
		if total > len(bin) {
			t.Fatalf("%d values decoded from %d bytes", total, len(bin))
		}
	})
}

func BenchmarkLoadWeightsRecognition(b *testing.B) {
	dir := releaseModelDir(b)
	for b.Loop() {
		if _, err := LoadWeights(dir, "face_recognition_model"); err != nil {
			b.Fatal(err)
		}
	}
}
