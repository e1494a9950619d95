// Package onnx reads ONNX model files (the protobuf ModelProto) and runs
// the graphs facerec supports on its own engine (package nn).
//
// The reader decodes the protobuf wire format directly (protowire), keeping
// only what inference needs: the graph's nodes with their attributes, the
// initializers (FLOAT and INT64 tensors), and the graph's inputs and outputs
// with their shapes. Unknown fields are skipped, as protobuf readers do;
// anything malformed, or past the Limits, is an error and never a panic, so
// a hostile file cannot crash the process or make it allocate much more
// than the file's own size.
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// DataType is an ONNX TensorProto.DataType.
type DataType int32

// The element types the reader decodes. Other types parse (their dims and
// type are kept) only when the tensor carries no data.
const (
	Float DataType = 1
	Int64 DataType = 7
)

func (t DataType) String() string {
	switch t {
	case Float:
		return "FLOAT"
	case Int64:
		return "INT64"
	}
	return fmt.Sprintf("data type %d", int32(t))
}

// AttrType is an ONNX AttributeProto.AttributeType.
type AttrType int32

// The attribute types. The reader decodes the values of FLOAT, INT,
// STRING, TENSOR, FLOATS and INTS; an attribute of another type keeps its
// name and type only.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrGraph   AttrType = 5
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Limits bound what a file may hold. Parse checks each while decoding, so
// that a file declaring huge sizes fails before anything that large is
// allocated.
type Limits struct {
	FileBytes    int // size of the whole file
	Nodes        int // nodes in the graph
	Initializers int // initializers in the graph
	Values       int // graph inputs, outputs and value_infos together
	Attributes   int // attributes of one node
	NodeIO       int // inputs plus outputs of one node
	Dims         int // rank of a tensor or a shape
	TensorElems  int // elements of one tensor
	TotalElems   int // elements of all tensors together
	ListLen      int // values of one INTS or FLOATS attribute
	NameBytes    int // length of a name, op type, domain or string attribute
}

// DefaultLimits comfortably hold the face models facerec runs (the largest
// is a few MB) while keeping a hostile file's cost small.
var DefaultLimits = Limits{
	FileBytes:    256 << 20,
	Nodes:        100_000,
	Initializers: 100_000,
	Values:       100_000,
	Attributes:   64,
	NodeIO:       1024,
	Dims:         8,
	TensorElems:  64 << 20,
	TotalElems:   64 << 20,
	ListLen:      1 << 16,
	NameBytes:    4096,
}

// Model is a parsed ModelProto.
type Model struct {
	IRVersion int64
	Producer  string // producer_name, e.g. "pytorch"
	Version   string // producer_version
	Opsets    []Opset
	Graph     Graph
}

// Opset is one opset_import entry; Domain "" is the default ONNX domain.
type Opset struct {
	Domain  string
	Version int64
}

// Graph is a parsed GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []*Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is one operator application.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string // "" marks an omitted optional input
	Outputs []string
	Attrs   []Attribute
}

// Attr returns the node's attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			return &n.Attrs[i]
		}
	}
	return nil
}

// Attribute is one node attribute; the field matching Type holds its value.
type Attribute struct {
	Name   string
	Type   AttrType
	F      float32
	I      int64
	S      []byte
	T      *Tensor
	Floats []float32
	Ints   []int64
}

// Tensor is a dense tensor: Floats holds a FLOAT tensor's values, Int64s an
// INT64 tensor's, in row-major order of Dims.
type Tensor struct {
	Name     string
	Dims     []int64
	DataType DataType
	Floats   []float32
	Int64s   []int64
}

// Len is the number of elements Dims describe (1 for a scalar).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Dims {
		n *= int(d)
	}
	return n
}

// ValueInfo is a graph input or output: its name, element type and shape
// (nil when the file gives none).
type ValueInfo struct {
	Name     string
	ElemType DataType
	Shape    []Dim
}

// Dim is one dimension of a shape: a fixed size (Param "") or a symbolic
// one (Param names it, Value is 0).
type Dim struct {
	Value int64
	Param string
}

// ReadFile parses the ONNX file at path with DefaultLimits, refusing a file
// larger than DefaultLimits.FileBytes before reading it.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	// Read one byte past the limit to tell a file at the limit from a
	// larger one without trusting Stat.
	data, err := io.ReadAll(io.LimitReader(f, int64(DefaultLimits.FileBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: reading %s: %w", path, err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return m, nil
}

// Parse decodes a ModelProto with DefaultLimits.
func Parse(data []byte) (*Model, error) {
	return ParseLimits(data, DefaultLimits)
}

// ParseLimits decodes a ModelProto, refusing anything past lim. A model
// must have a graph; tensors stored outside the file (external data) are
// refused.
func ParseLimits(data []byte, lim Limits) (*Model, error) {
	if len(data) > lim.FileBytes {
		return nil, fmt.Errorf("onnx: file of more than %d bytes", lim.FileBytes)
	}
	p := &parser{lim: lim}
	m, err := p.model(data)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

type parser struct {
	lim   Limits
	elems int // tensor elements decoded so far
	vals  int // value infos so far
}

// field is one decoded field: its number and type, the varint or fixed
// value, or the bytes of a length-delimited one.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	u     uint64
	bytes []byte
}

// each calls f for every field of the message b.
func each(b []byte, f func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad field tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		fd := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			fd.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			fd.u = uint64(v)
		case protowire.Fixed64Type:
			fd.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			fd.bytes, n = protowire.ConsumeBytes(b)
		default:
			// Groups (deprecated) and reserved types: skipped whole.
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("bad field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(fd); err != nil {
			return err
		}
	}
	return nil
}

// want checks a field's wire type; what names the field in the error.
func (fd field) want(typ protowire.Type, what string) error {
	if fd.typ != typ {
		return fmt.Errorf("%s (field %d) has wire type %d, want %d", what, fd.num, fd.typ, typ)
	}
	return nil
}

// str decodes a length-delimited field as a name of bounded length.
func (p *parser) str(fd field, what string) (string, error) {
	if err := fd.want(protowire.BytesType, what); err != nil {
		return "", err
	}
	if len(fd.bytes) > p.lim.NameBytes {
		return "", fmt.Errorf("%s of %d bytes (limit %d)", what, len(fd.bytes), p.lim.NameBytes)
	}
	return string(fd.bytes), nil
}

// int64s appends the values of a repeated int64 field, packed or not.
func (p *parser) int64s(dst []int64, fd field, max int, what string) ([]int64, error) {
	if fd.typ == protowire.VarintType {
		if len(dst) >= max {
			return nil, fmt.Errorf("%s: more than %d values", what, max)
		}
		return append(dst, int64(fd.u)), nil
	}
	if err := fd.want(protowire.BytesType, what); err != nil {
		return nil, err
	}
	b := fd.bytes
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, fmt.Errorf("%s: %w", what, protowire.ParseError(n))
		}
		if len(dst) >= max {
			return nil, fmt.Errorf("%s: more than %d values", what, max)
		}
		dst = append(dst, int64(v))
		b = b[n:]
	}
	return dst, nil
}

// float32s appends the values of a repeated float field, packed or not.
func (p *parser) float32s(dst []float32, fd field, max int, what string) ([]float32, error) {
	if fd.typ == protowire.Fixed32Type {
		if len(dst) >= max {
			return nil, fmt.Errorf("%s: more than %d values", what, max)
		}
		return append(dst, math.Float32frombits(uint32(fd.u))), nil
	}
	if err := fd.want(protowire.BytesType, what); err != nil {
		return nil, err
	}
	if len(fd.bytes)%4 != 0 {
		return nil, fmt.Errorf("%s: packed floats of %d bytes", what, len(fd.bytes))
	}
	if len(dst)+len(fd.bytes)/4 > max {
		return nil, fmt.Errorf("%s: more than %d values", what, max)
	}
	for i := 0; i < len(fd.bytes); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(fd.bytes[i:])))
	}
	return dst, nil
}

func (p *parser) model(b []byte) (*Model, error) {
	m := &Model{}
	hasGraph := false
	err := each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			if err = fd.want(protowire.VarintType, "ir_version"); err == nil {
				m.IRVersion = int64(fd.u)
			}
		case 2:
			m.Producer, err = p.str(fd, "producer_name")
		case 3:
			m.Version, err = p.str(fd, "producer_version")
		case 7:
			if hasGraph {
				return errors.New("model has two graphs")
			}
			hasGraph = true
			if err = fd.want(protowire.BytesType, "graph"); err == nil {
				err = p.graph(&m.Graph, fd.bytes)
			}
		case 8:
			if len(m.Opsets) >= 64 {
				return errors.New("more than 64 opset imports")
			}
			var o Opset
			if err = fd.want(protowire.BytesType, "opset_import"); err == nil {
				err = p.opset(&o, fd.bytes)
			}
			m.Opsets = append(m.Opsets, o)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !hasGraph {
		return nil, errors.New("model has no graph")
	}
	return m, nil
}

func (p *parser) opset(o *Opset, b []byte) error {
	return each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			o.Domain, err = p.str(fd, "opset domain")
		case 2:
			if err = fd.want(protowire.VarintType, "opset version"); err == nil {
				o.Version = int64(fd.u)
			}
		}
		return err
	})
}

func (p *parser) graph(g *Graph, b []byte) error {
	return each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			if len(g.Nodes) >= p.lim.Nodes {
				return fmt.Errorf("more than %d nodes", p.lim.Nodes)
			}
			var n Node
			if err = fd.want(protowire.BytesType, "node"); err == nil {
				err = p.node(&n, fd.bytes)
			}
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name, err = p.str(fd, "graph name")
		case 5:
			if len(g.Initializers) >= p.lim.Initializers {
				return fmt.Errorf("more than %d initializers", p.lim.Initializers)
			}
			if err = fd.want(protowire.BytesType, "initializer"); err != nil {
				return err
			}
			t, err := p.tensor(fd.bytes)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 11, 12:
			what := "input"
			if fd.num == 12 {
				what = "output"
			}
			if p.vals >= p.lim.Values {
				return fmt.Errorf("more than %d graph inputs and outputs", p.lim.Values)
			}
			p.vals++
			var v ValueInfo
			if err = fd.want(protowire.BytesType, what); err == nil {
				err = p.valueInfo(&v, fd.bytes)
			}
			if err != nil {
				return fmt.Errorf("graph %s: %w", what, err)
			}
			if fd.num == 11 {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		case 15:
			return errors.New("sparse initializers are not supported")
		}
		return err
	})
}

func (p *parser) node(n *Node, b []byte) error {
	return each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1, 2:
			if len(n.Inputs)+len(n.Outputs) >= p.lim.NodeIO {
				return fmt.Errorf("more than %d inputs and outputs", p.lim.NodeIO)
			}
			var s string
			if s, err = p.str(fd, "node input or output"); err != nil {
				return err
			}
			if fd.num == 1 {
				n.Inputs = append(n.Inputs, s)
			} else {
				n.Outputs = append(n.Outputs, s)
			}
		case 3:
			n.Name, err = p.str(fd, "node name")
		case 4:
			n.OpType, err = p.str(fd, "op_type")
		case 7:
			n.Domain, err = p.str(fd, "node domain")
		case 5:
			if len(n.Attrs) >= p.lim.Attributes {
				return fmt.Errorf("more than %d attributes", p.lim.Attributes)
			}
			var a Attribute
			if err = fd.want(protowire.BytesType, "attribute"); err == nil {
				err = p.attribute(&a, fd.bytes)
			}
			if err != nil {
				return fmt.Errorf("attribute %q: %w", a.Name, err)
			}
			n.Attrs = append(n.Attrs, a)
		}
		return err
	})
}

func (p *parser) attribute(a *Attribute, b []byte) error {
	err := each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			a.Name, err = p.str(fd, "attribute name")
		case 20:
			if err = fd.want(protowire.VarintType, "attribute type"); err == nil {
				if fd.u > math.MaxInt32 {
					return fmt.Errorf("attribute type %d", fd.u)
				}
				a.Type = AttrType(fd.u)
			}
		case 2:
			if err = fd.want(protowire.Fixed32Type, "attribute f"); err == nil {
				a.F = math.Float32frombits(uint32(fd.u))
			}
		case 3:
			if err = fd.want(protowire.VarintType, "attribute i"); err == nil {
				a.I = int64(fd.u)
			}
		case 4:
			var s string
			s, err = p.str(fd, "attribute s")
			a.S = []byte(s)
		case 5:
			if a.T != nil {
				return errors.New("two tensors")
			}
			if err = fd.want(protowire.BytesType, "attribute t"); err == nil {
				a.T, err = p.tensor(fd.bytes)
			}
		case 7:
			a.Floats, err = p.float32s(a.Floats, fd, p.lim.ListLen, "attribute floats")
		case 8:
			a.Ints, err = p.int64s(a.Ints, fd, p.lim.ListLen, "attribute ints")
		}
		return err
	})
	if err != nil {
		return err
	}
	if a.Name == "" {
		return errors.New("attribute without a name")
	}
	if a.Type == AttrTensor && a.T == nil {
		return errors.New("tensor attribute without a tensor")
	}
	return nil
}

func (p *parser) tensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	var raw []byte
	hasRaw := false
	err := each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			t.Dims, err = p.int64s(t.Dims, fd, p.lim.Dims, "tensor dims")
		case 2:
			if err = fd.want(protowire.VarintType, "data_type"); err == nil {
				if fd.u > math.MaxInt32 {
					return fmt.Errorf("data type %d", fd.u)
				}
				t.DataType = DataType(fd.u)
			}
		case 3:
			return errors.New("segmented tensors are not supported")
		case 4:
			t.Floats, err = p.float32s(t.Floats, fd, p.lim.TensorElems, "float_data")
		case 7:
			t.Int64s, err = p.int64s(t.Int64s, fd, p.lim.TensorElems, "int64_data")
		case 8:
			t.Name, err = p.str(fd, "tensor name")
		case 9:
			if err = fd.want(protowire.BytesType, "raw_data"); err == nil {
				raw, hasRaw = fd.bytes, true
			}
		case 5, 6, 10, 11:
			return fmt.Errorf("tensor data in field %d is not supported (FLOAT and INT64 only)", fd.num)
		case 13:
			return errors.New("external tensor data is not supported")
		case 14:
			if err = fd.want(protowire.VarintType, "data_location"); err == nil && fd.u != 0 {
				return errors.New("external tensor data is not supported")
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := p.tensorData(t, raw, hasRaw); err != nil {
		if t.Name != "" {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		return nil, err
	}
	return t, nil
}

// tensorData checks the dims against the limits, decodes raw data and
// checks that the element count matches the dims.
func (p *parser) tensorData(t *Tensor, raw []byte, hasRaw bool) error {
	n := 1
	for _, d := range t.Dims {
		if d < 0 {
			return fmt.Errorf("negative dimension in %v", t.Dims)
		}
		// Checked before multiplying, so n never overflows.
		if d > 0 && n > p.lim.TensorElems/int(min(d, int64(p.lim.TensorElems)+1)) {
			return fmt.Errorf("dims %v exceed %d elements", t.Dims, p.lim.TensorElems)
		}
		n *= int(d)
	}
	if n > p.lim.TensorElems {
		return fmt.Errorf("dims %v exceed %d elements", t.Dims, p.lim.TensorElems)
	}
	if p.elems+n > p.lim.TotalElems {
		return fmt.Errorf("tensors exceed %d elements in all", p.lim.TotalElems)
	}
	p.elems += n
	if hasRaw && (len(t.Floats) > 0 || len(t.Int64s) > 0) {
		return errors.New("both raw_data and typed data")
	}
	switch t.DataType {
	case Float:
		if len(t.Int64s) > 0 {
			return errors.New("FLOAT tensor with int64_data")
		}
		if hasRaw {
			if len(raw) != 4*n {
				return fmt.Errorf("raw_data of %d bytes for %d floats", len(raw), n)
			}
			t.Floats = make([]float32, n)
			for i := range t.Floats {
				t.Floats[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		if len(t.Floats) != n {
			return fmt.Errorf("%d floats for dims %v", len(t.Floats), t.Dims)
		}
	case Int64:
		if len(t.Floats) > 0 {
			return errors.New("INT64 tensor with float_data")
		}
		if hasRaw {
			if len(raw) != 8*n {
				return fmt.Errorf("raw_data of %d bytes for %d int64s", len(raw), n)
			}
			t.Int64s = make([]int64, n)
			for i := range t.Int64s {
				t.Int64s[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		if len(t.Int64s) != n {
			return fmt.Errorf("%d int64s for dims %v", len(t.Int64s), t.Dims)
		}
	default:
		if hasRaw || len(t.Floats) > 0 || len(t.Int64s) > 0 {
			return fmt.Errorf("tensor of %v: only FLOAT and INT64 data are supported", t.DataType)
		}
		if n != 0 {
			return fmt.Errorf("tensor of %v without data", t.DataType)
		}
	}
	return nil
}

func (p *parser) valueInfo(v *ValueInfo, b []byte) error {
	return each(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			v.Name, err = p.str(fd, "value name")
		case 2:
			if err = fd.want(protowire.BytesType, "value type"); err == nil {
				err = p.typeProto(v, fd.bytes)
			}
		}
		return err
	})
}

// typeProto reads a TypeProto, keeping a tensor type's element type and
// shape; other kinds (sequences, maps) leave v's type unset.
func (p *parser) typeProto(v *ValueInfo, b []byte) error {
	return each(b, func(fd field) error {
		if fd.num != 1 {
			return nil
		}
		if err := fd.want(protowire.BytesType, "tensor_type"); err != nil {
			return err
		}
		return each(fd.bytes, func(fd field) error {
			switch fd.num {
			case 1:
				if err := fd.want(protowire.VarintType, "elem_type"); err != nil {
					return err
				}
				if fd.u > math.MaxInt32 {
					return fmt.Errorf("elem type %d", fd.u)
				}
				v.ElemType = DataType(fd.u)
			case 2:
				if err := fd.want(protowire.BytesType, "shape"); err != nil {
					return err
				}
				v.Shape = []Dim{}
				return each(fd.bytes, func(fd field) error {
					if fd.num != 1 {
						return nil
					}
					if len(v.Shape) >= p.lim.Dims {
						return fmt.Errorf("shape of more than %d dims", p.lim.Dims)
					}
					if err := fd.want(protowire.BytesType, "dim"); err != nil {
						return err
					}
					var d Dim
					err := each(fd.bytes, func(fd field) error {
						var err error
						switch fd.num {
						case 1:
							if err = fd.want(protowire.VarintType, "dim_value"); err == nil {
								d.Value = int64(fd.u)
							}
						case 2:
							d.Param, err = p.str(fd, "dim_param")
						}
						return err
					})
					v.Shape = append(v.Shape, d)
					return err
				})
			}
			return nil
		})
	})
}
