// Package checkpoint saves and restores training state in the safetensors
// format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header giving each tensor's dtype,
// shape and data_offsets plus a "__metadata__" map of strings, then the
// raw little-endian data. Encoding and decoding are done by
// github.com/nlpodyssey/safetensors, which pads the header with spaces to
// a multiple of 8 bytes so that the data is aligned.
//
// A checkpoint holds the network's parameters (tensors "param/<name>", the
// batch-norm running statistics included), the optimizer's state
// ("optim/<name>.<kind>"), and in the metadata the architecture (a JSON
// string describing the network's configuration, under "arch") and the
// optimizer's step count ("step"), so training can resume where it
// stopped and tools can rebuild the network from the file alone.
package checkpoint

import (
	"bytes"
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

	"github.com/nlpodyssey/safetensors"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/tensor"
)

// Format is the value of the "format" metadata key of files written here.
const Format = "facerec-checkpoint/1"

// The metadata keys and tensor name prefixes used by the format.
const (
	keyFormat   = "format"
	keyArch     = "arch"
	keyStep     = "step"
	paramPrefix = "param/"
	optimPrefix = "optim/"
)

// Checkpoint is the state of a training run.
type Checkpoint struct {
	Arch   string                    // JSON configuration of the network
	Step   int                       // optimizer steps taken
	Params map[string]*tensor.Tensor // by parameter name
	Optim  map[string]*tensor.Tensor // optimizer state, by its keys
	Meta   map[string]string         // any other metadata (free-form)
}

// Capture copies the values of params and, when opt is not nil, its state
// and step count into a new Checkpoint.
func Capture(arch string, params []*nn.Param, opt optim.Optimizer) (*Checkpoint, error) {
	c := &Checkpoint{Arch: arch, Params: make(map[string]*tensor.Tensor), Optim: make(map[string]*tensor.Tensor)}
	for _, p := range params {
		if p == nil || p.Value == nil {
			return nil, errors.New("checkpoint: nil parameter")
		}
		if _, dup := c.Params[p.Name]; dup {
			return nil, fmt.Errorf("checkpoint: two parameters named %q", p.Name)
		}
		c.Params[p.Name] = p.Value.Clone()
	}
	if opt != nil {
		c.Step = opt.Steps()
		for k, t := range opt.State() {
			c.Optim[k] = t.Clone()
		}
	}
	return c, nil
}

// Restore copies the checkpoint's values into params (every one must be in
// the checkpoint with the same shape; Updated is called on each) and, when
// opt is not nil, restores its state and step count.
func (c *Checkpoint) Restore(params []*nn.Param, opt optim.Optimizer) error {
	for _, p := range params {
		if p == nil || p.Value == nil {
			return errors.New("checkpoint: nil parameter")
		}
		t, ok := c.Params[p.Name]
		if !ok {
			return fmt.Errorf("checkpoint: no parameter %q", p.Name)
		}
		if !tensor.SameShape(t.Shape, p.Value.Shape) {
			return fmt.Errorf("checkpoint: parameter %q has shape %v, the network wants %v", p.Name, t.Shape, p.Value.Shape)
		}
	}
	for _, p := range params {
		copy(p.Value.Data, c.Params[p.Name].Data)
		p.Updated()
	}
	if opt != nil {
		if err := opt.SetState(c.Step, c.Optim); err != nil {
			return fmt.Errorf("checkpoint: restore optimizer: %w", err)
		}
	}
	return nil
}

// Write encodes c in the safetensors format to w.
func Write(w io.Writer, c *Checkpoint) error {
	if c.Arch != "" && !json.Valid([]byte(c.Arch)) {
		return errors.New("checkpoint: the architecture is not valid JSON")
	}
	meta := map[string]string{keyFormat: Format, keyArch: c.Arch, keyStep: strconv.Itoa(c.Step)}
	for k, v := range c.Meta {
		if _, reserved := meta[k]; reserved {
			return fmt.Errorf("checkpoint: metadata key %q is reserved", k)
		}
		meta[k] = v
	}
	views := make(map[string]safetensors.TensorView, len(c.Params)+len(c.Optim))
	for _, part := range []struct {
		prefix string
		ts     map[string]*tensor.Tensor
	}{{paramPrefix, c.Params}, {optimPrefix, c.Optim}} {
		for name, t := range part.ts {
			if t == nil || len(t.Shape) == 0 || tensor.Numel(t.Shape) != t.Len() {
				return fmt.Errorf("checkpoint: tensor %q is malformed", name)
			}
			shape := make([]uint64, len(t.Shape))
			for i, d := range t.Shape {
				shape[i] = uint64(d)
			}
			v, err := safetensors.NewTensorView(safetensors.F32, shape, float32Bytes(t.Data))
			if err != nil {
				return fmt.Errorf("checkpoint: tensor %q: %w", name, err)
			}
			views[part.prefix+name] = v
		}
	}
	if err := safetensors.SerializeToWriter(views, meta, w); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	return nil
}

// Read decodes a checkpoint from the bytes of a safetensors file. Only
// float32 tensors named by this package's scheme are accepted.
func Read(data []byte) (*Checkpoint, error) {
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: not a safetensors file: %w", err)
	}
	_, header, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	c := &Checkpoint{Params: make(map[string]*tensor.Tensor), Optim: make(map[string]*tensor.Tensor), Meta: make(map[string]string)}
	meta := header.Metadata()
	if meta[keyFormat] != Format {
		return nil, fmt.Errorf("checkpoint: format %q, want %q", meta[keyFormat], Format)
	}
	c.Arch = meta[keyArch]
	if c.Step, err = strconv.Atoi(meta[keyStep]); err != nil || c.Step < 0 {
		return nil, fmt.Errorf("checkpoint: bad step %q", meta[keyStep])
	}
	for k, v := range meta {
		if k != keyFormat && k != keyArch && k != keyStep {
			c.Meta[k] = v
		}
	}
	for _, nt := range st.Tensors() {
		if nt.TensorView.DType() != safetensors.F32 {
			return nil, fmt.Errorf("checkpoint: tensor %q has dtype %v, want F32", nt.Name, nt.TensorView.DType())
		}
		shape := make([]int, len(nt.TensorView.Shape()))
		n := uint64(1)
		for i, d := range nt.TensorView.Shape() {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("checkpoint: tensor %q has shape %v", nt.Name, nt.TensorView.Shape())
			}
			shape[i] = int(d)
			n *= d
		}
		raw := nt.TensorView.Data()
		if len(shape) == 0 || uint64(len(raw)) != 4*n {
			return nil, fmt.Errorf("checkpoint: tensor %q has shape %v and %d bytes", nt.Name, shape, len(raw))
		}
		t := tensor.From(bytesFloat32(raw), shape...)
		switch {
		case strings.HasPrefix(nt.Name, paramPrefix):
			c.Params[nt.Name[len(paramPrefix):]] = t
		case strings.HasPrefix(nt.Name, optimPrefix):
			c.Optim[nt.Name[len(optimPrefix):]] = t
		default:
			return nil, fmt.Errorf("checkpoint: unexpected tensor %q", nt.Name)
		}
	}
	return c, nil
}

// Save writes c to path atomically: to a temporary file in the same
// directory, renamed over path once complete, so that a crash mid-write
// never leaves a truncated checkpoint behind.
func Save(path string, c *Checkpoint) error {
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("checkpoint: save: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	return nil
}

// Load reads a checkpoint file written by Save.
func Load(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// float32Bytes encodes values as little-endian bytes.
func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// bytesFloat32 decodes little-endian float32 values.
func bytesFloat32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
