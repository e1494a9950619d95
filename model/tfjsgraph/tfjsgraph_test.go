package tfjsgraph

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// tiny builds a small graph model with every op the compiler supports, in
// the shape of a MobileNetV3 block: a fused 3×3 stride-2 convolution
// (float16 weights), hard-swish, a depthwise convolution with ReLU (uint8
// weights), squeeze-and-excitation (Mean, 1×1 convolutions, hard-sigmoid,
// Mul), a 1×1 projection and a residual Add.
func tiny(rng *rand.Rand) (modelJSON, weights []byte) {
	type w struct {
		name  string
		shape []int
		quant string // "", "float16" or "uint8"
		ints  []int32
	}
	var ws []w
	var data []byte
	add := func(name, quant string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		ws = append(ws, w{name: name, shape: shape, quant: quant})
		for i := 0; i < n; i++ {
			v := float32(rng.Float64()*2-1) * 0.7
			switch quant {
			case "float16":
				data = binary.LittleEndian.AppendUint16(data, float32ToHalf(v))
			case "uint8":
				data = append(data, byte(rng.IntN(256)))
			default:
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			}
		}
	}
	scalar := func(name string, v float32) {
		ws = append(ws, w{name: name, shape: []int{}})
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	add("c/w", "float16", 3, 3, 2, 4)
	add("c/b", "", 4)
	scalar("hs/a", 3)
	scalar("hs/m", 1.0/6)
	add("d/w", "uint8", 3, 3, 4, 1)
	add("d/b", "", 4)
	ws = append(ws, w{name: "se/axes", shape: []int{2}, ints: []int32{1, 2}})
	data = binary.LittleEndian.AppendUint32(data, 1)
	data = binary.LittleEndian.AppendUint32(data, 2)
	add("se1/w", "", 1, 1, 4, 2)
	add("se1/b", "", 2)
	add("se2/w", "", 1, 1, 2, 4)
	add("se2/b", "", 4)
	add("p/w", "", 1, 1, 4, 4)
	add("p/b", "", 4)

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	conv := func(op, name string, stride int, ops []string, in ...string) map[string]any {
		var s []string
		for _, o := range ops {
			s = append(s, b64(o))
		}
		st := []string{"1", strconv.Itoa(stride), strconv.Itoa(stride), "1"}
		return map[string]any{"name": name, "op": op, "input": in, "attr": map[string]any{
			"strides": map[string]any{"list": map[string]any{"i": st}}, "padding": map[string]any{"s": b64("SAME")},
			"data_format": map[string]any{"s": b64("NHWC")}, "num_args": map[string]any{"i": "1"},
			"fused_ops": map[string]any{"list": map[string]any{"s": s}},
			"dilations": map[string]any{"list": map[string]any{"i": []string{"1", "1", "1", "1"}}},
		}}
	}
	op := func(op, name string, in ...string) map[string]any {
		return map[string]any{"name": name, "op": op, "input": in}
	}
	nodes := []any{
		map[string]any{"name": "x", "op": "Placeholder", "attr": map[string]any{"shape": map[string]any{"shape": map[string]any{
			"dim": []any{map[string]any{"size": "-1"}, map[string]any{"size": "-1"}, map[string]any{"size": "-1"}, map[string]any{"size": "2"}}}}}},
	}
	for _, x := range ws {
		nodes = append(nodes, map[string]any{"name": x.name, "op": "Const"})
	}
	nodes = append(nodes,
		conv("_FusedConv2D", "c", 2, []string{"BiasAdd"}, "x", "c/w", "c/b"),
		op("Mul", "hs/mul", "hs/m", "c"),
		op("AddV2", "hs/add", "c", "hs/a"),
		op("Relu6", "hs/relu6", "hs/add"),
		op("Mul", "hs", "hs/mul", "hs/relu6"),
		conv("FusedDepthwiseConv2dNative", "d", 1, []string{"BiasAdd", "Relu"}, "hs", "d/w", "d/b", "^c"),
		map[string]any{"name": "se/mean", "op": "Mean", "input": []string{"d", "se/axes"}, "attr": map[string]any{"keep_dims": map[string]any{"b": true}}},
		conv("_FusedConv2D", "se1", 1, []string{"BiasAdd", "Relu"}, "se/mean", "se1/w", "se1/b"),
		conv("_FusedConv2D", "se2", 1, []string{"BiasAdd"}, "se1", "se2/w", "se2/b"),
		op("Add", "se/add", "se2", "hs/a"),
		op("Relu6", "se/relu6", "se/add"),
		op("Mul", "se/gate", "se/relu6", "hs/m"),
		op("Mul", "se", "se/gate", "d:0"),
		conv("_FusedConv2D", "p", 1, []string{"BiasAdd"}, "se", "p/w", "p/b"),
		op("Identity", "p/id", "p"),
		op("Add", "out", "p/id", "hs"),
		op("Softmax", "head", "out"), // past the cut: never compiled
	)
	var specs []any
	for _, x := range ws {
		s := map[string]any{"name": x.name, "shape": x.shape, "dtype": "float32"}
		if x.ints != nil {
			s["dtype"] = "int32"
		}
		switch x.quant {
		case "float16":
			s["quantization"] = map[string]any{"dtype": "float16", "original_dtype": "float32"}
		case "uint8":
			s["quantization"] = map[string]any{"dtype": "uint8", "scale": 0.005, "min": -0.6, "original_dtype": "float32"}
		}
		specs = append(specs, s)
	}
	js, err := json.Marshal(map[string]any{
		"format": "graph-model", "generatedBy": "test",
		"modelTopology":   map[string]any{"node": nodes},
		"weightsManifest": []any{map[string]any{"paths": []string{"w.bin"}, "weights": specs}},
	})
	if err != nil {
		panic(err)
	}
	return js, data
}

// float32ToHalf rounds to binary16 by truncation (enough for test data).
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	if exp <= 0 {
		return sign
	}
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

func TestHalfToFloat32(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x0001, 1.0 / (1 << 24)},
		{0x7bff, 65504}, {0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))},
	} {
		if got := tensor.HalfToFloat32(c.h); got != c.want || math.Signbit(float64(got)) != math.Signbit(float64(c.want)) {
			t.Errorf("tensor.HalfToFloat32(%#04x) = %g, want %g", c.h, got, c.want)
		}
	}
	if !math.IsNaN(float64(tensor.HalfToFloat32(0x7e00))) {
		t.Error("0x7e00 is not NaN")
	}
}

func TestParseAndCompileTiny(t *testing.T) {
	js, data := tiny(rand.New(rand.NewPCG(1, 2)))
	m, err := Parse(js, data, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Weights["d/w"]; d == nil || d.Float[0] < -0.6 || d.Float[0] > -0.6+255*0.005+1e-6 {
		t.Fatalf("uint8 dequantisation: %v", d)
	}
	if a := m.Node("c").Attrs["fused_ops"]; len(a.Strings) != 1 || a.Strings[0] != "BiasAdd" {
		t.Fatalf("fused_ops decoded as %+v", a)
	}
	net, err := Compile(m, "x", "hs", "out")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(1, 7, 6, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64()*4 - 2)
	}
	g := nn.NewInferenceGraph(nil)
	outs := net.Graph(g, g.Input(x, false))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(outs[0].Value.Shape, []int{1, 4, 3, 4}) || !tensor.SameShape(outs[1].Value.Shape, []int{1, 4, 3, 4}) {
		t.Fatalf("shapes %v %v", outs[0].Value.Shape, outs[1].Value.Shape)
	}
	// hard-swish by hand from the convolution's output.
	conv, err := Compile(m, "x", "c")
	if err != nil {
		t.Fatal(err)
	}
	g2 := nn.NewInferenceGraph(nil)
	c := conv.Graph(g2, g2.Input(x, false))[0].Value
	for i, v := range c.Data {
		want := v * (1.0 / 6) * min(max(v+3, 0), 6)
		if d := math.Abs(float64(outs[0].Value.Data[i] - want)); d > 1e-6 {
			t.Fatalf("hard-swish(%g) = %g, want %g", v, outs[0].Value.Data[i], want)
		}
	}
	// Only the first output's part runs for GraphUpTo(…, 1).
	g3 := nn.NewInferenceGraph(nil)
	if got := net.GraphUpTo(g3, g3.Input(x, false), 1); len(got) != 1 || got[0].Value.Len() != outs[0].Value.Len() {
		t.Fatalf("GraphUpTo(1) returned %d outputs", len(got))
	}
	if _, err := Compile(m, "x", "head"); err == nil || !strings.Contains(err.Error(), "Softmax") {
		t.Errorf("compiling past the cut: %v, want an error naming Softmax", err)
	}
}

// TestCompiledGradient checks ∂(Σ r·out)/∂x of the compiled block against
// central differences: the graph is differentiable in its input.
func TestCompiledGradient(t *testing.T) {
	js, data := tiny(rand.New(rand.NewPCG(5, 6)))
	m, err := Parse(js, data, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m, "x", "hs", "out")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	x := tensor.New(1, 5, 6, 2)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64()*2 - 1)
	}
	r := make([]float64, 4*3*4)
	for i := range r {
		r[i] = rng.Float64()*2 - 1
	}
	loss := func(x *tensor.Tensor) float64 {
		g := nn.NewInferenceGraph(nil)
		out := net.Graph(g, g.Input(x, false))[1].Value
		s := 0.0
		for i, v := range out.Data {
			s += r[i] * float64(v)
		}
		return s
	}
	g := nn.NewGraph(nil)
	in := g.Input(x, true)
	out := net.Graph(g, in)[1]
	seed := tensor.New(out.Value.Shape...)
	for i := range seed.Data {
		seed.Data[i] = float32(r[i])
	}
	if err := g.BackwardFrom(out, seed); err != nil {
		t.Fatal(err)
	}
	const eps = 1e-2
	worst := 0.0
	for i := range x.Data {
		keep := x.Data[i]
		x.Data[i] = keep + eps
		up := loss(x)
		x.Data[i] = keep - eps
		down := loss(x)
		x.Data[i] = keep
		num := (up - down) / (2 * eps)
		got := float64(in.Grad.Data[i])
		worst = max(worst, math.Abs(got-num)/max(1, math.Abs(num)))
	}
	t.Logf("worst gradient error %.2g", worst)
	if worst > 2e-2 {
		t.Errorf("gradient differs from central differences by %.3g", worst)
	}
}

func TestParseErrors(t *testing.T) {
	js, data := tiny(rand.New(rand.NewPCG(1, 2)))
	small := DefaultLimits
	small.Nodes = 5
	for _, c := range []struct {
		name    string
		js      string
		data    []byte
		lim     Limits
		wantErr string
	}{
		{"not json", "{", data, DefaultLimits, "model.json"},
		{"layers model", `{"format":"layers-model","modelTopology":{"node":[{"name":"a","op":"b"}]}}`, nil, DefaultLimits, "graph-model"},
		{"no nodes", `{"format":"graph-model","modelTopology":{"node":[]}}`, nil, DefaultLimits, "no modelTopology"},
		{"short weights", string(js), data[:len(data)-1], DefaultLimits, "needs"},
		{"long weights", string(js), append(append([]byte{}, data...), 0), DefaultLimits, "describes"},
		{"too many nodes", string(js), data, small, "limit"},
		{"duplicate node", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"b"},{"name":"a","op":"c"}]}}`, nil, DefaultLimits, "twice"},
		{"bad base64", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"b","attr":{"p":{"s":"@@"}}}]}}`, nil, DefaultLimits, "string"},
		{"bad int", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"b","attr":{"p":{"i":"x1"}}}]}}`, nil, DefaultLimits, "integer"},
		{"huge shape", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Const"}]},"weightsManifest":[{"paths":["w"],"weights":[{"name":"a","shape":[1000000,1000000,1000000],"dtype":"float32"}]}]}`, nil, DefaultLimits, "elements"},
		{"negative shape", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Const"}]},"weightsManifest":[{"paths":["w"],"weights":[{"name":"a","shape":[-2],"dtype":"float32"}]}]}`, nil, DefaultLimits, "shape"},
		{"unknown quantisation", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Const"}]},"weightsManifest":[{"paths":["w"],"weights":[{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"int4"}}]}]}`, nil, DefaultLimits, "quantisation"},
		{"string weights", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Const"}]},"weightsManifest":[{"paths":["w"],"weights":[{"name":"a","shape":[1],"dtype":"string"}]}]}`, []byte{0, 0, 0, 0}, DefaultLimits, "dtype"},
	} {
		_, err := Parse([]byte(c.js), c.data, c.lim)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
	if _, err := ShardPaths([]byte(`{"weightsManifest":[{"paths":["../x.bin"]}]}`)); err == nil {
		t.Error("a shard path leaving the folder is accepted")
	}
}

func TestCompileErrors(t *testing.T) {
	js, data := tiny(rand.New(rand.NewPCG(1, 2)))
	for _, c := range []struct {
		name, from, to, input, wantErr string
	}{
		{"unknown output", "", "", "x", "no node"},
		{"input not a placeholder", "", "", "c", "Placeholder"},
		{"stride", `"i":["1","2","2","1"]`, `"i":["1","2","3","1"]`, "x", "strides"},
		{"padding", base64.StdEncoding.EncodeToString([]byte("SAME")), base64.StdEncoding.EncodeToString([]byte("FULL")), "x", "padding"},
		{"cycle", `"input":["x","c/w","c/b"]`, `"input":["out","c/w","c/b"]`, "x", "cycle"},
		{"second output", `"d:0"`, `"d:1"`, "x", "output 0"},
	} {
		s := string(js)
		if c.from != "" {
			s = strings.Replace(s, c.from, c.to, 1)
		}
		m, err := Parse([]byte(s), data, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out := "out"
		if c.name == "unknown output" {
			out = "nope"
		}
		if _, err := Compile(m, c.input, out); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
}

// FuzzParse feeds arbitrary model.json and weight bytes to the reader and
// the compiler, which must return a model or an error and never panic
// (go test -fuzz FuzzParse -fuzzminimizetime 0: minimising the large seed's
// finds is slow; 361k runs on the shared machine found nothing).
func FuzzParse(f *testing.F) {
	js, data := tiny(rand.New(rand.NewPCG(1, 2)))
	f.Add(js, data)
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"a","op":"Relu","input":["x"]}]}}`), []byte{})
	lim := DefaultLimits
	lim.TotalElems, lim.TensorElems = 1<<20, 1<<20
	f.Fuzz(func(t *testing.T, js, data []byte) {
		m, err := Parse(js, data, lim)
		if err != nil {
			return
		}
		for _, out := range []string{"out", "hs", "a"} {
			net, err := Compile(m, "x", out)
			if err != nil {
				continue
			}
			g := nn.NewInferenceGraph(nil)
			net.Graph(g, g.Input(tensor.New(1, 4, 4, 2), false))
		}
	})
}
