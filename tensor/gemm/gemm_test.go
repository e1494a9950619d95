package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// variant is one way of calling the package; run computes C (+)= A·B with
// kernel kern for an A and B laid out as the variant expects.
type variant struct {
	name   string
	transA bool // A is stored k×m
	transB bool // B is stored n×k
	run    func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool)
}

var variants = []variant{
	{name: "N", run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
		checkArgs("test", m, n, k, a, lda, false, b, ldb, false, c, ldc)
		run(kern, m, n, k, a, lda, 1, bMatrix{b: b, ld: ldb}, c, ldc, acc)
	}},
	{name: "TA", transA: true, run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
		checkArgs("test", m, n, k, a, lda, true, b, ldb, false, c, ldc)
		run(kern, m, n, k, a, 1, lda, bMatrix{b: b, ld: ldb}, c, ldc, acc)
	}},
	{name: "TB", transB: true, run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
		checkArgs("test", m, n, k, a, lda, false, b, ldb, true, c, ldc)
		runTB(kern, m, n, k, a, lda, b, ldb, c, ldc, acc)
	}},
	{name: "Packed", run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
		p := packWith(kern, k, n, b, ldb)
		checkPacked("test", m, a, lda, p, c, ldc)
		runPacked(m, a, lda, p, 0, n, c, ldc, acc)
	}},
	{name: "Parallel", run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
		checkArgs("test", m, n, k, a, lda, false, b, ldb, false, c, ldc)
		matMulParallel(kern, 3, m, n, k, a, lda, b, ldb, c, ldc, acc)
	}},
	{name: "PackedParallel", run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
		MatMulPackedParallel(3, m, a, lda, packWith(kern, k, n, b, ldb), c, ldc, acc)
	}},
}

// shape is one test problem; pad is added to every leading dimension.
type shape struct{ m, n, k, pad int }

// testShapes covers tiny and prime sizes, sizes one off the register tiles
// of every kernel (4×4, 6×16, 12×32) in each dimension, k across the k
// block (256), n across the n block (512), m on both sides of the direct-B
// threshold, and k = 0.
var testShapes = []shape{
	{1, 1, 1, 0}, {1, 1, 1, 3},
	{7, 13, 17, 0}, {31, 37, 41, 0}, {97, 101, 103, 0}, {97, 101, 103, 5},
	{3, 5, 2, 0}, {5, 3, 9, 1},
	{11, 31, 8, 0}, {12, 32, 8, 0}, {13, 33, 8, 2}, {23, 63, 5, 0}, {25, 65, 9, 1},
	{6, 16, 10, 0}, {7, 17, 10, 0}, {5, 15, 10, 4},
	{13, 15, 257, 0}, {40, 70, 513, 3}, {30, 40, 256, 0},
	{5, 600, 20, 0}, {50, 1030, 7, 1},
	{1, 256, 300, 0}, {9, 256, 100, 0}, {100, 25, 60, 0}, {30, 300, 40, 1}, {40, 500, 300, 0},
	{7, 9, 0, 0}, {7, 9, 0, 2}, {0, 5, 5, 0}, {5, 0, 5, 0},
}

const guard = float32(-12345.5)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// operands returns A, B (in the layouts of v) with their leading dimensions,
// and a guarded C: the m×n window (leading dimension ldc) starts at c[off],
// all other elements of c hold guard.
func operands(r *rand.Rand, v variant, s shape) (a []float32, lda int, b []float32, ldb int, c []float32, ldc, off int) {
	ar, ac := s.m, s.k
	if v.transA {
		ar, ac = s.k, s.m
	}
	lda = ac + s.pad
	a = randSlice(r, max(0, (ar-1)*lda+ac))
	br, bc := s.k, s.n
	if v.transB {
		br, bc = s.n, s.k
	}
	ldb = bc + s.pad
	b = randSlice(r, max(0, (br-1)*ldb+bc))
	ldc = s.n + s.pad
	off = 7
	c = make([]float32, off+s.m*ldc+40)
	for i := range c {
		c[i] = guard
	}
	for i := 0; i < s.m; i++ {
		for j := 0; j < s.n; j++ {
			c[off+i*ldc+j] = float32(r.NormFloat64())
		}
	}
	return
}

// reference returns C (+)= A·B in float64 and, for each element, the bound
// Σ|a_ip·b_pj| (+ |c_ij|) that scales the rounding error.
func reference(v variant, s shape, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) (want, scale []float64) {
	want = make([]float64, s.m*s.n)
	scale = make([]float64, s.m*s.n)
	for i := 0; i < s.m; i++ {
		for j := 0; j < s.n; j++ {
			var sum, abs float64
			for p := 0; p < s.k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if v.transA {
					ai = p*lda + i
				}
				if v.transB {
					bi = j*ldb + p
				}
				x, y := a[ai], b[bi]
				sum += float64(x) * float64(y)
				abs += math.Abs(float64(x) * float64(y))
			}
			if acc {
				sum += float64(c[i*ldc+j])
				abs += math.Abs(float64(c[i*ldc+j]))
			}
			want[i*s.n+j], scale[i*s.n+j] = sum, abs
		}
	}
	return want, scale
}

// compute runs v with kern on fresh operands and returns the result window,
// the float64 reference and its error scale; it fails t if anything outside
// the window of C was written.
func compute(t *testing.T, kern *kernel, v variant, s shape, acc bool, seed uint64) (got []float32, want, scale []float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, uint64(s.m*1000003+s.n*1009+s.k)))
	a, lda, b, ldb, c, ldc, off := operands(r, v, s)
	want, scale = reference(v, s, a, lda, b, ldb, c[off:], ldc, acc)
	v.run(kern, s.m, s.n, s.k, a, lda, b, ldb, c[off:], ldc, acc)
	got = make([]float32, s.m*s.n)
	inside := func(x int) bool {
		x -= off
		return ldc > 0 && x >= 0 && x/ldc < s.m && x%ldc < s.n
	}
	for x, val := range c {
		if inside(x) {
			got[(x-off)/ldc*s.n+(x-off)%ldc] = val
		} else if val != guard {
			t.Fatalf("wrote %v outside C at offset %d (row %d, col %d of ldc %d)", val, x-off, (x-off)/ldc, (x-off)%ldc, ldc)
		}
	}
	return got, want, scale
}

func tolerance(scale float64) float64 { return 1e-5*scale + 1e-6 }

// TestKernels checks every kernel this CPU can run, through every variant,
// against a float64 reference and against the generic kernel.
func TestKernels(t *testing.T) {
	for _, kern := range kernels {
		for _, v := range variants {
			for _, s := range testShapes {
				for _, acc := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%dx%dx%d+%d/acc=%v", kern.name, v.name, s.m, s.n, s.k, s.pad, acc)
					t.Run(name, func(t *testing.T) {
						got, want, scale := compute(t, kern, v, s, acc, 1)
						gen, _, _ := compute(t, genericKernel, v, s, acc, 1)
						for x := range got {
							if d := math.Abs(float64(got[x]) - want[x]); !(d <= tolerance(scale[x])) {
								t.Fatalf("C[%d,%d] = %v, want %v (error %.3g > %.3g)", x/s.n, x%s.n, got[x], want[x], d, tolerance(scale[x]))
							}
							if d := math.Abs(float64(got[x] - gen[x])); !(d <= 2*tolerance(scale[x])) {
								t.Fatalf("C[%d,%d] = %v, generic kernel gives %v", x/s.n, x%s.n, got[x], gen[x])
							}
						}
					})
				}
			}
		}
	}
}

// TestKernelsAvailable makes sure the assembly kernels are really tested on
// a CPU that has them, rather than silently skipped.
func TestKernelsAvailable(t *testing.T) {
	var names []string
	for _, k := range kernels {
		names = append(names, k.name)
	}
	t.Logf("kernels: %v, active: %s", names, Kernel())
	if kernels[len(kernels)-1] != genericKernel {
		t.Errorf("generic kernel is not the last resort: %v", names)
	}
	if force := os.Getenv("FACEREC_GEMM"); force == "" && Kernel() != kernels[0].name {
		t.Errorf("Kernel() = %q, want the best available, %q", Kernel(), kernels[0].name)
	}
}

// TestExported runs the exported functions (with the dispatched kernel) once
// each against the reference, so that their argument plumbing is covered.
func TestExported(t *testing.T) {
	s := shape{37, 45, 300, 3}
	for _, v := range []variant{
		{name: "MatMul", run: func(_ *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			MatMul(m, n, k, a, lda, b, ldb, c, ldc, acc)
		}},
		{name: "MatMulTA", transA: true, run: func(_ *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			MatMulTA(m, n, k, a, lda, b, ldb, c, ldc, acc)
		}},
		{name: "MatMulTB", transB: true, run: func(_ *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			MatMulTB(m, n, k, a, lda, b, ldb, c, ldc, acc)
		}},
		{name: "MatMulParallel", run: func(_ *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			MatMulParallel(4, m, n, k, a, lda, b, ldb, c, ldc, acc)
		}},
		{name: "MatMulPacked", run: func(_ *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			p := PackB(k, n, b, ldb)
			if p.K() != k || p.N() != n {
				t.Fatalf("PackB(%d, %d) has shape %d×%d", k, n, p.K(), p.N())
			}
			MatMulPacked(m, a, lda, p, c, ldc, acc)
		}},
	} {
		for _, acc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/acc=%v", v.name, acc), func(t *testing.T) {
				got, want, scale := compute(t, nil, v, s, acc, 2)
				for x := range got {
					if d := math.Abs(float64(got[x]) - want[x]); !(d <= tolerance(scale[x])) {
						t.Fatalf("C[%d,%d] = %v, want %v", x/s.n, x%s.n, got[x], want[x])
					}
				}
			})
		}
	}
}

// TestParallelSplits checks the parallel paths with many worker counts,
// including more workers than tiles and the split by columns (few rows).
func TestParallelSplits(t *testing.T) {
	for _, kern := range kernels {
		for _, s := range []shape{{1, 300, 200, 0}, {3, 70, 64, 1}, {200, 40, 64, 0}, {13, 33, 128, 2}, {40, 1100, 20, 0}} {
			for _, workers := range []int{-1, 0, 1, 2, 3, 7, 64} {
				name := fmt.Sprintf("%s/%dx%dx%d/w=%d", kern.name, s.m, s.n, s.k, workers)
				t.Run(name, func(t *testing.T) {
					for _, v := range []variant{
						{name: "MatMulParallel", run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
							matMulParallel(kern, workers, m, n, k, a, lda, b, ldb, c, ldc, acc)
						}},
						{name: "MatMulPackedParallel", run: func(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
							MatMulPackedParallel(workers, m, a, lda, packWith(kern, k, n, b, ldb), c, ldc, acc)
						}},
					} {
						got, want, scale := compute(t, kern, v, s, true, 3)
						for x := range got {
							if d := math.Abs(float64(got[x]) - want[x]); !(d <= tolerance(scale[x])) {
								t.Fatalf("%s: C[%d,%d] = %v, want %v", v.name, x/s.n, x%s.n, got[x], want[x])
							}
						}
					}
				})
			}
		}
	}
}

// TestConcurrent runs many multiplications at once, sharing one PackedB,
// to catch shared scratch state (run it with -race).
func TestConcurrent(t *testing.T) {
	const m, n, k = 29, 70, 300
	r := rand.New(rand.NewPCG(4, 4))
	a := randSlice(r, m*k)
	b := randSlice(r, k*n)
	want := make([]float32, m*n)
	MatMul(m, n, k, a, k, b, n, want, n, false)
	p := PackB(k, n, b, n)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 5; it++ {
				c := make([]float32, m*n)
				switch (g + it) % 3 {
				case 0:
					MatMul(m, n, k, a, k, b, n, c, n, false)
				case 1:
					MatMulPacked(m, a, k, p, c, n, false)
				default:
					MatMulPackedParallel(2, m, a, k, p, c, n, false)
				}
				for x := range c {
					if d := math.Abs(float64(c[x] - want[x])); d > 1e-3 {
						errs <- fmt.Sprintf("goroutine %d: C[%d] = %v, want %v", g, x, c[x], want[x])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestSelectKernel checks the FACEREC_GEMM override.
func TestSelectKernel(t *testing.T) {
	k512 := &kernel{name: "avx512"}
	k256 := &kernel{name: "avx2"}
	all := []*kernel{k512, k256, genericKernel}
	noAVX512 := []*kernel{k256, genericKernel}
	for _, tc := range []struct {
		ks    []*kernel
		force string
		want  string
	}{
		{all, "", "avx512"},
		{all, "avx512", "avx512"},
		{all, "avx2", "avx2"},
		{all, "generic", "generic"},
		{all, "bogus", "avx512"},
		{noAVX512, "avx512", "avx2"},
		{noAVX512, "", "avx2"},
		{[]*kernel{genericKernel}, "avx512", "generic"},
	} {
		if got := selectKernel(tc.ks, tc.force).name; got != tc.want {
			t.Errorf("selectKernel(%d kernels, %q) = %s, want %s", len(tc.ks), tc.force, got, tc.want)
		}
	}
}

// TestBadArguments checks that malformed calls panic with a message that
// names the problem instead of corrupting memory.
func TestBadArguments(t *testing.T) {
	s := make([]float32, 12)
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"short a", "len(a)", func() { MatMul(4, 3, 3, s[:11], 3, s, 3, s, 3, false) }},
		{"short b", "len(b)", func() { MatMul(3, 4, 3, s, 3, s[:11], 4, s, 4, false) }},
		{"short c", "len(c)", func() { MatMul(3, 4, 3, s, 3, s, 4, s[:11], 4, false) }},
		{"small lda", "leading dimension of a", func() { MatMul(2, 2, 3, s, 2, s, 2, s, 2, false) }},
		{"small ldc", "leading dimension of c", func() { MatMul(2, 3, 2, s, 2, s, 3, s, 2, false) }},
		{"TA short a", "len(a)", func() { MatMulTA(4, 3, 3, s[:11], 4, s, 3, s, 3, false) }},
		{"TB short b", "len(b)", func() { MatMulTB(3, 4, 3, s, 3, s[:11], 3, s, 4, false) }},
		{"negative", "negative", func() { MatMul(-1, 2, 2, s, 2, s, 2, s, 2, false) }},
		{"pack short", "len(b)", func() { PackB(4, 4, s, 4) }},
		{"nil packed", "nil PackedB", func() { MatMulPacked(1, s, 1, nil, s, 1, false) }},
		{"packed short c", "len(c)", func() { MatMulPacked(4, s, 3, PackB(3, 4, s, 4), s[:11], 4, false) }},
		{"parallel short c", "len(c)", func() { MatMulParallel(2, 3, 4, 3, s, 3, s, 4, s[:11], 4, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "gemm: ") || !strings.Contains(msg, tc.want) {
					t.Fatalf("panic %q, want a gemm message about %q", msg, tc.want)
				}
			}()
			tc.f()
		})
	}
}

// TestZeroK checks that k == 0 zeroes C (or leaves it, when accumulating)
// even with empty operand slices.
func TestZeroK(t *testing.T) {
	for _, acc := range []bool{false, true} {
		c := []float32{1, 2, 3, 4, 5, 6}
		MatMul(2, 2, 0, nil, 0, nil, 2, c, 3, acc)
		want := []float32{0, 0, 3, 0, 0, 6}
		if acc {
			want = []float32{1, 2, 3, 4, 5, 6}
		}
		for i := range c {
			if c[i] != want[i] {
				t.Fatalf("acc=%v: C = %v, want %v", acc, c, want)
			}
		}
		var empty PackedB // a 0×0 matrix: nothing to do, nothing written
		MatMulPackedParallel(4, 2, nil, 0, &empty, c, 3, acc)
		MatMulPacked(2, nil, 0, &empty, c, 3, acc)
		for i := range c {
			if c[i] != want[i] {
				t.Fatalf("empty PackedB changed C to %v", c)
			}
		}
		p := PackB(0, 2, nil, 2)
		c = []float32{1, 2, 3, 4, 5, 6}
		MatMulPackedParallel(4, 2, nil, 0, p, c, 3, acc)
		for i := range c {
			if c[i] != want[i] {
				t.Fatalf("packed acc=%v: C = %v, want %v", acc, c, want)
			}
		}
	}
}
