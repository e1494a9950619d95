package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/tensor"
)

const arch = `{"net":"tiny","width":4,"embed":3}`

// model is a conv, a batch norm and a dense layer with random values.
type model struct {
	conv *nn.Conv2D
	bn   *nn.BatchNorm
	fc   *nn.Dense
}

func newModel(t *testing.T, seed uint64) *model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	rnd := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
	conv, err := nn.NewConv2D(rnd(3, 3, 2, 4), 1, nn.Same)
	if err != nil {
		t.Fatal(err)
	}
	bn, err := nn.NewBatchNorm(4)
	if err != nil {
		t.Fatal(err)
	}
	copy(bn.RunningMean.Value.Data, rnd(4).Data)
	fc, err := nn.NewDense(rnd(4, 3), rnd(3).Data)
	if err != nil {
		t.Fatal(err)
	}
	return &model{conv, bn, fc}
}

func (m *model) params() []*nn.Param {
	ps := m.conv.Params("conv.")
	ps = append(ps, m.bn.Params("bn.")...)
	return append(ps, m.fc.Params("fc.")...)
}

// trained returns a model and an Adam optimizer after two steps on random
// gradients, so that the optimizer has state.
func trained(t *testing.T) (*model, *optim.Adam) {
	m := newModel(t, 1)
	opt := optim.NewAdam(optim.Constant(0.01))
	rng := rand.New(rand.NewPCG(2, 3))
	for range 2 {
		for _, p := range m.params() {
			if p.Grad != nil {
				for i := range p.Grad.Data {
					p.Grad.Data[i] = float32(rng.NormFloat64())
				}
			}
		}
		if err := opt.Step(m.params()); err != nil {
			t.Fatal(err)
		}
	}
	return m, opt
}

func TestRoundTrip(t *testing.T) {
	m, opt := trained(t)
	c, err := Capture(arch, m.params(), opt)
	if err != nil {
		t.Fatal(err)
	}
	c.Meta = map[string]string{"note": "round trip"}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Arch != arch || got.Step != 2 || got.Meta["note"] != "round trip" {
		t.Fatalf("metadata: arch %q step %d meta %v", got.Arch, got.Step, got.Meta)
	}

	fresh := newModel(t, 99)
	freshOpt := optim.NewAdam(optim.Constant(0.01))
	if err := got.Restore(fresh.params(), freshOpt); err != nil {
		t.Fatal(err)
	}
	want := m.params()
	for i, p := range fresh.params() {
		if d := tensor.MaxAbsDiff(p.Value.Data, want[i].Value.Data); d != 0 {
			t.Errorf("parameter %s differs by %g after the round trip", p.Name, d)
		}
	}
	// The restored conv must have re-packed its weights.
	x := tensor.New(1, 4, 4, 2)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	if d := tensor.MaxAbsDiff(fresh.conv.Forward(nil, x).Data, m.conv.Forward(nil, x).Data); d != 0 {
		t.Errorf("restored conv's output differs by %g", d)
	}
	// Training resumes identically: one more step on the same gradients.
	for _, pair := range [][2][]*nn.Param{{m.params(), fresh.params()}} {
		for i, p := range pair[0] {
			if p.Grad != nil {
				for j := range p.Grad.Data {
					p.Grad.Data[j] = 0.5
					pair[1][i].Grad.Data[j] = 0.5
				}
			}
		}
	}
	if err := opt.Step(m.params()); err != nil {
		t.Fatal(err)
	}
	if err := freshOpt.Step(fresh.params()); err != nil {
		t.Fatal(err)
	}
	for i, p := range fresh.params() {
		if d := tensor.MaxAbsDiff(p.Value.Data, want[i].Value.Data); d != 0 {
			t.Errorf("after resuming, parameter %s differs by %g", p.Name, d)
		}
	}
}

// TestFileFormat decodes a written file by the format's rules alone, not
// with the library: header length, space padding to 8 bytes, dtype, shape,
// contiguous data_offsets covering the data, little-endian values.
func TestFileFormat(t *testing.T) {
	m, opt := trained(t)
	c, err := Capture(arch, m.params(), opt)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	n := binary.LittleEndian.Uint64(file[:8])
	if n%8 != 0 || 8+n > uint64(len(file)) {
		t.Fatalf("header length %d (file %d bytes): not a multiple of 8 inside the file", n, len(file))
	}
	header := file[8 : 8+n]
	trimmed := bytes.TrimRight(header, " ")
	if len(header)-len(trimmed) >= 8 || bytes.ContainsAny(header[len(trimmed):], "\t\r\n\x00") {
		t.Fatalf("header padding %q is not 0-7 spaces", header[len(trimmed):])
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(header, &entries); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(entries["__metadata__"], &meta); err != nil {
		t.Fatalf("__metadata__ is not a map of strings: %v", err)
	}
	if meta["arch"] != arch || meta["step"] != "2" || meta["format"] != Format {
		t.Fatalf("metadata %v", meta)
	}
	data := file[8+n:]
	type info struct {
		DType       string   `json:"dtype"`
		Shape       []int    `json:"shape"`
		DataOffsets []uint64 `json:"data_offsets"`
	}
	var spans [][2]uint64
	want := map[string]*tensor.Tensor{}
	for k, v := range c.Params {
		want["param/"+k] = v
	}
	for k, v := range c.Optim {
		want["optim/"+k] = v
	}
	for name, raw := range entries {
		if name == "__metadata__" {
			continue
		}
		var ti info
		if err := json.Unmarshal(raw, &ti); err != nil {
			t.Fatal(err)
		}
		w, ok := want[name]
		if !ok {
			t.Fatalf("unexpected tensor %q", name)
		}
		delete(want, name)
		if ti.DType != "F32" || !tensor.SameShape(ti.Shape, w.Shape) || len(ti.DataOffsets) != 2 {
			t.Fatalf("%s: dtype %s shape %v offsets %v", name, ti.DType, ti.Shape, ti.DataOffsets)
		}
		b, e := ti.DataOffsets[0], ti.DataOffsets[1]
		if e-b != uint64(4*w.Len()) || e > uint64(len(data)) {
			t.Fatalf("%s: offsets [%d, %d) for %d floats in %d bytes", name, b, e, w.Len(), len(data))
		}
		spans = append(spans, [2]uint64{b, e})
		for i, v := range w.Data {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(data[b+uint64(4*i):])); got != v {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got, v)
			}
		}
	}
	if len(want) != 0 {
		t.Fatalf("tensors missing from the file: %v", want)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	end := uint64(0)
	for _, s := range spans {
		if s[0] != end {
			t.Fatalf("data_offsets leave a gap or overlap at %d", end)
		}
		end = s[1]
	}
	if end != uint64(len(data)) {
		t.Fatalf("tensors cover %d of %d data bytes", end, len(data))
	}
}

// handWritten builds a safetensors file byte by byte, with a header padded
// by spaces, as another implementation might write it.
func handWritten(header string, values []float32) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, uint64(len(header)))
	b = append(b, header...)
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestReadHandWritten(t *testing.T) {
	file := handWritten(`{"__metadata__":{"format":"`+Format+`","arch":"{}","step":"7"},`+
		`"param/b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},`+
		`"param/w":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]}}`, []float32{1, 2, 3, 4, 5})
	c, err := Read(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Step != 7 || c.Arch != "{}" {
		t.Fatalf("step %d arch %q", c.Step, c.Arch)
	}
	if w := c.Params["w"]; w == nil || !tensor.SameShape(w.Shape, []int{1, 3}) || tensor.MaxAbsDiff(w.Data, []float32{1, 2, 3}) != 0 {
		t.Fatalf("w = %v", w)
	}
	if b := c.Params["b"]; b == nil || tensor.MaxAbsDiff(b.Data, []float32{4, 5}) != 0 {
		t.Fatalf("b = %v", b)
	}
}

func TestReadBad(t *testing.T) {
	good := handWritten(`{"__metadata__":{"format":"`+Format+`","step":"0"},"param/w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, []float32{1, 2})
	if _, err := Read(good); err != nil {
		t.Fatalf("the baseline file: %v", err)
	}
	bad := map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)-1],
		"header too long": append(binary.LittleEndian.AppendUint64(nil, 1<<40), good[8:]...),
		"not json":        handWritten(`{"param/w":`, nil),
		"f16": handWritten(`{"__metadata__":{"format":"`+Format+`","step":"0"},"param/w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`,
			[]float32{1}),
		"offsets": handWritten(`{"__metadata__":{"format":"`+Format+`","step":"0"},"param/w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`,
			[]float32{1, 2}),
		"no format": handWritten(`{"param/w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, []float32{1, 2}),
		"bad step":  handWritten(`{"__metadata__":{"format":"`+Format+`","step":"x"}}`, nil),
		"stranger": handWritten(`{"__metadata__":{"format":"`+Format+`","step":"0"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
			[]float32{1, 2}),
	}
	for name, file := range bad {
		if _, err := Read(file); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("loading a missing file succeeded")
	}
}

func TestRestoreErrors(t *testing.T) {
	m, opt := trained(t)
	c, err := Capture(arch, m.params(), opt)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := nn.NewDense(tensor.New(5, 3), nil)
	if err := c.Restore(other.Params("fc."), nil); err == nil {
		t.Error("restoring into a parameter of another shape succeeded")
	}
	if err := c.Restore(other.Params("nope."), nil); err == nil {
		t.Error("restoring a parameter missing from the checkpoint succeeded")
	}
	if err := c.Restore(m.params(), optim.NewSGD(optim.Constant(1), 0.9)); err == nil {
		t.Error("restoring Adam's state into SGD succeeded")
	}
	if err := Write(&bytes.Buffer{}, &Checkpoint{Arch: "{not json"}); err == nil {
		t.Error("writing an invalid architecture succeeded")
	}
	if _, err := Capture(arch, append(m.params(), m.params()[0]), nil); err == nil {
		t.Error("capturing two parameters with one name succeeded")
	}
}
