// Package model holds the pretrained face-api networks: fetching and
// verifying their weight files, reading the TensorFlow.js weights format, and
// the networks built from those weights.
package model

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/facerec/facerec/model/tfjsgraph"
	"github.com/facerec/facerec/tensor"
)

// Weights maps tensor names to values, in a model's weight file.
type Weights map[string]*tensor.Tensor

// Get returns the named tensor, checking that its shape is exactly shape
// (with no sizes given, it checks only that the tensor exists). It is a helper
// for network constructors: the error names the tensor when it is absent or
// mis-shaped.
func (w Weights) Get(name string, shape ...int) (*tensor.Tensor, error) {
	t := w[name]
	if t == nil {
		return nil, fmt.Errorf("model: weight %q is missing from the weight file", name)
	}
	if len(shape) > 0 && !tensor.SameShape(t.Shape, shape) {
		return nil, fmt.Errorf("model: weight %q has shape %v, want %v", name, t.Shape, shape)
	}
	return t, nil
}

// The tfjs weights manifest (tfjs io.WeightsManifestConfig): groups of
// weights, each stored in one or more .bin shards.
type weightGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"`
	Quantization *quantization `json:"quantization"`
}

// quantization is tfjs's per-tensor affine quantisation: value = q*scale + min.
// min and scale are pointers to tell a missing field from zero.
type quantization struct {
	DType string   `json:"dtype"`
	Min   *float64 `json:"min"`
	Scale *float64 `json:"scale"`
}

// maxManifestBytes bounds how much of a manifest LoadWeights reads; the real
// ones are under 30 KB.
const maxManifestBytes = 16 << 20

// LoadWeights reads <dir>/<name>-weights_manifest.json and its .bin file(s).
// name is e.g. "face_recognition_model".
func LoadWeights(dir, name string) (Weights, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return nil, fmt.Errorf("model: bad weight file name %q", name)
	}
	manifestPath := filepath.Join(dir, name+"-weights_manifest.json")
	manifest, err := readBounded(manifestPath, maxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("model: loading %s: %w", name, err)
	}
	groups, specs, err := parseManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", manifestPath, err)
	}
	total := specs.bytes()

	// Check the shards' sizes before reading them, so that a wrong manifest
	// or shard costs no large allocation.
	type shard struct {
		path string
		size int64
	}
	var shards []shard
	var have int64
shardLoop:
	for _, g := range groups {
		for _, p := range g.Paths {
			local := filepath.FromSlash(p)
			if !filepath.IsLocal(local) {
				return nil, fmt.Errorf("model: %s: weight file path %q leaves %s", manifestPath, p, dir)
			}
			full := filepath.Join(dir, local)
			fi, err := os.Stat(full)
			if err != nil {
				return nil, fmt.Errorf("model: loading %s: %w", name, err)
			}
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("model: loading %s: %s is not a regular file", name, full)
			}
			have += fi.Size()
			if have > total {
				break shardLoop
			}
			shards = append(shards, shard{full, fi.Size()})
		}
	}
	if have != total {
		return nil, fmt.Errorf("model: %s: the .bin files hold %s bytes, the manifest describes %d",
			name, atLeast(have, total), total)
	}
	bin := make([]byte, total)
	var off int64
	for _, sh := range shards {
		if err := readExactly(sh.path, bin[off:off+sh.size]); err != nil {
			return nil, fmt.Errorf("model: loading %s: %w", name, err)
		}
		off += sh.size
	}
	w, err := specs.decode(bin)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", name, err)
	}
	return w, nil
}

// atLeast formats a byte count that may have been cut short at limit.
func atLeast(n, limit int64) string {
	if n > limit {
		return fmt.Sprintf("more than %d", limit)
	}
	return fmt.Sprint(n)
}

// readExactly fills buf with the file at p, which must hold exactly
// len(buf) bytes (it may have changed since it was measured).
func readExactly(p string, buf []byte) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.ReadFull(f, buf); err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return fmt.Errorf("reading %s: file grew while loading", p)
	}
	return nil
}

// readBounded reads a whole file, failing when it holds more than limit bytes.
func readBounded(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return b, nil
}

// ParseWeights decodes a manifest and the concatenated .bin bytes (all
// shards of all groups, in manifest order).
func ParseWeights(manifest []byte, bin []byte) (Weights, error) {
	_, specs, err := parseManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("model: weights manifest: %w", err)
	}
	if total := specs.bytes(); int64(len(bin)) != total {
		return nil, fmt.Errorf("model: weights: %d bytes of .bin data, the manifest describes %d", len(bin), total)
	}
	w, err := specs.decode(bin)
	if err != nil {
		return nil, fmt.Errorf("model: weights: %w", err)
	}
	return w, nil
}

// layout is a checked weight entry: where its values lie in the .bin data.
type layout struct {
	spec  weightSpec
	numel int64
	size  int64 // bytes in the .bin data
}

type layouts []layout

func (ls layouts) bytes() int64 {
	var n int64
	for _, l := range ls {
		n += l.size
	}
	return n
}

// maxWeightBytes bounds the .bin data a manifest may describe (the largest
// face-api model needs 6.4 MB); it keeps every size computation far from
// overflowing.
const maxWeightBytes = 1 << 40

// parseManifest decodes and checks a manifest: known dtypes and
// quantisations, non-negative shapes, unique names, sizes that fit.
func parseManifest(manifest []byte) ([]weightGroup, layouts, error) {
	var groups []weightGroup
	if err := json.Unmarshal(manifest, &groups); err != nil {
		return nil, nil, fmt.Errorf("bad JSON: %w", err)
	}
	var ls layouts
	seen := make(map[string]bool)
	var total int64
	for _, g := range groups {
		for _, s := range g.Weights {
			l, err := checkSpec(s)
			if err != nil {
				return nil, nil, err
			}
			if seen[s.Name] {
				return nil, nil, fmt.Errorf("weight %q listed twice", s.Name)
			}
			seen[s.Name] = true
			if total += l.size; total > maxWeightBytes {
				return nil, nil, fmt.Errorf("weights need more than %d bytes", int64(maxWeightBytes))
			}
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return nil, nil, errors.New("no weights listed")
	}
	return groups, ls, nil
}

func checkSpec(s weightSpec) (layout, error) {
	if s.Name == "" {
		return layout{}, errors.New("weight without a name")
	}
	if s.Shape == nil {
		return layout{}, fmt.Errorf("weight %q has no shape", s.Name)
	}
	if s.DType != "float32" && s.DType != "int32" {
		return layout{}, fmt.Errorf("weight %q has unsupported dtype %q", s.Name, s.DType)
	}
	numel := int64(1)
	for _, d := range s.Shape {
		if d < 0 {
			return layout{}, fmt.Errorf("weight %q has negative size in shape %v", s.Name, s.Shape)
		}
		if d != 0 && numel > maxWeightBytes/int64(d) {
			return layout{}, fmt.Errorf("weight %q has too large a shape %v", s.Name, s.Shape)
		}
		numel *= int64(d)
	}
	elem := int64(4)
	if q := s.Quantization; q != nil {
		if q.DType != "uint8" {
			return layout{}, fmt.Errorf("weight %q has unsupported quantization dtype %q", s.Name, q.DType)
		}
		if q.Min == nil || q.Scale == nil {
			return layout{}, fmt.Errorf("weight %q: uint8 quantization without min and scale", s.Name)
		}
		elem = 1
	}
	// numel <= maxWeightBytes, so this cannot overflow.
	return layout{spec: s, numel: numel, size: numel * elem}, nil
}

// decode turns the .bin data, whose length was checked, into tensors.
func (ls layouts) decode(bin []byte) (Weights, error) {
	if int64(len(bin)) != ls.bytes() {
		return nil, fmt.Errorf("%d bytes of .bin data, want %d", len(bin), ls.bytes())
	}
	w := make(Weights, len(ls))
	var off int64
	for _, l := range ls {
		raw := bin[off : off+l.size]
		off += l.size
		data := make([]float32, l.numel)
		if q := l.spec.Quantization; q != nil {
			lut := dequantTable(l.spec.DType, *q.Scale, *q.Min)
			for i, b := range raw {
				data[i] = lut[b]
			}
		} else if l.spec.DType == "float32" {
			for i := range data {
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else { // int32
			for i := range data {
				data[i] = float32(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			}
		}
		w[l.spec.Name] = &tensor.Tensor{Shape: append([]int{}, l.spec.Shape...), Data: data}
	}
	return w, nil
}

// dequantTable returns the value of each of the 256 quantised levels, as
// tfjs io.decodeWeights computes them (tfjsgraph.Dequantize), or for int32
// tensors Math.round'ed and stored in an Int32Array.
func dequantTable(dtype string, scale, min float64) *[256]float32 {
	var lut [256]float32
	for q := range lut {
		if dtype == "int32" {
			lut[q] = float32(jsToInt32(jsRound(float64(float64(q)*scale) + min)))
		} else {
			lut[q] = tfjsgraph.Dequantize(uint32(q), scale, min)
		}
	}
	return &lut
}

// jsRound is JavaScript's Math.round: nearest integer, ties towards +Inf
// (math.Round sends -0.5 to -1; JavaScript gives -0).
func jsRound(v float64) float64 {
	f := math.Floor(v)
	if v-f >= 0.5 {
		f++
	}
	return f
}

// jsToInt32 is JavaScript's ToInt32, what storing into an Int32Array does:
// NaN and infinities become 0, others are truncated and wrapped modulo 2^32.
func jsToInt32(v float64) int32 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	m := math.Mod(math.Trunc(v), 1<<32)
	if m < 0 {
		m += 1 << 32
	}
	return int32(uint32(m))
}
