package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pw "google.golang.org/protobuf/encoding/protowire"
)

// The test messages are built field by field with protowire, so that each
// test states exactly which bytes the reader sees.

func msg(b []byte, num pw.Number, sub []byte) []byte {
	b = pw.AppendTag(b, num, pw.BytesType)
	return pw.AppendBytes(b, sub)
}

func str(b []byte, num pw.Number, s string) []byte {
	b = pw.AppendTag(b, num, pw.BytesType)
	return pw.AppendString(b, s)
}

func varint(b []byte, num pw.Number, v uint64) []byte {
	b = pw.AppendTag(b, num, pw.VarintType)
	return pw.AppendVarint(b, v)
}

func packedVarints(b []byte, num pw.Number, vs ...int64) []byte {
	var p []byte
	for _, v := range vs {
		p = pw.AppendVarint(p, uint64(v))
	}
	return msg(b, num, p)
}

func rawFloats(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func rawInt64s(vs ...int64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b
}

// tensorMsg is a TensorProto with packed dims.
func tensorMsg(name string, dt DataType, dims []int64, data func([]byte) []byte) []byte {
	var t []byte
	if len(dims) > 0 {
		t = packedVarints(t, 1, dims...)
	}
	t = varint(t, 2, uint64(dt))
	t = str(t, 8, name)
	if data != nil {
		t = data(t)
	}
	return t
}

func valueInfoMsg(name string, dims ...any) []byte {
	var shape []byte
	for _, d := range dims {
		var dm []byte
		switch d := d.(type) {
		case int:
			dm = varint(dm, 1, uint64(d))
		case string:
			dm = str(dm, 2, d)
		}
		shape = msg(shape, 1, dm)
	}
	var tt []byte
	tt = varint(tt, 1, uint64(Float))
	tt = msg(tt, 2, shape)
	var typ []byte
	typ = msg(typ, 1, tt)
	var v []byte
	v = str(v, 1, name)
	return msg(v, 2, typ)
}

func attrInts(name string, vs ...int64) []byte {
	var a []byte
	a = str(a, 1, name)
	a = varint(a, 20, uint64(AttrInts))
	for _, v := range vs { // unpacked, as some exporters write them
		a = varint(a, 8, uint64(v))
	}
	return a
}

func attrInt(name string, v int64) []byte {
	var a []byte
	a = str(a, 1, name)
	a = varint(a, 20, uint64(AttrInt))
	return varint(a, 3, uint64(v))
}

func attrFloat(name string, v float32) []byte {
	var a []byte
	a = str(a, 1, name)
	a = varint(a, 20, uint64(AttrFloat))
	a = pw.AppendTag(a, 2, pw.Fixed32Type)
	return pw.AppendFixed32(a, math.Float32bits(v))
}

func nodeMsg(op string, ins, outs []string, attrs ...[]byte) []byte {
	var n []byte
	for _, s := range ins {
		n = str(n, 1, s)
	}
	for _, s := range outs {
		n = str(n, 2, s)
	}
	n = str(n, 3, op+"_0")
	n = str(n, 4, op)
	for _, a := range attrs {
		n = msg(n, 5, a)
	}
	return n
}

func modelMsg(graph []byte) []byte {
	var m []byte
	m = varint(m, 1, 7)
	m = str(m, 2, "pytorch")
	m = str(m, 3, "1.10")
	var op []byte
	op = str(op, 1, "")
	op = varint(op, 2, 9)
	m = msg(m, 8, op)
	return msg(m, 7, graph)
}

// smallModel is a Conv → Reshape graph using each encoding the reader
// decodes: raw and packed float data, raw int64 data, packed and unpacked
// repeated fields, a tensor attribute, symbolic and fixed dims.
func smallModel() []byte {
	var g []byte
	g = str(g, 2, "torch-jit-export")
	var constant []byte
	constant = str(constant, 1, "value")
	constant = varint(constant, 20, uint64(AttrTensor))
	constant = msg(constant, 5, tensorMsg("", Int64, []int64{2}, func(b []byte) []byte {
		return msg(b, 9, rawInt64s(1, -1))
	}))
	g = msg(g, 1, nodeMsg("Constant", nil, []string{"shape"}, constant))
	g = msg(g, 1, nodeMsg("Conv", []string{"input", "w", "b"}, []string{"y"},
		attrInts("kernel_shape", 1, 1), attrInts("pads", 0, 0, 0, 0), attrInt("group", 1), attrFloat("alpha", 0.25)))
	g = msg(g, 1, nodeMsg("Reshape", []string{"y", "shape"}, []string{"output"}))
	g = msg(g, 5, tensorMsg("w", Float, []int64{2, 1, 1, 1}, func(b []byte) []byte {
		return msg(b, 9, rawFloats(1.5, -2))
	}))
	g = msg(g, 5, tensorMsg("b", Float, []int64{2}, func(b []byte) []byte {
		return msg(b, 4, rawFloats(0.5, 0.25)) // packed float_data
	}))
	g = msg(g, 11, valueInfoMsg("input", "batch", 1, 2, 2))
	g = msg(g, 12, valueInfoMsg("output", 1, 8))
	return modelMsg(g)
}

func TestParseSmallModel(t *testing.T) {
	m, err := Parse(smallModel())
	if err != nil {
		t.Fatal(err)
	}
	if m.IRVersion != 7 || m.Producer != "pytorch" || m.Version != "1.10" || len(m.Opsets) != 1 || m.Opsets[0] != (Opset{"", 9}) {
		t.Errorf("model header: %+v", m)
	}
	g := m.Graph
	if g.Name != "torch-jit-export" || len(g.Nodes) != 3 || len(g.Initializers) != 2 {
		t.Fatalf("graph: name %q, %d nodes, %d initializers", g.Name, len(g.Nodes), len(g.Initializers))
	}
	c := g.Nodes[0].Attr("value")
	if c == nil || c.Type != AttrTensor || c.T.DataType != Int64 || len(c.T.Int64s) != 2 || c.T.Int64s[1] != -1 {
		t.Errorf("Constant value: %+v", c)
	}
	conv := g.Nodes[1]
	if conv.OpType != "Conv" || conv.Name != "Conv_0" || strings.Join(conv.Inputs, ",") != "input,w,b" || conv.Outputs[0] != "y" {
		t.Errorf("conv node: %+v", conv)
	}
	if a := conv.Attr("kernel_shape"); a == nil || a.Type != AttrInts || len(a.Ints) != 2 || a.Ints[0] != 1 {
		t.Errorf("kernel_shape: %+v", a)
	}
	if a := conv.Attr("group"); a == nil || a.Type != AttrInt || a.I != 1 {
		t.Errorf("group: %+v", a)
	}
	if a := conv.Attr("alpha"); a == nil || a.Type != AttrFloat || a.F != 0.25 {
		t.Errorf("alpha: %+v", a)
	}
	if conv.Attr("missing") != nil {
		t.Error("Attr of a missing name is not nil")
	}
	w, b := g.Initializers[0], g.Initializers[1]
	if w.Name != "w" || w.Len() != 2 || w.Floats[0] != 1.5 || w.Floats[1] != -2 {
		t.Errorf("w: %+v", w)
	}
	if b.Name != "b" || len(b.Floats) != 2 || b.Floats[1] != 0.25 {
		t.Errorf("b: %+v", b)
	}
	in := g.Inputs[0]
	if in.Name != "input" || in.ElemType != Float || len(in.Shape) != 4 || in.Shape[0] != (Dim{Param: "batch"}) || in.Shape[3].Value != 2 {
		t.Errorf("input: %+v", in)
	}
	if out := g.Outputs[0]; out.Name != "output" || len(out.Shape) != 2 || out.Shape[1].Value != 8 {
		t.Errorf("output: %+v", out)
	}
}

func TestParseUnpackedFloatsAndUnknownFields(t *testing.T) {
	var g []byte
	g = varint(g, 99, 5) // an unknown field: skipped
	g = msg(g, 5, tensorMsg("f", Float, []int64{2}, func(b []byte) []byte {
		for _, v := range []float32{3, 4} {
			b = pw.AppendTag(b, 4, pw.Fixed32Type)
			b = pw.AppendFixed32(b, math.Float32bits(v))
		}
		return b
	}))
	m, err := Parse(modelMsg(g))
	if err != nil {
		t.Fatal(err)
	}
	if f := m.Graph.Initializers[0].Floats; len(f) != 2 || f[1] != 4 {
		t.Errorf("floats %v", f)
	}
}

func TestParseErrors(t *testing.T) {
	full := smallModel()
	withInit := func(tensor []byte) []byte {
		return modelMsg(msg(nil, 5, tensor))
	}
	cases := map[string][]byte{
		"empty":           {},
		"truncated":       full[:len(full)-3],
		"no graph":        varint(nil, 1, 7),
		"bad tag":         {0x00},
		"graph as varint": varint(nil, 7, 1),
		"raw size": withInit(tensorMsg("w", Float, []int64{3}, func(b []byte) []byte {
			return msg(b, 9, rawFloats(1, 2))
		})),
		"float count": withInit(tensorMsg("w", Float, []int64{2, 2}, func(b []byte) []byte {
			return msg(b, 4, rawFloats(1, 2))
		})),
		"negative dim": withInit(tensorMsg("w", Float, []int64{-1}, nil)),
		"huge dims": withInit(tensorMsg("w", Float, []int64{1 << 40, 1 << 40}, func(b []byte) []byte {
			return msg(b, 9, rawFloats(1))
		})),
		"int64 raw size": withInit(tensorMsg("s", Int64, []int64{2}, func(b []byte) []byte {
			return msg(b, 9, rawInt64s(1))
		})),
		"double data": withInit(tensorMsg("d", 11, []int64{1}, func(b []byte) []byte {
			return msg(b, 9, make([]byte, 8))
		})),
		"external data": withInit(tensorMsg("w", Float, []int64{1}, func(b []byte) []byte {
			return varint(b, 14, 1)
		})),
		"both raw and typed": withInit(tensorMsg("w", Float, []int64{1}, func(b []byte) []byte {
			b = msg(b, 4, rawFloats(1))
			return msg(b, 9, rawFloats(1))
		})),
		"name as varint":                  modelMsg(msg(nil, 1, varint(nil, 4, 3))),
		"attribute without name":          modelMsg(msg(nil, 1, msg(nil, 5, varint(nil, 3, 1)))),
		"tensor attribute without tensor": modelMsg(msg(nil, 1, msg(nil, 5, varint(str(nil, 1, "value"), 20, uint64(AttrTensor))))),
		"two graphs":                      append(modelMsg(nil), msg(nil, 7, nil)...),
		"odd packed floats":               modelMsg(msg(nil, 1, msg(nil, 5, msg(str(nil, 1, "f"), 7, []byte{1, 2, 3})))),
		"bad packed varint":               modelMsg(msg(nil, 1, msg(nil, 5, msg(str(nil, 1, "i"), 8, []byte{0x80})))),
	}
	for name, data := range cases {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "onnx: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

func TestParseLimits(t *testing.T) {
	data := smallModel()
	tight := func(f func(*Limits)) Limits {
		l := DefaultLimits
		f(&l)
		return l
	}
	cases := map[string]Limits{
		"file":         tight(func(l *Limits) { l.FileBytes = len(data) - 1 }),
		"nodes":        tight(func(l *Limits) { l.Nodes = 2 }),
		"initializers": tight(func(l *Limits) { l.Initializers = 1 }),
		"values":       tight(func(l *Limits) { l.Values = 1 }),
		"attributes":   tight(func(l *Limits) { l.Attributes = 3 }),
		"node io":      tight(func(l *Limits) { l.NodeIO = 3 }),
		"dims":         tight(func(l *Limits) { l.Dims = 3 }),
		"tensor elems": tight(func(l *Limits) { l.TensorElems = 1 }),
		"total elems":  tight(func(l *Limits) { l.TotalElems = 5 }),
		"list":         tight(func(l *Limits) { l.ListLen = 3 }),
		"names":        tight(func(l *Limits) { l.NameBytes = 6 }),
	}
	if _, err := ParseLimits(data, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	for name, lim := range cases {
		if _, err := ParseLimits(data, lim); err == nil {
			t.Errorf("limit %s: no error", name)
		}
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(p, smallModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p + ".missing"); err == nil {
		t.Error("missing file: no error")
	}
	if err := os.WriteFile(p, []byte{0xff}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("malformed file: error %v does not name the file", err)
	}
}

// FuzzParse feeds arbitrary bytes to the reader, which must return a model
// or an error and never panic; the seeds (testdata/fuzz/FuzzParse) are
// the small model and damaged copies of it.
func FuzzParse(f *testing.F) {
	f.Add(smallModel())
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits
		// Small limits keep each run cheap while still reaching every check.
		lim.TensorElems, lim.TotalElems = 1<<16, 1<<16
		m, err := ParseLimits(data, lim)
		if err != nil {
			return
		}
		for _, in := range m.Graph.Initializers {
			if in.Len() != len(in.Floats)+len(in.Int64s) && (in.DataType == Float || in.DataType == Int64) {
				t.Fatalf("tensor %q: %d values for dims %v", in.Name, len(in.Floats)+len(in.Int64s), in.Dims)
			}
		}
	})
}
