package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refSquaredL2 is the plain definition, in float64, that every kernel is
// checked against.
func refSquaredL2(q, r []float32) float64 {
	var s float64
	for j := range q {
		d := float64(q[j]) - float64(r[j])
		s += d * d
	}
	return s
}

func refDot(a, b []float32) float64 {
	var s float64
	for j := range a {
		s += float64(a[j]) * float64(b[j])
	}
	return s
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// close reports whether got is within float32 rounding of want, given the
// magnitude scale of the terms summed.
func closeTo(got float32, want, scale float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*scale+1e-6
}

// dims covers every tail length of both register widths, the face
// descriptor size, and sizes around it.
var dims = []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 255, 513}

// rowCounts covers the four-row blocks and every leftover count.
var rowCounts = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64}

func TestSquaredL2Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range kernels {
		for _, dim := range dims {
			for _, n := range rowCounts {
				q := randVec(rng, dim)
				rows := randVec(rng, n*dim)
				// Sentinels past the last row catch writes beyond out[n-1].
				out := make([]float32, n+2)
				out[n], out[n+1] = -7, -7
				if n > 0 {
					k.squaredL2(q, rows, dim, out[:n])
				}
				for i := 0; i < n; i++ {
					r := rows[i*dim : (i+1)*dim]
					want := refSquaredL2(q, r)
					var scale float64
					for j := range q {
						scale += float64(q[j])*float64(q[j]) + float64(r[j])*float64(r[j])
					}
					if !closeTo(out[i], want, scale) {
						t.Fatalf("%s dim=%d n=%d row %d: got %g, want %g", k.name, dim, n, i, out[i], want)
					}
				}
				if out[n] != -7 || out[n+1] != -7 {
					t.Fatalf("%s dim=%d n=%d: wrote past the last row", k.name, dim, n)
				}
			}
		}
	}
}

// TestSquaredL2PositionIndependent checks that a row's distance does not
// depend on where the row falls in the blocks of four (or on how a caller
// splits the matrix): the search index relies on it to rank ties the same
// way however it splits the work.
func TestSquaredL2PositionIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, k := range kernels {
		for _, dim := range dims {
			const n = 7
			q := randVec(rng, dim)
			rows := randVec(rng, n*dim)
			all := make([]float32, n)
			k.squaredL2(q, rows, dim, all)
			for i := 0; i < n; i++ {
				one := make([]float32, 1)
				k.squaredL2(q, rows[i*dim:(i+1)*dim], dim, one)
				if one[0] != all[i] {
					t.Fatalf("%s dim=%d row %d: alone %x, in a block %x", k.name, dim, i, one[0], all[i])
				}
			}
		}
	}
}

// TestSquaredL2ReadsInBounds puts the matrix at the very end of a larger
// buffer whose tail is poisoned with NaN: a kernel reading one float past a
// row's end (instead of masking) would pick the NaN up.
func TestSquaredL2ReadsInBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range kernels {
		for _, dim := range dims {
			n := 5
			buf := make([]float32, n*dim+32)
			for i := range buf {
				buf[i] = float32(math.NaN())
			}
			rows := buf[:n*dim]
			copy(rows, randVec(rng, n*dim))
			qbuf := append(randVec(rng, dim), float32(math.NaN()))
			q := qbuf[:dim]
			out := make([]float32, n)
			k.squaredL2(q, rows, dim, out)
			for i, d := range out {
				if math.IsNaN(float64(d)) {
					t.Fatalf("%s dim=%d row %d: NaN: read past the end of a vector", k.name, dim, i)
				}
			}
		}
	}
}

func TestDotKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range kernels {
		for _, n := range append(dims, 1000, 1027) {
			a, b := randVec(rng, n), randVec(rng, n)
			want := refDot(a, b)
			var scale float64
			for j := range a {
				scale += math.Abs(float64(a[j]) * float64(b[j]))
			}
			if got := k.dot(a, b); !closeTo(got, want, scale) {
				t.Fatalf("%s n=%d: got %g, want %g", k.name, n, got, want)
			}
		}
	}
}

func TestExported(t *testing.T) {
	q := []float32{1, 2, 3}
	rows := []float32{1, 2, 3, 0, 0, 0, 2, 2, 2}
	out := make([]float32, 3)
	SquaredL2(q, rows, 3, out)
	if out[0] != 0 || out[1] != 14 || out[2] != 2 {
		t.Fatalf("SquaredL2 = %v, want [0 14 2]", out)
	}
	if got := Dot(q, q); got != 14 {
		t.Fatalf("Dot = %g, want 14", got)
	}
	if got := Dot(nil, nil); got != 0 {
		t.Fatalf("Dot(nil, nil) = %g, want 0", got)
	}
	SquaredL2(q, nil, 3, nil) // no rows: nothing to do
}

func TestSquaredL2Panics(t *testing.T) {
	cases := []struct {
		name    string
		q, rows []float32
		dim     int
		out     []float32
	}{
		{"dim zero", nil, nil, 0, nil},
		{"short q", make([]float32, 2), make([]float32, 3), 3, make([]float32, 1)},
		{"ragged rows", make([]float32, 3), make([]float32, 4), 3, make([]float32, 2)},
		{"short out", make([]float32, 3), make([]float32, 6), 3, make([]float32, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			SquaredL2(c.q, c.rows, c.dim, c.out)
		})
	}
}

func TestSelectKernel(t *testing.T) {
	ks := []*kernel{{name: "avx512"}, {name: "avx2"}, genericKernel}
	for _, c := range []struct{ force, want string }{
		{"", "avx512"}, {"avx512", "avx512"}, {"avx2", "avx2"}, {"generic", "generic"}, {"bogus", "avx512"},
	} {
		if got := selectKernel(ks, c.force).name; got != c.want {
			t.Errorf("selectKernel(%q) = %s, want %s", c.force, got, c.want)
		}
	}
	if got := selectKernel([]*kernel{genericKernel}, "avx2").name; got != "generic" {
		t.Errorf("selectKernel without avx2 = %s, want generic", got)
	}
	t.Logf("kernel in use: %s", Kernel())
}

// BenchmarkSquaredL2 times every kernel on 128-d rows (the descriptor size):
// 64 and 1024 rows stay in L1/L2 and measure arithmetic; 262144 rows
// (128 MiB) come from memory and measure how well the kernel streams.
func BenchmarkSquaredL2(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	const dim = 128
	for _, k := range kernels {
		for _, n := range []int{64, 1024, 262144} {
			b.Run(fmt.Sprintf("%s/rows=%d", k.name, n), func(b *testing.B) {
				q := randVec(rng, dim)
				rows := randVec(rng, n*dim)
				out := make([]float32, n)
				b.SetBytes(int64(4 * len(rows)))
				for b.Loop() {
					k.squaredL2(q, rows, dim, out)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range kernels {
		b.Run(k.name, func(b *testing.B) {
			x, y := randVec(rng, 128), randVec(rng, 128)
			b.SetBytes(2 * 4 * 128)
			var s float32
			for b.Loop() {
				s += k.dot(x, y)
			}
			_ = s
		})
	}
}

// TestDotI8Kernels checks every kernel's int8 scan against the float64
// definition, on every dimension (the assembly takes multiples of 8 and
// falls back otherwise), row counts around its loop, and the extreme
// values -128 and 127.
func TestDotI8Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k := range kernels {
		for _, dim := range append(dims, 24, 40, 96, 512) {
			for _, n := range []int{1, 2, 3, 7} {
				q := randVec(rng, dim)
				rows := make([]int8, n*dim)
				for i := range rows {
					rows[i] = int8(rng.IntN(256) - 128)
				}
				rows[0], rows[len(rows)-1] = -128, 127
				out := make([]float32, n+1)
				out[n] = 42 // past the rows: untouched
				k.dotI8(q, rows, dim, out[:n])
				for i := range n {
					var want, scale float64
					for j := range dim {
						p := float64(q[j]) * float64(rows[i*dim+j])
						want += p
						scale += math.Abs(p)
					}
					if !closeTo(out[i], want, scale) {
						t.Fatalf("%s dim=%d row %d of %d: got %g, want %g", k.name, dim, i, n, out[i], want)
					}
				}
				if out[n] != 42 {
					t.Fatalf("%s dim=%d: wrote past the rows", k.name, dim)
				}
			}
		}
	}
	DotI8(make([]float32, 8), make([]int8, 0), 8, nil) // no rows: nothing to do
	defer func() {
		if recover() == nil {
			t.Error("DotI8 with a short out did not panic")
		}
	}()
	DotI8(make([]float32, 8), make([]int8, 16), 8, make([]float32, 1))
}
