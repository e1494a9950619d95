package gallery

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
)

// TestCompactSearch compares the compact (int8 first pass, exact rerank)
// search with the exact scan on the same index: on probes that are noisy
// copies of an enrolled face (a genuine attempt) the top-1 must be the
// same person and face, at the exact distance; on random probes (strangers,
// whose nearest people are all about equally far, the hardest case for an
// approximate pass) it must be the same in all but a few of 500. Removals
// must keep the compact rows in step with the exact ones.
func TestCompactSearch(t *testing.T) {
	for _, dim := range []int{128, 512} {
		rng := rand.New(rand.NewPCG(uint64(dim), 3))
		x := newIndex(dim)
		faces := randomFacesN(rng, 3000, 3, dim)
		for _, f := range faces {
			if err := x.Add(f); err != nil {
				t.Fatal(err)
			}
		}
		for p := 0; p < 3000; p += 7 {
			x.RemovePerson(fmt.Sprintf("p%05d", p))
		}
		exact := func(q []float32, k int) []Match {
			x.compactFrom = math.MaxInt
			defer func() { x.compactFrom = 0 }()
			return x.Search(q, k)
		}
		x.compactFrom = 0
		var genuineSame, strangerSame int
		const probes = 500
		for i := range probes {
			// A genuine attempt: a face still indexed plus noise of
			// a tenth of its norm.
			f := faces[rng.IntN(len(faces))]
			for !x.hasFace(f) {
				f = faces[rng.IntN(len(faces))]
			}
			var d []float32
			for _, v := range f.Descriptors {
				d = v
			}
			q := make([]float32, dim)
			noise := randDescriptorN(rng, dim)
			for j := range q {
				q[j] = d[j] + 0.1*noise[j]
			}
			got, want := x.Search(q, 5), exact(q, 5)
			if sameTop(got[0], want[0]) {
				genuineSame++
			} else if i < 20 {
				t.Logf("dim %d genuine %d: compact %+v, exact %+v", dim, i, got[0], want[0])
			}
			s := randDescriptorN(rng, dim)
			if got, want := x.Search(s, 1), exact(s, 1); sameTop(got[0], want[0]) {
				strangerSame++
			}
		}
		t.Logf("dim %d: top-1 as the exact search's on %d/%d genuine and %d/%d stranger probes", dim, genuineSame, probes, strangerSame, probes)
		if genuineSame != probes {
			t.Errorf("dim %d: compact top-1 differs from the exact one on %d of %d genuine probes", dim, probes-genuineSame, probes)
		}
		if strangerSame < probes-probes/100 {
			t.Errorf("dim %d: compact top-1 differs on %d of %d random probes", dim, probes-strangerSame, probes)
		}
	}
}

// hasFace reports whether f is still in the index.
func (x *searchIndex) hasFace(f Face) bool {
	slot, ok := x.slots[f.PersonID]
	if !ok {
		return false
	}
	for _, r := range x.people[slot].rows {
		if x.faceIDs[r] == f.ID {
			return true
		}
	}
	return false
}

// sameTop reports whether two matches name the same face at the same
// distance (to float32 rounding: the exact pass sums one row at a time).
func sameTop(a, b Match) bool {
	return a.PersonID == b.PersonID && a.FaceID == b.FaceID && math.Abs(a.Distance-b.Distance) <= 1e-6
}

// BenchmarkSearchCompact times a top-5 search of the compact index against
// the exact scan of the same index, for 128-d descriptors (dlib) at 1M and
// 10M faces and 512-d ones (MobileFaceNet) at 1M, and reports the bytes
// held per face (float32 row, int8 row, scale, norm, face ID, owner). The
// 10M cases need about 7 GB and run only with FACEREC_BENCH_10M=1.
func BenchmarkSearchCompact(b *testing.B) {
	for _, c := range []struct {
		name   string
		n, dim int
	}{{"1M-128d", 1_000_000, 128}, {"1M-512d", 1_000_000, 512}, {"10M-128d", 10_000_000, 128}} {
		if c.n > 1_000_000 && os.Getenv("FACEREC_BENCH_10M") == "" {
			continue
		}
		if testing.Short() {
			b.Skip("skipping million-face indexes in short mode")
		}
		var x *searchIndex
		build := func(b *testing.B) *searchIndex {
			if x == nil {
				x = bigIndex(c.n, c.dim)
			}
			return x
		}
		perFace := float64(4*c.dim + c.dim + 4 + 4 + 8 + 4) // data, q8, scale, norm2, faceID, owner
		for _, mode := range []string{"exact", "compact"} {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				x := build(b)
				x.compactFrom = math.MaxInt
				if mode == "compact" {
					x.compactFrom = 0
				}
				rng := rand.New(rand.NewPCG(41, 41))
				queries := make([][]float32, 16)
				for i := range queries {
					queries[i] = randDescriptorN(rng, c.dim)
				}
				i := 0
				for b.Loop() {
					if m := x.Search(queries[i%len(queries)], 5); len(m) != 5 {
						b.Fatalf("%d matches", len(m))
					}
					i++
				}
				b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/search")
				b.ReportMetric(perFace, "bytes/face")
			})
		}
		x = nil
		runtime.GC()
	}
}

// bigIndex fills an index of n random unit descriptors, one face per
// person, directly (Add's checks and person map cost minutes at 10M).
func bigIndex(n, dim int) *searchIndex {
	x := newIndex(dim)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(dim)))
	x.data = make([]float32, 0, n*dim)
	x.compact.q8 = make([]int8, 0, n*dim)
	x.people = make([]indexPerson, n)
	x.faceIDs = make([]int64, n)
	x.owner = make([]int32, n)
	d := make([]float32, dim)
	for i := range n {
		var sq float32
		for j := range d {
			d[j] = float32(rng.NormFloat64())
			sq += d[j] * d[j]
		}
		s := 1 / float32(math.Sqrt(float64(sq)))
		for j := range d {
			d[j] *= s
		}
		x.data = append(x.data, d...)
		x.compact.add(d)
		x.faceIDs[i] = int64(i + 1)
		x.owner[i] = int32(i)
		id := fmt.Sprintf("%016x", i)
		x.people[i] = indexPerson{id: id, rows: []int32{int32(i)}}
		x.slots[id] = int32(i)
	}
	return x
}
