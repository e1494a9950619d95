package gallery

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/facerec/facerec/tensor/vec"
)

// Match is one search result: a person, the face of theirs nearest to the
// query, and its Euclidean distance.
type Match struct {
	PersonID string  `json:"person_id"`
	FaceID   int64   `json:"face_id"`
	Distance float64 `json:"distance"`
}

// searchIndex is an in-memory matrix of descriptors with their face and person
// IDs, searched by brute force: at 512 bytes a 128-d face, scanning a million
// faces is a memory-bandwidth-bound pass of a few tens of milliseconds, and
// exact, so no approximate structure is needed at the sizes facerec serves.
//
// A searchIndex is safe for concurrent use: searches share a read lock, changes
// take the write lock. It does not know about models; Gallery keeps one
// index per model.
type searchIndex struct {
	mu  sync.RWMutex
	dim int // values per descriptor
	// data holds the descriptors row by row; row i belongs to face
	// faceIDs[i] of the person in slot owner[i].
	data    []float32
	faceIDs []int64
	owner   []int32
	// people is indexed by slot; a slot of a removed person is free (id
	// "") until reused.
	people []indexPerson
	slots  map[string]int32
	free   []int32
	// compact mirrors data in int8 for the first pass of large searches;
	// compactFrom is the size from which Search uses it (compactMinRows;
	// tests lower it).
	compact     compactRows
	compactFrom int
}

// indexPerson is a person's entry: their ID and the rows of their faces.
type indexPerson struct {
	id   string
	rows []int32
}

// newIndex returns an empty index of descriptors with dim values each.
func newIndex(dim int) *searchIndex {
	return &searchIndex{dim: dim, slots: map[string]int32{}, compactFrom: compactMinRows}
}

// Dim is the length of the index's descriptors.
func (x *searchIndex) Dim() int { return x.dim }

// check validates a descriptor for this index.
func (x *searchIndex) check(d []float32) error {
	if len(d) != x.dim {
		return fmt.Errorf("%w: descriptor has %d values, the index holds %d", ErrInvalid, len(d), x.dim)
	}
	return checkDescriptor(d)
}

// Len returns the number of people and of faces in the index.
func (x *searchIndex) Len() (people, faces int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.slots), len(x.faceIDs)
}

// Add adds a face. It must hold exactly one descriptor, the index's model's;
// the descriptor is copied. It fails (ErrInvalid) on a descriptor
// checkDescriptor rejects or of another length than Dim, an empty person
// ID, or a face ID the person already has in the index.
func (x *searchIndex) Add(f Face) error {
	if len(f.Descriptors) != 1 {
		return fmt.Errorf("gallery: index face %d: %w: %d descriptors, want the index model's one", f.ID, ErrInvalid, len(f.Descriptors))
	}
	var d []float32
	for _, v := range f.Descriptors {
		d = v
	}
	if err := x.check(d); err != nil {
		return fmt.Errorf("gallery: index face %d: %w", f.ID, err)
	}
	if f.PersonID == "" {
		return fmt.Errorf("gallery: index face %d: %w: no person id", f.ID, ErrInvalid)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.hasLocked(f.PersonID, f.ID) {
		return fmt.Errorf("gallery: index face %d: %w: already indexed", f.ID, ErrInvalid)
	}
	x.addLocked(f.PersonID, f.ID, d)
	return nil
}

// has reports whether a person's face is indexed.
func (x *searchIndex) has(personID string, faceID int64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.hasLocked(personID, faceID)
}

// hasLocked reports whether a person's face is indexed; x.mu is held.
func (x *searchIndex) hasLocked(personID string, faceID int64) bool {
	slot, ok := x.slots[personID]
	if !ok {
		return false
	}
	for _, r := range x.people[slot].rows {
		if x.faceIDs[r] == faceID {
			return true
		}
	}
	return false
}

// addLocked appends a checked descriptor (copied) of a face not yet
// indexed; x.mu is held for writing.
func (x *searchIndex) addLocked(personID string, faceID int64, d []float32) {
	slot, ok := x.slots[personID]
	if !ok {
		if n := len(x.free); n > 0 {
			slot = x.free[n-1]
			x.free = x.free[:n-1]
		} else {
			slot = int32(len(x.people))
			x.people = append(x.people, indexPerson{})
		}
		x.people[slot] = indexPerson{id: personID}
		x.slots[personID] = slot
	}
	row := int32(len(x.faceIDs))
	x.data = append(x.data, d...)
	x.compact.add(d)
	x.faceIDs = append(x.faceIDs, faceID)
	x.owner = append(x.owner, slot)
	x.people[slot].rows = append(x.people[slot].rows, row)
}

// RemovePerson removes every face of a person and reports whether there
// were any. Each face row is filled by the last row of the matrix (swap
// removal), so the cost is that of the person's faces, not of the index.
func (x *searchIndex) RemovePerson(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.removeLocked(id)
}

// removeLocked is RemovePerson with x.mu held for writing.
func (x *searchIndex) removeLocked(id string) bool {
	slot, ok := x.slots[id]
	if !ok {
		return false
	}
	rows := x.people[slot].rows
	// Highest rows first: then the last row of the matrix, moved into the
	// hole, never belongs to this person (their higher rows are gone).
	slices.Sort(rows)
	for i := len(rows) - 1; i >= 0; i-- {
		x.removeRow(rows[i])
	}
	delete(x.slots, id)
	x.people[slot] = indexPerson{}
	x.free = append(x.free, slot)
	return true
}

// removeRow fills row r with the last row and shrinks the matrix, updating
// the row list of the moved row's owner.
func (x *searchIndex) removeRow(r int32) {
	last := int32(len(x.faceIDs) - 1)
	if r != last {
		d := x.dim
		copy(x.data[int(r)*d:int(r+1)*d], x.data[int(last)*d:])
		x.compact.move(r, last, d)
		x.faceIDs[r] = x.faceIDs[last]
		x.owner[r] = x.owner[last]
		moved := x.people[x.owner[r]].rows
		for i, v := range moved {
			if v == last {
				moved[i] = r
				break
			}
		}
	}
	x.data = x.data[:int(last)*x.dim]
	x.compact.truncate(int(last), x.dim)
	x.faceIDs = x.faceIDs[:last]
	x.owner = x.owner[:last]
}

// Search returns the k people nearest to q, nearest first: each person's
// distance is the minimum over their faces, and Match.FaceID names the face
// that gave it. Equal distances are ordered by face ID, so results do not
// depend on insertion order or on how the work was split. Fewer than k
// matches come back when the index holds fewer people.
//
// q must pass checkDescriptor and be Dim long; Search returns nil for a q
// that does not,
// as for k < 1 or an empty index.
//
// Search is meant for small k (a shortlist); a k above 64 takes a slower,
// single-threaded path that ranks every person.
func (x *searchIndex) Search(q []float32, k int) []Match {
	if k < 1 || x.check(q) != nil {
		return nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.faceIDs)
	if n == 0 {
		return nil
	}
	k = min(k, len(x.slots))
	if k > maxListK {
		return x.searchDense(q, k)
	}

	// Split the rows among workers only when each gets enough rows to
	// amortize starting it; small galleries are scanned inline.
	workers := min(runtime.GOMAXPROCS(0), n/minRowsPerWorker)
	if n >= x.compactFrom {
		return x.searchCompact(q, k, workers)
	}
	if workers < 2 {
		var t topK
		t.reset(k)
		x.scan(q, 0, n, &t)
		return x.matches(t.c)
	}
	parts := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := n*w/workers, n*(w+1)/workers
		parts[w].reset(k)
		wg.Go(func() { x.scan(q, lo, hi, &parts[w]) })
	}
	wg.Wait()
	// Each worker has its rows' k best people. The overall k best are
	// among them: a person ranked above p overall is ranked above p in the
	// part holding p's nearest face too. Merge, keeping each person's best.
	var all topK
	all.reset(k)
	for _, p := range parts {
		for _, c := range p.c {
			all.offer(c)
		}
	}
	return x.matches(all.c)
}

// maxListK is the largest k kept in a sorted list (topK); beyond it the
// list's linear scans cost more than ranking every person.
const maxListK = 64

// searchDense keeps every person's best face in an array indexed by slot,
// then sorts the people: O(faces + people·log people) whatever k is.
func (x *searchIndex) searchDense(q []float32, k int) []Match {
	best := make([]cand, len(x.people))
	for i := range best {
		best[i] = cand{d: float32(math.Inf(1)), face: math.MaxInt64, slot: int32(i)}
	}
	var buf [blockRows]float32
	n := len(x.faceIDs)
	for b := 0; b < n; b += blockRows {
		e := min(b+blockRows, n)
		dist := buf[:e-b]
		vec.SquaredL2(q, x.data[b*x.dim:e*x.dim], x.dim, dist)
		for i, d := range dist {
			c := cand{d: d, face: x.faceIDs[b+i], slot: x.owner[b+i]}
			if c.before(best[c.slot]) {
				best[c.slot] = c
			}
		}
	}
	// Keep the occupied slots: free ones have no rows and kept the sentinel.
	live := best[:0]
	for _, c := range best {
		if x.people[c.slot].id != "" {
			live = append(live, c)
		}
	}
	slices.SortFunc(live, cmpCand)
	return x.matches(live[:min(k, len(live))])
}

// minRowsPerWorker is the fewest rows worth a goroutine of its own: 16384
// faces are 8 MiB of descriptors, some milliseconds of scanning.
const minRowsPerWorker = 16384

// blockRows is how many distances scan computes at once: the block of
// distances stays in L1 while the collector reads it.
const blockRows = 256

// scan offers the rows lo..hi-1 to t.
func (x *searchIndex) scan(q []float32, lo, hi int, t *topK) {
	var buf [blockRows]float32
	for b := lo; b < hi; b += blockRows {
		e := min(b+blockRows, hi)
		dist := buf[:e-b]
		vec.SquaredL2(q, x.data[b*x.dim:e*x.dim], x.dim, dist)
		for i, d := range dist {
			// Most rows are farther than the k-th best: reject them with
			// one comparison before building a candidate.
			if len(t.c) == t.k && d > t.c[t.k-1].d {
				continue
			}
			r := b + i
			t.offer(cand{d: d, face: x.faceIDs[r], slot: x.owner[r]})
		}
	}
}

// matches converts candidates to Matches.
func (x *searchIndex) matches(cs []cand) []Match {
	out := make([]Match, len(cs))
	for i, c := range cs {
		out[i] = Match{
			PersonID: x.people[c.slot].id,
			FaceID:   c.face,
			Distance: math.Sqrt(float64(c.d)),
		}
	}
	return out
}

// Distance returns the match of one person's nearest face to q, and false
// when the index holds no face of theirs or q fails checkDescriptor or is
// not Dim long.
func (x *searchIndex) Distance(personID string, q []float32) (Match, bool) {
	if x.check(q) != nil {
		return Match{}, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	slot, ok := x.slots[personID]
	if !ok {
		return Match{}, false
	}
	var t topK
	t.reset(1)
	var d [1]float32
	for _, r := range x.people[slot].rows {
		row := x.data[int(r)*x.dim : int(r+1)*x.dim]
		vec.SquaredL2(q, row, x.dim, d[:])
		t.offer(cand{d: d[0], face: x.faceIDs[r], slot: slot})
	}
	return x.matches(t.c)[0], true
}

// cand is a candidate person: the squared distance of one of their faces.
type cand struct {
	d    float32
	face int64
	slot int32
}

// before orders candidates by distance, then face ID: a total order, since
// face IDs are unique.
func (c cand) before(o cand) bool {
	return c.d < o.d || (c.d == o.d && c.face < o.face)
}

// topK keeps the k best distinct people seen, sorted best first, each with
// their best face so far.
type topK struct {
	k int
	c []cand
}

func (t *topK) reset(k int) {
	t.k = k
	t.c = make([]cand, 0, k)
}

// offer considers a candidate. It keeps the invariant that t.c holds the k
// best people among those offered, with each one's best face: a person
// absent from a full list has no face better than its last entry, so
// dropping the last entry for a better newcomer loses nothing.
//
// The person is looked up by a linear scan of t.c, which beats a map for
// the small k Search is meant for.
func (t *topK) offer(c cand) {
	if len(t.c) == t.k && !c.before(t.c[t.k-1]) {
		return
	}
	for i := range t.c {
		if t.c[i].slot == c.slot {
			if !c.before(t.c[i]) {
				return
			}
			t.c = slices.Delete(t.c, i, i+1)
			break
		}
	}
	if len(t.c) == t.k {
		t.c = t.c[:t.k-1]
	}
	at, _ := slices.BinarySearchFunc(t.c, c, cmpCand)
	t.c = slices.Insert(t.c, at, c)
}

// cmpCand compares candidates in the order of cand.before.
func cmpCand(a, b cand) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}
