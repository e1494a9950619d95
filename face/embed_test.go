package face

import (
	"context"
	"sync"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor"
)

var (
	embOnce sync.Once
	emb     *Embedder
	embErr  error
)

// testEmbedder loads the pretrained descriptor once per test binary; it
// skips when the models were never pulled (fails under FACEREC_REQUIRE_SHARED=1).
func testEmbedder(t testing.TB) *Embedder {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	embOnce.Do(func() { emb, embErr = LoadEmbedder(context.Background(), dir, nil) })
	if embErr != nil {
		t.Fatal(embErr)
	}
	return emb
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

// TestEmbedCropsMatchesSerial checks that the parallel batch path returns
// exactly what one-at-a-time calls return, under concurrent use (run with
// -race).
func TestEmbedCropsMatchesSerial(t *testing.T) {
	e := testEmbedder(t)
	n := 12
	if testing.Short() {
		n = 4
	}
	crops := make([]*tensor.Tensor, n)
	want := make([]Descriptor, n)
	for i := range crops {
		crops[i] = pattern(150+i%3*10, 150-i%2*20, i*17)
		d, err := e.EmbedCrop(crops[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d
	}
	got, errs := e.EmbedCrops(crops)
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != want[i] {
			t.Fatalf("crop %d: batch descriptor differs from the serial one", i)
		}
	}
	if Distance(want[0], want[1]) == 0 {
		t.Fatal("different crops gave identical descriptors")
	}
}

func TestEmbedCropRejectsBadShapes(t *testing.T) {
	e := testEmbedder(t)
	for _, shape := range [][]int{{10, 10}, {10, 10, 4}, {0, 10, 3}, {2, 10, 10, 3}} {
		if _, err := e.EmbedCrop(tensor.New(shape...)); err == nil {
			t.Errorf("shape %v: no error", shape)
		}
	}
	_, errs := e.EmbedCrops([]*tensor.Tensor{pattern(150, 150, 0), tensor.New(5, 5)})
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("errs = %v", errs)
	}
}

func TestDistance(t *testing.T) {
	var a, b Descriptor
	a[0], b[0] = 3, 0
	a[1], b[1] = 0, 4
	if d := Distance(a, b); d != 5 {
		t.Fatalf("distance = %v, want 5", d)
	}
}

// BenchmarkEmbedCrop times one descriptor on one goroutine (a 150×150
// crop: no resize), and reports allocations per face.
func BenchmarkEmbedCrop(b *testing.B) {
	e := testEmbedder(b)
	crop := pattern(150, 150, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.EmbedCrop(crop); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
}

// BenchmarkEmbedCrops measures throughput with every core busy.
func BenchmarkEmbedCrops(b *testing.B) {
	e := testEmbedder(b)
	crops := make([]*tensor.Tensor, 32)
	for i := range crops {
		crops[i] = pattern(150, 150, i)
	}
	for b.Loop() {
		e.EmbedCrops(crops)
	}
	b.ReportMetric(float64(len(crops)*b.N)/b.Elapsed().Seconds(), "faces/s")
}
