package checkpoint

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/nlpodyssey/safetensors"

	"github.com/facerec/facerec/tensor"
)

// maxTensorFile bounds the size of a weights file ReadTensorsFile reads
// into memory: VGG-19 in float32 is 548 MB; twice that is room enough.
const maxTensorFile = 1 << 30

// ReadTensors decodes any safetensors file (weights exported by PyTorch or
// another tool, not only facerec checkpoints) into float32 tensors by name.
// F32, F16 and BF16 tensors are accepted and converted; other dtypes are an
// error naming the tensor.
func ReadTensors(data []byte) (map[string]*tensor.Tensor, error) {
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: not a safetensors file: %w", err)
	}
	out := make(map[string]*tensor.Tensor, st.Len())
	for _, nt := range st.Tensors() {
		tv := nt.TensorView
		shape := make([]int, len(tv.Shape()))
		n := uint64(1)
		for i, d := range tv.Shape() {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("checkpoint: tensor %q has shape %v", nt.Name, tv.Shape())
			}
			shape[i] = int(d)
			n *= d
		}
		raw := tv.Data()
		if uint64(len(raw)) != n*tv.DType().Size() {
			return nil, fmt.Errorf("checkpoint: tensor %q has shape %v and %d bytes", nt.Name, shape, len(raw))
		}
		var v []float32
		switch tv.DType() {
		case safetensors.F32:
			v = bytesFloat32(raw)
		case safetensors.F16:
			v = make([]float32, n)
			for i := range v {
				v[i] = tensor.HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case safetensors.BF16:
			v = make([]float32, n)
			for i := range v {
				v[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
			}
		default:
			return nil, fmt.Errorf("checkpoint: tensor %q has dtype %v, want F32, F16 or BF16", nt.Name, tv.DType())
		}
		out[nt.Name] = tensor.From(v, shape...)
	}
	return out, nil
}

// ReadTensorsFile is ReadTensors on the file at path, refusing files over
// 1 GiB before reading them.
func ReadTensorsFile(path string) (map[string]*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if fi.Size() > maxTensorFile {
		return nil, fmt.Errorf("checkpoint: %s is %d bytes, more than the %d a weights file may have", path, fi.Size(), maxTensorFile)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: reading %s: %w", path, err)
	}
	ts, err := ReadTensors(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return ts, nil
}

// WriteTensors encodes float32 tensors by name as a plain safetensors file
// (no facerec metadata): test fixtures and exported weights.
func WriteTensors(w io.Writer, ts map[string]*tensor.Tensor) error {
	views := make(map[string]safetensors.TensorView, len(ts))
	for name, t := range ts {
		if t == nil || tensor.Numel(t.Shape) != t.Len() {
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
		views[name] = v
	}
	if err := safetensors.SerializeToWriter(views, nil, w); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	return nil
}
