package visualize

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// TestDistanceGrad: ∂d/∂a of both metrics against central differences.
func TestDistanceGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := make([]float32, 6), make([]float32, 6)
	for i := range a {
		a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	for _, m := range []face.Metric{face.Euclidean, face.Cosine} {
		d, g, err := distanceGrad(m, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if want := m.Distance(a, b); math.Abs(d-want) > 1e-6 {
			t.Errorf("%s: d %.7f, want %.7f", m, d, want)
		}
		for i := range a {
			const eps = 1e-3
			p, q := append([]float32(nil), a...), append([]float32(nil), a...)
			p[i] += eps
			q[i] -= eps
			fd := (m.Distance(p, b) - m.Distance(q, b)) / (2 * eps)
			if math.Abs(fd-float64(g[i])) > 1e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s: ∂d/∂a[%d] %.5f, central difference %.5f", m, i, g[i], fd)
			}
		}
	}
	if _, _, err := distanceGrad(face.Euclidean, a, a); err == nil {
		t.Error("a zero Euclidean distance has no gradient, and no error came")
	}
}

// TestRecordChipGradient: the gradient Explain reads, ∂d(A, B)/∂chip through
// each differentiable descriptor's recorded graph, against the central
// difference of d computed by Describe (the inference path) along that
// gradient: (d(x + εĝ) − d(x − εĝ)) / 2ε = |∇d|.
func TestRecordChipGradient(t *testing.T) {
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	for _, desc := range []string{face.DescriptorDlib, face.DescriptorMobileFaceNet} {
		t.Run(desc, func(t *testing.T) {
			if desc == face.DescriptorMobileFaceNet {
				sharedtest.Need(t, "the MobileFaceNet model", registry.Verify(dir, registry.FRFeature))
			}
			p, err := face.Load(context.Background(), dir, face.Options{Descriptor: desc}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := p.Model().(face.Differentiable)
			side := map[string]int{face.DescriptorDlib: 150, face.DescriptorMobileFaceNet: 112}[desc]
			rng := rand.New(rand.NewPCG(1, 2))
			chip := func() *tensor.Tensor {
				c := tensor.New(side, side, 3)
				for i := range c.Data {
					c.Data[i] = float32(64 + 128*rng.Float64())
				}
				return c
			}
			ca, cb := chip(), chip()
			ds, err := m.Describe(context.Background(), []*tensor.Tensor{cb})
			if err != nil {
				t.Fatal(err)
			}
			b := ds[0].Vector
			g := nn.NewGraph(nil)
			in, out, err := m.RecordChip(g, ca)
			if err != nil {
				t.Fatal(err)
			}
			_, seed, err := distanceGrad(m.Metric(), out.Value.Data, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.BackwardFrom(out, &tensor.Tensor{Shape: out.Value.Shape, Data: seed}); err != nil {
				t.Fatal(err)
			}
			// The input's gradient is per normalised value; the chip's pixel
			// differs from it by the model's constant scale, which cancels
			// along the unit direction: measure in the normalised units by
			// moving the chip's pixels by ε·ĝ·scale.
			scale := map[string]float64{face.DescriptorDlib: 255, face.DescriptorMobileFaceNet: 128}[desc]
			norm := 0.0
			for _, v := range in.Grad.Data {
				norm += float64(v) * float64(v)
			}
			norm = math.Sqrt(norm)
			dist := func(sign float64) float64 {
				const eps = 0.005
				c := tensor.New(side, side, 3)
				for i, v := range ca.Data {
					c.Data[i] = v + float32(sign*eps*scale*float64(in.Grad.Data[i])/norm)
				}
				ds, err := m.Describe(context.Background(), []*tensor.Tensor{c})
				if err != nil {
					t.Fatal(err)
				}
				return m.Metric().Distance(ds[0].Vector, b) / eps
			}
			fd := (dist(1) - dist(-1)) / 2
			t.Logf("|∇d| %.5f, central difference along it %.5f", norm, fd)
			if math.Abs(fd-norm) > 0.05*norm {
				t.Errorf("|∇d| %.5f, central difference along ∇d %.5f", norm, fd)
			}
			if _, _, err := m.RecordChip(nn.NewGraph(nil), tensor.New(side+1, side+1, 3)); err == nil {
				t.Error("a chip of the wrong size was taken")
			}
		})
	}
}
