package gallery

import (
	"math"
	"slices"
	"sync"

	"github.com/facerec/facerec/tensor/vec"
)

// compactRows is an int8 copy of an index's rows, one scale per row, for
// the first pass of a search over a large gallery: the scan reads a
// quarter of the bytes of the float32 rows, and the few rows it ranks
// best are then measured exactly (searchIndex.searchCompact). Row i holds
// round(127·v/max|v|) of descriptor row i, so a value is q8·scale.
type compactRows struct {
	q8    []int8
	scale []float32
	norm2 []float32 // ‖row‖², exact
}

// add appends the compact form of one descriptor.
func (c *compactRows) add(d []float32) {
	var m, n2 float32
	for _, v := range d {
		m = max(m, float32(math.Abs(float64(v))))
		n2 += v * v
	}
	s := m / 127
	for _, v := range d {
		var q int8
		if s > 0 {
			q = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
		c.q8 = append(c.q8, q)
	}
	c.scale = append(c.scale, s)
	c.norm2 = append(c.norm2, n2)
}

// move copies row from into row to (the swap removal of removeRow).
func (c *compactRows) move(to, from int32, dim int) {
	copy(c.q8[int(to)*dim:int(to+1)*dim], c.q8[int(from)*dim:])
	c.scale[to], c.norm2[to] = c.scale[from], c.norm2[from]
}

// truncate keeps the first n rows.
func (c *compactRows) truncate(n, dim int) {
	c.q8, c.scale, c.norm2 = c.q8[:n*dim], c.scale[:n], c.norm2[:n]
}

// compactMinRows is the index size from which Search scans the compact
// rows first: below it the exact scan is fast enough (a 128-d index of
// 200k faces is 100 MB, some milliseconds), and exact.
const compactMinRows = 200_000

// rerankRows is how many rows the compact pass hands to the exact one per
// search (at least; 8k for a larger k). The int8 distances are off by
// about 1% of a distance, so the true nearest faces rank far inside it;
// TestCompactSearch measures how often the top-1 differs from the exact
// search's.
const rerankRows = 256

// approxRow is a row ranked by its approximate squared distance.
type approxRow struct {
	d   float32
	row int32
}

// approxTop keeps the n rows of smallest approximate distance offered, as
// a max-heap on d (the worst kept row at the root).
type approxTop struct {
	n int
	h []approxRow
}

func (t *approxTop) offer(r approxRow) {
	if len(t.h) < t.n {
		t.h = append(t.h, r)
		for i := len(t.h) - 1; i > 0; { // sift up
			p := (i - 1) / 2
			if t.h[p].d >= t.h[i].d {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	if r.d >= t.h[0].d {
		return
	}
	t.h[0] = r
	for i := 0; ; { // sift down
		l, b := 2*i+1, i
		if l < len(t.h) && t.h[l].d > t.h[b].d {
			b = l
		}
		if l+1 < len(t.h) && t.h[l+1].d > t.h[b].d {
			b = l + 1
		}
		if b == i {
			break
		}
		t.h[i], t.h[b] = t.h[b], t.h[i]
		i = b
	}
}

// scanCompact offers rows lo..hi-1, by their approximate squared
// distance to q (‖q‖² = qq), to t.
func (x *searchIndex) scanCompact(q []float32, qq float32, lo, hi int, t *approxTop) {
	var buf [blockRows]float32
	c := &x.compact
	for b := lo; b < hi; b += blockRows {
		e := min(b+blockRows, hi)
		dots := buf[:e-b]
		vec.DotI8(q, c.q8[b*x.dim:e*x.dim], x.dim, dots)
		for i, dot := range dots {
			r := b + i
			d := qq + c.norm2[r] - 2*c.scale[r]*dot
			if len(t.h) == t.n && d >= t.h[0].d {
				continue
			}
			t.offer(approxRow{d, int32(r)})
		}
	}
}

// searchCompact is Search over the compact rows: every row's approximate
// distance, the best rerankRows (or 8k) rows measured exactly, and the k
// nearest people among those. It holds x.mu for reading (the caller's).
func (x *searchIndex) searchCompact(q []float32, k, workers int) []Match {
	n := len(x.faceIDs)
	var qq float32
	for _, v := range q {
		qq += v * v
	}
	keep := max(rerankRows, 8*k)
	parts := make([]approxTop, max(workers, 1))
	if workers < 2 {
		parts[0].n = keep
		x.scanCompact(q, qq, 0, n, &parts[0])
	} else {
		var wg sync.WaitGroup
		for w := range parts {
			lo, hi := n*w/workers, n*(w+1)/workers
			parts[w].n = keep
			wg.Go(func() { x.scanCompact(q, qq, lo, hi, &parts[w]) })
		}
		wg.Wait()
	}
	var rows []int32
	for _, p := range parts {
		for _, r := range p.h {
			rows = append(rows, r.row)
		}
	}
	slices.Sort(rows) // in memory order, for the exact pass's reads
	var t topK
	t.reset(k)
	var d [1]float32
	for _, r := range rows {
		vec.SquaredL2(q, x.data[int(r)*x.dim:int(r+1)*x.dim], x.dim, d[:])
		t.offer(cand{d: d[0], face: x.faceIDs[r], slot: x.owner[r]})
	}
	return x.matches(t.c)
}
