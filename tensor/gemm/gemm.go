// Package gemm multiplies float32 matrices (SGEMM). It is the arithmetic core
// of facerec: convolutions are lowered to a GEMM of im2col rows by HWIO
// weights, and the backward passes use the transposed variants.
//
// All matrices are row-major with explicit leading dimensions (row strides,
// in elements), so sub-matrices of larger buffers can be used in place.
//
// The work is done by a register-tile micro-kernel chosen once, at start-up,
// from the CPU: "avx512" (12×32 tiles in zmm registers), "avx2" (6×16 tiles,
// AVX2+FMA) or the portable "generic" kernel in Go, which is also what the
// purego build tag and non-amd64 architectures get. The environment variable
// FACEREC_GEMM=generic|avx2|avx512 forces a lower kernel than the best
// available one, e.g. to compare them; asking for a kernel the CPU lacks
// gives the best one it has, and any other value is ignored.
//
// Around the micro-kernel the loops follow the GotoBLAS/BLIS scheme, tuned
// for the tall, thin GEMMs of convolutions: k is cut into blocks that keep
// the working set in cache, and A is not packed: the kernel broadcasts its
// values straight from the rows (or, for MatMulTA, the columns) of the
// caller's matrix, copying a tile's rows only when they are reused for many
// panels of B or collide in the L1 cache. B is read in place when its rows
// fit one block (or A has few rows), and otherwise copied ("packed") into
// zero-padded panels one register tile wide; PackB does that once for
// constant weights.
//
// Every function is safe for concurrent use: scratch buffers come from a
// sync.Pool and a PackedB is read-only once built.
package gemm

//go:generate go run -C asm . -out ../kernels_amd64.s -stubs ../kernels_amd64.go -pkg gemm

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// kernel is one micro-kernel and the block sizes that suit it.
type kernel struct {
	name string
	// mr×nr is the register tile.
	mr, nr int
	// kc is the depth of a k block; nc the width of a packed B block.
	kc, nc int
	// directM is the largest m for which B is read in place rather than
	// packed: with few rows of A the copy costs as much as the arithmetic.
	directM int
	// tile computes C[0:mr, 0:nr] = A·B (or += when acc) for mr ≤ kernel.mr,
	// nr ≤ kernel.nr and kc ≥ 1, where A[i,p] = a[i*rsa + p*csa],
	// B[p,j] = b[p*bs + j] and C[i,j] = c[i*ldc + j]. B must hold kernel.nr
	// readable columns in every row even when nr is smaller (packed panels are
	// zero-padded); columns nr and beyond of C are never written.
	tile func(mr, nr, kc int, a []float32, rsa, csa int, b []float32, bs int, c []float32, ldc int, acc bool)
}

// kernels lists the kernels this CPU can run, best first; generic is last.
var kernels = append(archKernels(), genericKernel)

// active is the kernel the exported functions use.
var active = selectKernel(kernels, os.Getenv("FACEREC_GEMM"))

// selectKernel returns the best kernel of ks, or, when force names one, the
// best kernel no better than the named one.
func selectKernel(ks []*kernel, force string) *kernel {
	rank := map[string]int{"generic": 0, "avx2": 1, "avx512": 2}
	want, ok := rank[force]
	if !ok {
		return ks[0]
	}
	for _, k := range ks {
		if rank[k.name] <= want {
			return k
		}
	}
	return ks[len(ks)-1]
}

// Kernel names the micro-kernel in use: "avx512", "avx2" or "generic".
func Kernel() string { return active.name }

// MatMul computes C = A·B, or C += A·B when acc is true. A is m×k, B is k×n,
// C is m×n, all row-major with leading dimensions (row strides, in elements)
// lda ≥ k, ldb ≥ n, ldc ≥ n. It panics when a slice is too short for its
// matrix or a dimension is negative. With k == 0 and acc false, C is zeroed.
func MatMul(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	checkArgs("MatMul", m, n, k, a, lda, false, b, ldb, false, c, ldc)
	run(active, m, n, k, a, lda, 1, bMatrix{b: b, ld: ldb}, c, ldc, acc)
}

// MatMulTA is MatMul with A stored transposed: A is given as a k×m matrix
// (lda ≥ m) and Aᵀ is used, as in the weight gradient Xᵀ·dY.
func MatMulTA(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	checkArgs("MatMulTA", m, n, k, a, lda, true, b, ldb, false, c, ldc)
	run(active, m, n, k, a, 1, lda, bMatrix{b: b, ld: ldb}, c, ldc, acc)
}

// MatMulTB is MatMul with B stored transposed: B is given as an n×k matrix
// (ldb ≥ k) and Bᵀ is used, as in the input gradient dY·Wᵀ.
func MatMulTB(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	checkArgs("MatMulTB", m, n, k, a, lda, false, b, ldb, true, c, ldc)
	runTB(active, m, n, k, a, lda, b, ldb, c, ldc, acc)
}

// runTB computes C (+)= A·Bᵀ for a row-major m×k A and n×k B. Packing a
// transposed B is a transposition of all of B, which dominates when A has
// few rows; then it computes Cᵀ = B·Aᵀ instead, reading B in place and
// transposing only A and the small result. That needs at least a register
// tile's width of rows in A, or the kernel would waste most of each tile.
func runTB(kern *kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if m < kern.nr || n == 0 || k == 0 || m*(k+n) >= n*k {
		run(kern, m, n, k, a, lda, 1, bMatrix{b: b, ld: ldb, trans: true}, c, ldc, acc)
		return
	}
	t := getBuf(n * m)
	defer putBuf(t)
	run(kern, n, m, k, b, ldb, 1, bMatrix{b: a, ld: lda, trans: true}, t.s, m, false)
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			if acc {
				row[j] += t.s[j*m+i]
			} else {
				row[j] = t.s[j*m+i]
			}
		}
	}
}

// MatMulParallel is MatMul with the work split over up to workers goroutines:
// by rows of C, or by columns when C has too few rows to share. workers ≤ 1
// runs on the calling goroutine only.
func MatMulParallel(workers, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	checkArgs("MatMulParallel", m, n, k, a, lda, false, b, ldb, false, c, ldc)
	matMulParallel(active, workers, m, n, k, a, lda, b, ldb, c, ldc, acc)
}

func matMulParallel(kern *kernel, workers, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	split(kern, workers, m, n, k, func(i0, i1, j0, j1 int) {
		run(kern, i1-i0, j1-j0, k, a[i0*lda:], lda, 1, bMatrix{b: b[j0:], ld: ldb}, c[i0*ldc+j0:], ldc, acc)
	})
}

// minParallelFlops is the least work worth a goroutine: below it, starting
// and joining goroutines costs more than it saves.
const minParallelFlops = 1 << 18

// split cuts the m×n output into parts for up to workers goroutines, runs
// f(i0, i1, j0, j1) on each part and waits. It splits rows in whole register
// tiles, or columns in whole tiles when there are too few rows.
func split(kern *kernel, workers, m, n, k int, f func(i0, i1, j0, j1 int)) {
	if w := 2 * m * n * k / minParallelFlops; w < workers {
		workers = w
	}
	if workers <= 1 {
		f(0, m, 0, n)
		return
	}
	rowTiles := (m + kern.mr - 1) / kern.mr
	colTiles := (n + kern.nr - 1) / kern.nr
	var wg sync.WaitGroup
	// Rows are preferred: each worker then reads a disjoint part of A and
	// writes whole rows of C. Columns are used when there are fewer row
	// tiles than workers but more column tiles.
	byRows := rowTiles >= workers || rowTiles >= colTiles
	tiles, size, total := rowTiles, kern.mr, m
	if !byRows {
		tiles, size, total = colTiles, kern.nr, n
	}
	if workers > tiles {
		workers = tiles
	}
	if workers <= 1 {
		f(0, m, 0, n)
		return
	}
	for w := 0; w < workers; w++ {
		lo := tiles * w / workers * size
		hi := min(tiles*(w+1)/workers*size, total)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if byRows {
				f(lo, hi, 0, n)
			} else {
				f(0, m, lo, hi)
			}
		}()
	}
	wg.Wait()
}

// bMatrix is a right-hand matrix in the caller's layout: B[p,j] = b[p*ld+j],
// or b[j*ld+p] when trans.
type bMatrix struct {
	b     []float32
	ld    int
	trans bool
}

// run computes C (+)= A·B with kernel kern, where A[i,p] = a[i*rsa + p*csa].
// The arguments have been checked.
func run(kern *kernel, m, n, k int, a []float32, rsa, csa int, b bMatrix, c []float32, ldc int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			zero(m, n, c, ldc)
		}
		return
	}
	nr := kern.nr
	// B is read in place when it fits in one n block (its rows are then read
	// whole, which the caches and prefetchers handle well) or when A has so
	// few rows that packing would cost as much as the arithmetic. Wide B
	// is packed: its long rows would make each kc×nr panel a strided walk
	// whose lines collide in the caches.
	direct := !b.trans && (n <= kern.nc || m <= kern.directM)
	nc0 := min(kern.nc, roundUp(n, nr))
	kc0 := min(kern.kc, k)
	buf := getBuf(kc0 * nc0)
	defer putBuf(buf)
	for jc := 0; jc < n; jc += nc0 {
		nc := min(nc0, n-jc)
		panels := (nc + nr - 1) / nr
		for pc := 0; pc < k; pc += kc0 {
			kc := min(kc0, k-pc)
			var blk block
			if direct {
				// Full panels straight from B; only a ragged last panel is
				// copied, so that the kernel can read nr columns.
				blk = block{b: b.b[pc*b.ld+jc:], panelStride: nr, rowStride: b.ld}
				if full := nc / nr; full < panels {
					packB(buf.s, kc, nr, b, pc, jc+full*nr, nc-full*nr)
					blk.edge = buf.s
				}
			} else {
				packB(buf.s, kc, nr, b, pc, jc, nc)
				blk = block{b: buf.s, panelStride: kc * nr, rowStride: nr}
			}
			macro(kern, m, nc, kc, a[pc*csa:], rsa, csa, blk, c[jc:], ldc, acc || pc > 0)
		}
	}
}

// block locates the panels of one kc×nc block of B: panel q (columns
// q*nr ...) starts at b[q*panelStride] and its rows are rowStride apart.
// When edge is not nil it holds the last panel instead, packed.
type block struct {
	b           []float32
	panelStride int
	rowStride   int
	edge        []float32
}

// macro runs the micro-kernel over an m×nc block of C with depth kc. The
// row tiles are the outer loop so that a tile's rows of A stay in L1 while
// the kernel walks the panels of B (which stay in L2).
func macro(kern *kernel, m, nc, kc int, a []float32, rsa, csa int, blk block, c []float32, ldc int, acc bool) {
	mr, nr := kern.mr, kern.nr
	panels := (nc + nr - 1) / nr
	// A tile's rows of A are reused for every panel of B. When that reuse
	// is large, or when the rows' addresses collide in L1, copy them to a
	// small contiguous buffer first.
	var abuf *scratch
	astride := roundUp(kc, 16) + 16
	switch {
	case panels < 2:
	case csa == 1 && (panels >= copyAPanels || aliased(rsa, mr, 3)):
		abuf = getBuf(mr * astride)
	case rsa == 1 && panels >= copyAPanels && aliased(csa, kc, 32):
		// A is stored transposed: each k step of the tile reads a short
		// run of a different row, and the kc rows share few L1 sets.
		abuf = getBuf(mr * kc)
	}
	if abuf != nil {
		defer putBuf(abuf)
	}
	for i := 0; i < m; i += mr {
		h := min(mr, m-i)
		ai, ars, acs := a[i*rsa:], rsa, csa
		switch {
		case abuf == nil:
		case csa == 1:
			for r := 0; r < h; r++ {
				copy(abuf.s[r*astride:r*astride+kc], ai[r*rsa:r*rsa+kc])
			}
			ai, ars = abuf.s, astride
		default:
			for p := 0; p < kc; p++ {
				dst, src := abuf.s[p*mr:p*mr+h], ai[p*csa:p*csa+h]
				for r := range dst {
					dst[r] = src[r]
				}
			}
			ai, ars, acs = abuf.s, 1, mr
		}
		ci := c[i*ldc:]
		for q := 0; q < panels; q++ {
			w := min(nr, nc-q*nr)
			bq, bs := blk.b, blk.rowStride
			if q == panels-1 && blk.edge != nil {
				bq, bs = blk.edge, nr
			} else {
				bq = bq[q*blk.panelStride:]
			}
			kern.tile(h, w, kc, ai, ars, acs, bq, bs, ci[q*nr:], ldc, acc)
		}
	}
}

// copyAPanels is the number of B panels from which copying a tile's rows
// of A pays for itself (measured on Zen 4; with fewer panels the copy costs
// more than the faster reads save).
const copyAPanels = 8

// aliased reports whether more than limit of the given number of rows, rs
// elements apart, start in the same set of the L1 cache (64 sets of 64-byte
// lines), as happens when the row length in bytes is a multiple of 2 or
// 4 KiB: the rows then evict each other.
func aliased(rs, rows, limit int) bool {
	var count [64]int
	for i := 0; i < rows; i++ {
		set := i * rs * 4 / 64 % 64
		if count[set]++; count[set] > limit {
			return true
		}
	}
	return false
}

// packB copies B[p0:p0+kc, j0:j0+nc] into dst as panels of nr columns: panel
// q holds rows p = 0..kc-1 of nr values each at dst[q*kc*nr + p*nr:],
// zero-padded past column nc.
func packB(dst []float32, kc, nr int, b bMatrix, p0, j0, nc int) {
	for q := 0; q*nr < nc; q++ {
		w := min(nr, nc-q*nr)
		d := dst[q*kc*nr : (q+1)*kc*nr]
		jq := j0 + q*nr
		if !b.trans {
			for p := 0; p < kc; p++ {
				row := d[p*nr : p*nr+nr]
				copy(row, b.b[(p0+p)*b.ld+jq:][:w])
				clear(row[w:])
			}
			continue
		}
		if w < nr {
			clear(d)
		}
		// Four columns of the panel (rows of the stored B) at a time: four
		// sequential reads feed four adjacent writes, which is much faster
		// than scattering one stored row at a stride of nr.
		j := 0
		for ; j+4 <= w; j += 4 {
			c0 := b.b[(jq+j)*b.ld+p0:][:kc]
			c1 := b.b[(jq+j+1)*b.ld+p0:][:kc]
			c2 := b.b[(jq+j+2)*b.ld+p0:][:kc]
			c3 := b.b[(jq+j+3)*b.ld+p0:][:kc]
			for p := range c0 {
				o := d[p*nr+j : p*nr+j+4]
				o[0], o[1], o[2], o[3] = c0[p], c1[p], c2[p], c3[p]
			}
		}
		for ; j < w; j++ {
			col := b.b[(jq+j)*b.ld+p0:][:kc]
			for p, v := range col {
				d[p*nr+j] = v
			}
		}
	}
}

// zero clears the m×n window of C.
func zero(m, n int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// PackedB is a k×n right-hand matrix repacked once into the panel layout of
// the current kernel: network weights are constant, so inference packs them
// at load time and MatMulPacked skips the copy. A PackedB is read-only after
// PackB and safe for concurrent use.
type PackedB struct {
	k, n int
	kern *kernel
	// data holds the k blocks one after the other: the block of rows
	// pc..pc+kc starts at data[pc*panels*nr] and is laid out as packB does,
	// with panels = ceil(n/nr).
	data []float32
}

// PackB packs the k×n row-major matrix b (leading dimension ldb ≥ n) for
// MatMulPacked. It panics when b is too short or a dimension is negative.
func PackB(k, n int, b []float32, ldb int) *PackedB {
	return packWith(active, k, n, b, ldb)
}

func packWith(kern *kernel, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: PackB: negative dimension %d×%d", k, n))
	}
	checkMatrix("PackB", "b", b, k, n, ldb)
	p := &PackedB{k: k, n: n, kern: kern}
	if k == 0 || n == 0 {
		return p
	}
	panels := (n + kern.nr - 1) / kern.nr
	p.data = alignedSlice(k * panels * kern.nr)
	for pc := 0; pc < k; pc += kern.kc {
		kc := min(kern.kc, k-pc)
		packB(p.data[pc*panels*kern.nr:], kc, kern.nr, bMatrix{b: b, ld: ldb}, pc, 0, n)
	}
	return p
}

// K returns the number of rows of the packed matrix.
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of the packed matrix.
func (p *PackedB) N() int { return p.n }

// MatMulPacked computes C = A·B, or C += A·B when acc is true, with B
// prepacked by PackB. A is m×k row-major (lda ≥ k) and C is m×n (ldc ≥ n),
// where k×n is the shape of p.
func MatMulPacked(m int, a []float32, lda int, p *PackedB, c []float32, ldc int, acc bool) {
	checkPacked("MatMulPacked", m, a, lda, p, c, ldc)
	runPacked(m, a, lda, p, 0, p.n, c, ldc, acc)
}

// MatMulPackedParallel is MatMulPacked with the work split over up to
// workers goroutines, by rows of C or, when there are too few, by columns.
// workers ≤ 1 runs on the calling goroutine only.
func MatMulPackedParallel(workers, m int, a []float32, lda int, p *PackedB, c []float32, ldc int, acc bool) {
	checkPacked("MatMulPackedParallel", m, a, lda, p, c, ldc)
	split(p.kern, workers, m, p.n, p.k, func(i0, i1, j0, j1 int) {
		runPacked(i1-i0, a[i0*lda:], lda, p, j0, j1, c[i0*ldc:], ldc, acc)
	})
}

// runPacked computes columns j0..j1 of C (+)= A·B; j0 is a multiple of the
// kernel's nr.
func runPacked(m int, a []float32, lda int, p *PackedB, j0, j1 int, c []float32, ldc int, acc bool) {
	kern := p.kern
	if m == 0 || j1 <= j0 {
		return
	}
	if p.k == 0 {
		if !acc {
			zero(m, j1-j0, c[j0:], ldc)
		}
		return
	}
	nr := kern.nr
	panels := (p.n + nr - 1) / nr
	for jc := j0; jc < j1; jc += kern.nc {
		nc := min(kern.nc, j1-jc)
		for pc := 0; pc < p.k; pc += kern.kc {
			kc := min(kern.kc, p.k-pc)
			blk := block{
				b:           p.data[pc*panels*nr+jc/nr*kc*nr:],
				panelStride: kc * nr,
				rowStride:   nr,
			}
			macro(kern, m, nc, kc, a[pc:], lda, 1, blk, c[jc:], ldc, acc || pc > 0)
		}
	}
}

// checkArgs panics with a clear message when the arguments of a MatMul
// variant do not describe valid matrices; these are programming errors.
func checkArgs(fn string, m, n, k int, a []float32, lda int, ta bool, b []float32, ldb int, tb bool, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: %s: negative dimension m=%d n=%d k=%d", fn, m, n, k))
	}
	if ta {
		checkMatrix(fn, "a", a, k, m, lda)
	} else {
		checkMatrix(fn, "a", a, m, k, lda)
	}
	if tb {
		checkMatrix(fn, "b", b, n, k, ldb)
	} else {
		checkMatrix(fn, "b", b, k, n, ldb)
	}
	checkMatrix(fn, "c", c, m, n, ldc)
}

func checkPacked(fn string, m int, a []float32, lda int, p *PackedB, c []float32, ldc int) {
	if p == nil {
		panic(fmt.Sprintf("gemm: %s: nil PackedB", fn))
	}
	if m < 0 {
		panic(fmt.Sprintf("gemm: %s: negative dimension m=%d", fn, m))
	}
	checkMatrix(fn, "a", a, m, p.k, lda)
	checkMatrix(fn, "c", c, m, p.n, ldc)
}

// checkMatrix checks that s can hold a rows×cols matrix with leading
// dimension ld.
func checkMatrix(fn, name string, s []float32, rows, cols, ld int) {
	if ld < cols {
		panic(fmt.Sprintf("gemm: %s: leading dimension of %s is %d, less than its %d columns", fn, name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("gemm: %s: len(%s) = %d, need %d for a %d×%d matrix with leading dimension %d",
			fn, name, len(s), need, rows, cols, ld))
	}
}

// scratch is a pooled, 64-byte aligned buffer.
type scratch struct {
	s []float32
}

var bufPool sync.Pool

// getBuf returns a 64-byte aligned scratch buffer of at least n floats.
func getBuf(n int) *scratch {
	if v, ok := bufPool.Get().(*scratch); ok && cap(v.s) >= n {
		v.s = v.s[:n]
		return v
	}
	return &scratch{s: alignedSlice(n)}
}

func putBuf(b *scratch) { bufPool.Put(b) }

// alignedSlice returns n zeroed floats starting on a 64-byte boundary, so
// that each zmm load of a packed panel touches one cache line only.
func alignedSlice(n int) []float32 {
	return align(make([]float32, n+16))[:n]
}

func align(s []float32) []float32 {
	off := int(uintptr(unsafe.Pointer(&s[0])) % 64 / 4)
	if off == 0 {
		return s[:len(s)-16]
	}
	return s[16-off : len(s)-off]
}
