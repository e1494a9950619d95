package face

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

// frFeatureDir is the model directory when it holds fr_feature.onnx, or
// skips: the file is not in the default model set (registry.FRFeature),
// so a machine that pulled only the defaults lacks it and a skip, not
// sharedtest.Need, is right here (make models pulls it, so CI has it).
func frFeatureDir(t *testing.T) string {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.FRFeature)
	}
	if err != nil {
		t.Skipf("needs %s in the model directory (facerec models pull fr_feature): %v", registry.FRFeature.NPM(), err)
	}
	return dir
}

// testMobileFaceNet loads the model, or skips (see frFeatureDir).
func testMobileFaceNet(t *testing.T) DescriptorModel {
	t.Helper()
	m, err := LoadPretrained(context.Background(), frFeatureDir(t), DescriptorMobileFaceNet, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMobileFaceNetChipChecks(t *testing.T) {
	var arena tensor.Arena
	for _, bad := range []*tensor.Tensor{
		nil,
		{Shape: []int{112, 112}, Data: make([]float32, 112*112)},
		{Shape: []int{112, 112, 3}, Data: make([]float32, 10)}, // data shorter than the shape
		{Shape: []int{2, 112, 112, 3}, Data: make([]float32, 2*112*112*3)},
		{Shape: []int{0, 112, 3}},
	} {
		if _, err := mobileFaceNetInput(&arena, bad); err == nil {
			t.Errorf("chip %v: no error", bad)
		}
	}
	x, err := mobileFaceNetInput(&arena, tensor.New(150, 150, 3))
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(x.Shape, []int{1, 112, 112, 3}) || x.Data[0] != -127.0/128 {
		t.Errorf("a 150×150 chip gives %v starting %g", x.Shape, x.Data[0])
	}
}

func TestMobileFaceNet(t *testing.T) {
	m := testMobileFaceNet(t)
	if m.ID() != MobileFaceNetID || m.Dim() != 512 || m.Metric() != Cosine || m.Threshold() != MobileFaceNetThreshold {
		t.Errorf("ID %q, Dim %d, Metric %s, Threshold %g", m.ID(), m.Dim(), m.Metric(), m.Threshold())
	}
	chip := tensor.New(112, 112, 3)
	for i := range chip.Data {
		chip.Data[i] = float32((i * 37) % 256)
	}
	shifted := chip.Clone()
	for i := range shifted.Data {
		shifted.Data[i] = float32(math.Min(255, float64(shifted.Data[i])+3))
	}
	big := tensor.New(150, 150, 3) // resized to 112 inside
	ds, err := m.Describe(context.Background(), []*tensor.Tensor{chip, shifted, big})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		if d.Model != m.ID() || len(d.Vector) != 512 {
			t.Fatalf("descriptor %d: model %q, %d values", i, d.Model, len(d.Vector))
		}
	}
	// A slightly brighter copy is nearer than an unrelated (black) chip.
	if near, far := m.Metric().Distance(ds[0].Vector, ds[1].Vector), m.Metric().Distance(ds[0].Vector, ds[2].Vector); near >= far {
		t.Errorf("distance to a brighter copy %g, to a black chip %g", near, far)
	}
	// The descriptor does not depend on the batch it came in.
	one, err := m.Describe(context.Background(), []*tensor.Tensor{chip})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range one[0].Vector {
		if v != ds[0].Vector[i] {
			t.Fatalf("value %d: %g alone, %g in a batch", i, v, ds[0].Vector[i])
		}
	}
	if _, err := m.Describe(context.Background(), []*tensor.Tensor{tensor.New(112, 112)}); err == nil {
		t.Error("a grey chip: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Describe(ctx, []*tensor.Tensor{chip}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
