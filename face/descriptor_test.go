package face

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

var (
	descOnce sync.Once
	desc     DescriptorModel
	descErr  error
)

// testModel loads the pretrained descriptor once per test binary; it
// skips when the models were never pulled (fails under FACEREC_REQUIRE_SHARED=1).
func testModel(t testing.TB) DescriptorModel {
	t.Helper()
	dir := modelDir(t)
	descOnce.Do(func() { desc, descErr = LoadPretrained(context.Background(), dir, DescriptorDlib, nil) })
	if descErr != nil {
		t.Fatal(descErr)
	}
	return desc
}

// modelDir is the model directory, skipping the test without the models.
func modelDir(t testing.TB) string {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	return dir
}

// pattern is a deterministic test image: (7x + 13y + 31c + seed) mod 256.
func pattern(h, w, seed int) *tensor.Tensor {
	t := tensor.New(h, w, 3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				t.Data[(y*w+x)*3+c] = float32((x*7 + y*13 + c*31 + seed) % 256)
			}
		}
	}
	return t
}

func TestPretrainedIdentity(t *testing.T) {
	m := testModel(t)
	if m.ID() != PretrainedID || m.Dim() != 128 || m.Metric() != Euclidean || m.Threshold() != DefaultThreshold {
		t.Fatalf("pretrained model: id %q dim %d metric %s threshold %g", m.ID(), m.Dim(), m.Metric(), m.Threshold())
	}
	ds, err := m.Describe(context.Background(), []*tensor.Tensor{pattern(150, 150, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Model != m.ID() || len(ds[0].Vector) != m.Dim() {
		t.Fatalf("descriptor of model %q with %d values", ds[0].Model, len(ds[0].Vector))
	}
}

// TestDescribeMatchesSerial checks that the parallel batch path returns
// exactly what one-at-a-time calls return, under concurrent use (run with
// -race).
func TestDescribeMatchesSerial(t *testing.T) {
	m := testModel(t)
	n := 12
	if testing.Short() {
		n = 4
	}
	ctx := context.Background()
	crops := make([]*tensor.Tensor, n)
	want := make([]Descriptor, n)
	for i := range crops {
		crops[i] = pattern(150+i%3*10, 150-i%2*20, i*17)
		d, err := m.Describe(ctx, crops[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d[0]
	}
	got, err := m.Describe(ctx, crops)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if tensor.MaxAbsDiff(got[i].Vector, want[i].Vector) != 0 {
			t.Fatalf("crop %d: batch descriptor differs from the serial one", i)
		}
	}
	if Euclidean.Distance(want[0].Vector, want[1].Vector) == 0 {
		t.Fatal("different crops gave identical descriptors")
	}
}

func TestDescribeRejectsBadShapes(t *testing.T) {
	m := testModel(t)
	for _, shape := range [][]int{{10, 10}, {10, 10, 4}, {0, 10, 3}, {2, 10, 10, 3}} {
		if _, err := m.Describe(context.Background(), []*tensor.Tensor{tensor.New(shape...)}); err == nil {
			t.Errorf("shape %v: no error", shape)
		}
	}
	if _, err := m.Describe(context.Background(), []*tensor.Tensor{pattern(150, 150, 0), tensor.New(5, 5)}); err == nil {
		t.Fatal("a bad chip among good ones gave no error")
	}
}

func TestDescribeCancelled(t *testing.T) {
	m := testModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Describe(ctx, []*tensor.Tensor{pattern(150, 150, 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestMetrics(t *testing.T) {
	a, b := []float32{3, 0}, []float32{0, 4}
	if d := Euclidean.Distance(a, b); d != 5 {
		t.Fatalf("euclidean = %v, want 5", d)
	}
	if d := Cosine.Distance(a, b); d != 1 {
		t.Fatalf("cosine of orthogonal vectors = %v, want 1", d)
	}
	if d := Cosine.Distance([]float32{1, 1}, []float32{2, 2}); math.Abs(d) > 1e-12 {
		t.Fatalf("cosine of parallel vectors = %v, want 0", d)
	}
}

func TestThresholdDecider(t *testing.T) {
	dec := Threshold{Model: "m", Metric: Euclidean, Max: 0.6}
	a := Descriptor{Model: "m", Vector: []float32{0, 0}}
	near := Descriptor{Model: "m", Vector: []float32{0.3, 0.4}} // 0.5
	far := Descriptor{Model: "m", Vector: []float32{0.6, 0.8}}  // 1.0
	if d, err := dec.Decide(a, near); err != nil || !d.Same || math.Abs(d.Distance-0.5) > 1e-6 || d.Threshold != 0.6 {
		t.Fatalf("near: %+v, %v", d, err)
	}
	if d, err := dec.Decide(a, far); err != nil || d.Same {
		t.Fatalf("far: %+v, %v", d, err)
	}
	other := Descriptor{Model: "n", Vector: []float32{0, 0}}
	if _, err := dec.Decide(a, other); !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("another model's descriptor: err = %v", err)
	}
	short := Descriptor{Model: "m", Vector: []float32{0}}
	if _, err := dec.Decide(a, short); !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("a shorter descriptor: err = %v", err)
	}
}

func TestHeadDecider(t *testing.T) {
	// P(same) = σ(−10·|Δ0| + 5): same below |Δ0| = 0.5.
	h := Head{Threshold: Threshold{Model: "m", Metric: Euclidean, Max: 0.1}, Head: &LogisticHead{W: []float64{-10, 0}, B: 5}}
	a := Descriptor{Model: "m", Vector: []float32{0, 0}}
	b := Descriptor{Model: "m", Vector: []float32{0.4, 3}}
	d, err := h.Decide(a, b)
	if err != nil || !d.Same || d.Probability == nil || math.Abs(*d.Probability-1/(1+math.Exp(-1))) > 1e-6 {
		t.Fatalf("%+v, %v", d, err)
	}
}

// BenchmarkDescribe times one descriptor on one goroutine (a 150×150
// crop: no resize), and reports allocations per face.
func BenchmarkDescribe(b *testing.B) {
	m := testModel(b)
	crop := []*tensor.Tensor{pattern(150, 150, 0)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Describe(ctx, crop); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
}

// BenchmarkDescribeBatch measures throughput with every core busy.
func BenchmarkDescribeBatch(b *testing.B) {
	m := testModel(b)
	crops := make([]*tensor.Tensor, 32)
	for i := range crops {
		crops[i] = pattern(150, 150, i)
	}
	ctx := context.Background()
	for b.Loop() {
		m.Describe(ctx, crops)
	}
	b.ReportMetric(float64(len(crops)*b.N)/b.Elapsed().Seconds(), "faces/s")
}

// TestTrainedNetReadsItsCrop: a checkpoint that names the crop of its
// training chips gets that crop from Load unless the options choose one;
// one that names none gets dlib's, as before the crop was recorded.
func TestTrainedNetReadsItsCrop(t *testing.T) {
	dir := modelDir(t)
	save := func(align string) string {
		cfg := model.EmbedNetConfig{Kind: model.KindScratch, Input: 16, Channels: 3, Widths: []int{4}, Dim: 8, Align: align}
		net, err := model.NewEmbedNet(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		c, err := checkpoint.Capture(net.Arch(), net.Params(), nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "net.safetensors")
		if err := checkpoint.Save(path, c); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		recorded string
		opt      Alignment
		want     Alignment
	}{
		{"arcface", "", AlignArcFace},
		{"", "", AlignDlib},
		{"arcface", AlignDlib, AlignDlib},
	} {
		p, err := Load(context.Background(), dir, Options{Model: save(tc.recorded), Align: tc.opt}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Options().Align; got != tc.want {
			t.Errorf("checkpoint recording %q, option %q: crop %q, want %q", tc.recorded, tc.opt, got, tc.want)
		}
	}
}
