package gallery

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// indexFace returns a face for an index: one descriptor, of testModel.
func indexFace(id int64, personID string, d []float32) Face {
	return Face{ID: id, PersonID: personID, Descriptors: map[string][]float32{testModel: d}}
}

// bruteForce is the definition Search is checked against: per person the
// nearest face, in float64, sorted by distance then face ID.
func bruteForce(faces []Face, q []float32, k int) []Match {
	best := map[string]Match{}
	for _, f := range faces {
		var s float64
		for j := range q {
			d := float64(q[j]) - float64(f.Descriptors[testModel][j])
			s += d * d
		}
		m := Match{PersonID: f.PersonID, FaceID: f.ID, Distance: math.Sqrt(s)}
		if b, ok := best[f.PersonID]; !ok || m.Distance < b.Distance || (m.Distance == b.Distance && m.FaceID < b.FaceID) {
			best[f.PersonID] = m
		}
	}
	var out []Match
	for _, m := range best {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Match) int {
		if a.Distance != b.Distance {
			if a.Distance < b.Distance {
				return -1
			}
			return 1
		}
		return int(a.FaceID - b.FaceID)
	})
	return out[:min(k, len(out))]
}

// randomFaces makes faces for people people with 1..maxFaces faces each,
// in shuffled order, with distinct face IDs and descriptors of testDim.
func randomFaces(rng *rand.Rand, people, maxFaces int) []Face {
	return randomFacesN(rng, people, maxFaces, testDim)
}

// randomFacesN is randomFaces with descriptors of dim values.
func randomFacesN(rng *rand.Rand, people, maxFaces, dim int) []Face {
	var faces []Face
	id := int64(1)
	for p := range people {
		n := 1 + rng.IntN(maxFaces)
		for range n {
			faces = append(faces, indexFace(id, fmt.Sprintf("p%05d", p), randDescriptorN(rng, dim)))
			id++
		}
	}
	rng.Shuffle(len(faces), func(i, j int) { faces[i], faces[j] = faces[j], faces[i] })
	return faces
}

// sameMatches compares Search with bruteForce: same people and faces in the
// same order, distances equal to float32 rounding.
func sameMatches(t *testing.T, what string, got, want []Match) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d matches, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].PersonID != want[i].PersonID || got[i].FaceID != want[i].FaceID ||
			math.Abs(got[i].Distance-want[i].Distance) > 1e-5 {
			t.Fatalf("%s: match %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// buildIndex returns an index of faces, whose descriptors are testDim
// long.
func buildIndex(t testing.TB, faces []Face) *searchIndex {
	t.Helper()
	x := newIndex(testDim)
	for _, f := range faces {
		if err := x.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func TestIndexSearchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	faces := randomFaces(rng, 80, 6)
	x := buildIndex(t, faces)
	people, n := x.Len()
	if people != 80 || n != len(faces) {
		t.Fatalf("Len = %d, %d; want 80, %d", people, n, len(faces))
	}
	// k = 80 is every person, above 80 is more than there are, and 65 and
	// above take the dense path.
	for _, k := range []int{1, 2, 5, 10, 64, 65, 80, 81, 1000} {
		for range 10 {
			q := randDescriptor(rng)
			if rng.IntN(2) == 0 {
				// A query near a stored face, as a real probe is.
				f := faces[rng.IntN(len(faces))]
				for j := range q {
					q[j] = f.Descriptors[testModel][j] + 0.05*q[j]
				}
			}
			sameMatches(t, fmt.Sprintf("k=%d", k), x.Search(q, k), bruteForce(faces, q, k))
		}
	}
}

// TestIndexSearchParallel uses enough faces for Search to split the scan
// among goroutines, and checks the merge against brute force.
func TestIndexSearchParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the large index in short mode")
	}
	rng := rand.New(rand.NewPCG(21, 21))
	faces := randomFaces(rng, 12000, 5)
	if len(faces) < 2*minRowsPerWorker {
		t.Fatalf("only %d faces: too few to split", len(faces))
	}
	x := buildIndex(t, faces)
	for _, k := range []int{1, 7, 64} {
		for range 3 {
			q := randDescriptor(rng)
			sameMatches(t, fmt.Sprintf("k=%d", k), x.Search(q, k), bruteForce(faces, q, k))
		}
	}
}

// TestIndexOtherDims checks Search and Distance over indexes of
// descriptors of other lengths than 128, down to 1 and up to the limit,
// including lengths the vector kernels cannot split evenly.
func TestIndexOtherDims(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 29))
	for _, dim := range []int{1, 3, 17, 512, MaxDescriptorSize} {
		faces := randomFacesN(rng, 20, 3, dim)
		x := newIndex(dim)
		buildIndexInto(t, x, faces)
		if x.Dim() != dim {
			t.Fatalf("Dim = %d, want %d", x.Dim(), dim)
		}
		for _, k := range []int{1, 5, 65} {
			q := randDescriptorN(rng, dim)
			sameMatches(t, fmt.Sprintf("dim %d, k=%d", dim, k), x.Search(q, k), bruteForce(faces, q, k))
		}
		// At dim 1 unit descriptors are ±1, so faces tie: the brute force
		// says which one wins.
		f := faces[0]
		own := slices.DeleteFunc(slices.Clone(faces), func(o Face) bool { return o.PersonID != f.PersonID })
		want := bruteForce(own, f.Descriptors[testModel], 1)[0]
		if m, ok := x.Distance(f.PersonID, f.Descriptors[testModel]); !ok || m != want || m.Distance != 0 {
			t.Errorf("dim %d: Distance to a stored face = %+v, %v; want %+v", dim, m, ok, want)
		}
		// A query or a face of another length is refused, as the rows
		// would be misread.
		other := randDescriptorN(rng, dim+1)
		if m := x.Search(other, 3); m != nil {
			t.Errorf("dim %d: Search with %d values gave %v", dim, len(other), m)
		}
		if _, ok := x.Distance(f.PersonID, other); ok {
			t.Errorf("dim %d: Distance with %d values", dim, len(other))
		}
		if err := x.Add(indexFace(-1, "x", other)); !errors.Is(err, ErrInvalid) {
			t.Errorf("dim %d: Add of %d values: %v, want ErrInvalid", dim, len(other), err)
		}
	}
}

func TestIndexEmptyAndBadQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	x := newIndex(testDim)
	if m := x.Search(randDescriptor(rng), 5); m != nil {
		t.Errorf("empty index: %v", m)
	}
	buildIndexInto(t, x, randomFaces(rng, 3, 2))
	q := randDescriptor(rng)
	if m := x.Search(q, 0); m != nil {
		t.Errorf("k = 0: %v", m)
	}
	if m := x.Search(q, -1); m != nil {
		t.Errorf("k = -1: %v", m)
	}
	if m := x.Search(q[:10], 3); m != nil {
		t.Errorf("short query: %v", m)
	}
	if m := x.Search(append(slices.Clone(q), 0), 3); m != nil {
		t.Errorf("long query: %v", m)
	}
	bad := slices.Clone(q)
	bad[3] = float32(math.NaN())
	if m := x.Search(bad, 3); m != nil {
		t.Errorf("NaN query: %v", m)
	}
	if m := x.Search(q, 10); len(m) != 3 {
		t.Errorf("k = 10 over 3 people gave %d matches", len(m))
	}
}

func buildIndexInto(t *testing.T, x *searchIndex, faces []Face) {
	t.Helper()
	for _, f := range faces {
		if err := x.Add(f); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIndexAddErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	x := newIndex(testDim)
	good := indexFace(1, "a", randDescriptor(rng))
	if err := x.Add(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Face{
		"duplicate face": good,
		"no person":      indexFace(2, "", randDescriptor(rng)),
		"short":          indexFace(3, "b", make([]float32, 5)),
		"long":           indexFace(4, "b", make([]float32, testDim+1)),
		"nil":            indexFace(5, "b", nil),
		"infinite":       indexFace(6, "b", append(make([]float32, testDim-1), float32(math.Inf(1)))),
		"no descriptors": {ID: 7, PersonID: "b"},
		// The index holds one model's descriptors; picking one of several
		// is the Gallery's job.
		"two descriptors": {ID: 8, PersonID: "b", Descriptors: map[string][]float32{
			testModel: randDescriptor(rng), "other@2": randDescriptor(rng)}},
	}
	for what, f := range bad {
		if err := x.Add(f); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add with %s: %v, want ErrInvalid", what, err)
		}
	}
	if p, n := x.Len(); p != 1 || n != 1 {
		t.Errorf("after refused adds Len = %d, %d; want 1, 1", p, n)
	}
	// The index keeps its own copy of the descriptor.
	good.Descriptors[testModel][0] = 100
	if m := x.Search(good.Descriptors[testModel], 1); m[0].Distance < 50 {
		t.Error("the index shares the caller's descriptor slice")
	}
}

// TestIndexTies checks that equal distances are ranked by face ID, and a
// person's match is their lowest-ID face among equally near ones, in both
// the list and the dense path and whatever the insertion order.
func TestIndexTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	d := randDescriptor(rng)
	faces := []Face{indexFace(30, "c", d), indexFace(10, "a", d), indexFace(40, "b", d), indexFace(20, "b", d)}
	want := []Match{{"a", 10, 0}, {"b", 20, 0}, {"c", 30, 0}}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
		x := newIndex(testDim)
		for _, i := range order {
			if err := x.Add(faces[i]); err != nil {
				t.Fatal(err)
			}
		}
		if got := x.Search(d, 3); !slices.Equal(got, want) {
			t.Errorf("order %v: Search = %v, want %v", order, got, want)
		}
		if got := x.Search(d, 2); !slices.Equal(got, want[:2]) {
			t.Errorf("order %v: Search k=2 = %v, want %v", order, got, want[:2])
		}
		if got := x.searchDense(d, 3); !slices.Equal(got, want) {
			t.Errorf("order %v: searchDense = %v, want %v", order, got, want)
		}
	}
}

// TestIndexTiesAcrossWorkers puts equally near faces at both ends of an
// index large enough to be split among goroutines.
func TestIndexTiesAcrossWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the large index in short mode")
	}
	rng := rand.New(rand.NewPCG(25, 25))
	faces := randomFaces(rng, 2*minRowsPerWorker+100, 1)
	d := randDescriptor(rng)
	// The first row and the last row hold d, under face IDs that put the
	// last one first.
	faces[0] = indexFace(-2, "first-row", d)
	faces[len(faces)-1] = indexFace(-5, "last-row", d)
	x := buildIndex(t, faces)
	got := x.Search(d, 2)
	want := []Match{{"last-row", -5, 0}, {"first-row", -2, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("Search = %v, want %v", got, want)
	}
}

func TestIndexRemovePerson(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 26))
	faces := randomFaces(rng, 60, 5)
	x := buildIndex(t, faces)
	live := slices.Clone(faces)
	removed := map[string]bool{}
	for round := range 40 {
		victim := live[rng.IntN(len(live))].PersonID
		if !x.RemovePerson(victim) {
			t.Fatalf("RemovePerson(%s) found nobody", victim)
		}
		removed[victim] = true
		live = slices.DeleteFunc(live, func(f Face) bool { return f.PersonID == victim })
		// Re-adding under a new person reuses the freed slot.
		if round%4 == 0 {
			f := indexFace(int64(10000+round), fmt.Sprintf("new%d", round), randDescriptor(rng))
			if err := x.Add(f); err != nil {
				t.Fatal(err)
			}
			live = append(live, f)
		}
		q := randDescriptor(rng)
		sameMatches(t, fmt.Sprintf("round %d", round), x.Search(q, 100), bruteForce(live, q, 100))
		people := map[string]bool{}
		for _, f := range live {
			people[f.PersonID] = true
		}
		if p, n := x.Len(); p != len(people) || n != len(live) {
			t.Fatalf("round %d: Len = %d, %d; want %d, %d", round, p, n, len(people), len(live))
		}
	}
	if x.RemovePerson("nobody") {
		t.Error("RemovePerson of an unknown id reported a removal")
	}
	for id := range removed {
		if _, ok := x.Distance(id, randDescriptor(rng)); ok {
			t.Errorf("removed person %s still has a distance", id)
		}
	}
}

func TestIndexDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 27))
	faces := randomFaces(rng, 10, 4)
	x := buildIndex(t, faces)
	for range 20 {
		q := randDescriptor(rng)
		p := faces[rng.IntN(len(faces))].PersonID
		var own []Face
		for _, f := range faces {
			if f.PersonID == p {
				own = append(own, f)
			}
		}
		got, ok := x.Distance(p, q)
		want := bruteForce(own, q, 1)[0]
		if !ok || got.FaceID != want.FaceID || math.Abs(got.Distance-want.Distance) > 1e-5 {
			t.Fatalf("Distance(%s) = %+v, %v; want %+v", p, got, ok, want)
		}
	}
	if _, ok := x.Distance("nobody", randDescriptor(rng)); ok {
		t.Error("Distance of an unknown person")
	}
	if _, ok := x.Distance(faces[0].PersonID, make([]float32, 3)); ok {
		t.Error("Distance with a short query")
	}
}

// TestIndexConcurrent mixes searches, adds and removals; run it with -race.
func TestIndexConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 28))
	x := buildIndex(t, randomFaces(rng, 50, 3))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 28))
			for i := range 200 {
				switch i % 3 {
				case 0:
					x.Add(indexFace(int64(1e6*(g+1)+i), fmt.Sprintf("g%d-%d", g, i), randDescriptor(r)))
				case 1:
					x.RemovePerson(fmt.Sprintf("g%d-%d", g, i-1))
				default:
					if m := x.Search(randDescriptor(r), 5); len(m) != 5 {
						t.Errorf("search gave %d matches", len(m))
					}
				}
			}
		})
	}
	wg.Wait()
}
