package gallery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// storePairs open two handles on one fresh store, as two processes (a
// server and `facerec enroll`, or two API nodes) would.
var storePairs = []struct {
	name string
	open func(t testing.TB) (Store, Store)
}{
	{"sqlite", func(t testing.TB) (Store, Store) {
		path := filepath.Join(t.TempDir(), "gallery.db")
		var s [2]Store
		for i := range s {
			st, err := OpenSQLite(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			s[i] = st
		}
		return s[0], s[1]
	}},
	{"postgres", func(t testing.TB) (Store, Store) {
		u, _ := postgresSchema(t)
		var s [2]Store
		for i := range s {
			st, err := OpenPostgres(context.Background(), u, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			s[i] = st
		}
		return s[0], s[1]
	}},
}

func forEachPair(t *testing.T, test func(t *testing.T, a, b Store)) {
	for _, p := range storePairs {
		t.Run(p.name, func(t *testing.T) {
			a, b := p.open(t)
			test(t, a, b)
		})
	}
}

// topIs reports whether the nearest person to q in g is id, at a distance
// below threshold.
func topIs(t *testing.T, g *Gallery, q []float32, id string) bool {
	t.Helper()
	m, err := g.Search(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	return len(m) == 1 && m[0].PersonID == id && m[0].Distance < threshold
}

// TestSyncFollowsAnotherWriter: what one handle writes, the other's index
// holds after one Sync, change by change: an enrolment, an added face, a
// descriptor of its model put by Adopt-like code, a deletion.
func TestSyncFollowsAnotherWriter(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(15, 1))
		server, writer := openGallery(t, a), openGallery(t, b)
		if n, err := server.Sync(ctx); err != nil || n != 0 {
			t.Fatalf("Sync with nothing new: %d, %v", n, err)
		}

		f := testFace(rng)
		d := f.Descriptors[testModel]
		p, _, err := writer.Enroll(ctx, "Grace Hopper", nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if topIs(t, server, noisy(rng, d, 0.3), p.ID) {
			t.Fatal("the enrolment is searchable before any Sync: the test proves nothing")
		}
		if n, err := server.Sync(ctx); err != nil || n != 1 {
			t.Fatalf("Sync after one enrolment: %d people, %v; want 1", n, err)
		}
		if !topIs(t, server, noisy(rng, d, 0.3), p.ID) {
			t.Fatal("the enrolment made by the other handle is not found after Sync")
		}

		// A second face, far from the first.
		f2 := testFace(rng)
		if _, err := writer.AddFace(ctx, p.ID, f2); err != nil {
			t.Fatal(err)
		}
		d2 := f2.Descriptors[testModel]
		if topIs(t, server, noisy(rng, d2, 0.3), p.ID) {
			t.Fatal("the second face is searchable before Sync")
		}
		if _, err := server.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if !topIs(t, server, noisy(rng, d2, 0.3), p.ID) {
			t.Fatal("the face added by the other handle is not found after Sync")
		}
		if people, faces := server.Size(); people != 1 || faces != 2 {
			t.Fatalf("index holds %d people, %d faces; want 1, 2", people, faces)
		}
		// Syncing again changes nothing (and a change applied twice, here
		// the server's own enrolment, is harmless).
		q, _, err := server.Enroll(ctx, "Alan Turing", nil, testFace(rng))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := server.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if people, faces := server.Size(); people != 2 || faces != 3 {
			t.Fatalf("after its own enrolment and Sync the index holds %d people, %d faces; want 2, 3", people, faces)
		}

		// A rename needs no Sync: names are read from the store.
		if _, err := writer.Rename(ctx, p.ID, "Rear Admiral Hopper"); err != nil {
			t.Fatal(err)
		}
		if got, err := server.Person(ctx, p.ID); err != nil || got.Name != "Rear Admiral Hopper" {
			t.Fatalf("renamed elsewhere: %+v, %v", got, err)
		}

		if err := writer.DeletePerson(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if !topIs(t, server, noisy(rng, d, 0.3), p.ID) {
			t.Fatal("the deletion took effect before Sync: the test proves nothing")
		}
		if _, err := server.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for _, probe := range [][]float32{d, d2} {
			if m, _ := server.Search(probe, 1); len(m) == 1 && m[0].PersonID == p.ID {
				t.Fatalf("the person deleted by the other handle still matches: %+v", m)
			}
		}
		if people, faces := server.Size(); people != 1 || faces != 1 {
			t.Fatalf("after the deletion the index holds %d people, %d faces; want 1, 1 (%s)", people, faces, q.ID)
		}
		if st := server.Feed(); !st.Following || st.Err != nil || st.Change == 0 {
			t.Errorf("feed state %+v", st)
		}
	})
}

// TestSyncReset: when the feed cannot list the changes (here: a position
// the store never had, as after a backup was restored under a running
// node), Sync reloads the whole index and ends equal to a fresh Open.
func TestSyncReset(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(15, 2))
		server, writer := openGallery(t, a), openGallery(t, b)
		var kept []Face
		for i := range 5 {
			p, f, err := writer.Enroll(ctx, "Person", nil, testFace(rng))
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if err := writer.DeletePerson(ctx, p.ID); err != nil {
					t.Fatal(err)
				}
			} else {
				kept = append(kept, f)
			}
		}
		server.setSeen(1 << 40) // beyond the store's newest change
		n, err := server.Sync(ctx)
		if err != nil || n != len(kept) {
			t.Fatalf("Sync from an unknown position: %d people, %v; want a reload of %d", n, err, len(kept))
		}
		for _, f := range kept {
			if !topIs(t, server, f.Descriptors[testModel], f.PersonID) {
				t.Errorf("person %s not found after the reload", f.PersonID)
			}
		}
		if people, faces := server.Size(); people != len(kept) || faces != len(kept) {
			t.Fatalf("after the reload the index holds %d people, %d faces; want %d each", people, faces, len(kept))
		}
		// And the next Sync is incremental again.
		if n, err := server.Sync(ctx); err != nil || n != 0 {
			t.Fatalf("Sync after the reload: %d, %v", n, err)
		}
	})
}

// TestChangesPruned: the feed keeps its newest keepChanges rows; a node
// further behind is told to reload.
func TestChangesPruned(t *testing.T) {
	s := openSQLiteTest(t, Options{})
	ss := sqlOf(t, s)
	ctx := context.Background()
	tx, err := ss.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range keepChanges + keepChanges/16 {
		if err := ss.logChange(ctx, tx, "p"); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "changes"); n > keepChanges+keepChanges/16 || n < keepChanges {
		t.Errorf("%d change rows kept, want %d..%d", n, keepChanges, keepChanges+keepChanges/16)
	}
	c, err := ss.Changes(ctx, 1)
	if err != nil || !c.Reset {
		t.Errorf("changes after a pruned position: %+v, %v; want Reset", c, err)
	}
	c, err = ss.Changes(ctx, c.Last-3)
	if err != nil || c.Reset || len(c.People) != 1 {
		t.Errorf("the last 3 changes: %+v, %v; want person p", c, err)
	}
}

// TestFollowPropagation: a server's gallery following the feed finds a
// person enrolled through another handle, and stops finding them once
// deleted there, within a second. The delays are logged (their benchmark
// is BenchmarkPropagation).
func TestFollowPropagation(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rng := rand.New(rand.NewPCG(15, 3))
		server, writer := openGallery(t, a), openGallery(t, b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			server.Follow(ctx, DefaultFollowInterval, func(err error) {
				if err != nil {
					t.Errorf("follow: %v", err)
				}
			})
		}()
		defer func() { cancel(); <-done }()

		wait := func(what string, ok func() bool) time.Duration {
			start := time.Now()
			for !ok() {
				if time.Since(start) > time.Second {
					t.Fatalf("%s: not visible to the following gallery after 1 s", what)
				}
				time.Sleep(2 * time.Millisecond)
			}
			return time.Since(start)
		}
		f := testFace(rng)
		d := f.Descriptors[testModel]
		start := time.Now()
		p, _, err := writer.Enroll(ctx, "Katherine Johnson", nil, f)
		if err != nil {
			t.Fatal(err)
		}
		wait("enrolment", func() bool { return topIs(t, server, d, p.ID) })
		enrolled := time.Since(start)
		start = time.Now()
		if err := writer.DeletePerson(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		wait("deletion", func() bool { return !topIs(t, server, d, p.ID) })
		t.Logf("enrolment searchable after %v, deletion effective after %v (write included; poll every %v)",
			enrolled.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), DefaultFollowInterval)
	})
}

// BenchmarkPropagation measures the time from the start of an enrolment
// through one handle until the other handle's gallery, following the feed
// at DefaultFollowInterval, finds the person; the write itself is
// included. Each enrolment starts at a random phase of the poll (the wait
// for it is not timed), so mean-ms is what a user sees on average:
// about the write plus half the interval for SQLite, the write plus the
// notification for PostgreSQL.
func BenchmarkPropagation(b *testing.B) {
	for _, p := range storePairs {
		b.Run(p.name, func(b *testing.B) {
			a, w := p.open(b)
			ctx, cancel := context.WithCancel(context.Background())
			server, err := Open(ctx, a, testModel, testDim)
			if err != nil {
				b.Fatal(err)
			}
			writer, err := Open(ctx, w, testModel, testDim)
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); server.Follow(ctx, DefaultFollowInterval, nil) }()
			defer func() { cancel(); <-done }()
			rng := rand.New(rand.NewPCG(15, 4))
			var worst, total time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				time.Sleep(time.Duration(rng.Int64N(int64(DefaultFollowInterval))))
				f := testFace(rng)
				b.StartTimer()
				start := time.Now()
				p, _, err := writer.Enroll(ctx, "Person", nil, f)
				if err != nil {
					b.Fatal(err)
				}
				for {
					m, _ := server.Search(f.Descriptors[testModel], 1)
					if len(m) == 1 && m[0].PersonID == p.ID {
						break
					}
					if time.Since(start) > 5*time.Second {
						b.Fatal("not propagated in 5 s")
					}
					time.Sleep(time.Millisecond)
				}
				d := time.Since(start)
				worst, total, n = max(worst, d), total+d, n+1
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "mean-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
}

// fillStore stores n people of one face each in one transaction (faster
// than n enrolments, each of which waits for its commit to be synced).
func fillStore(b *testing.B, st Store, n int) {
	ss := sqlOf(&testing.T{}, st)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 6))
	tx, err := ss.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for i := range n {
		id := fmt.Sprintf("p%05d", i)
		if _, err := tx.Exec(ss.q[qInsertPerson], id, "P", "{}", int64(i)); err != nil {
			b.Fatal(err)
		}
		if _, err := ss.insertFace(ctx, tx, id, testFace(rng)); err != nil {
			b.Fatal(err)
		}
		if err := ss.logChange(ctx, tx, id); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSyncIdle is the cost of one poll of the change feed when
// nothing changed (what a following node pays every interval), over a
// gallery of 10,000 people.
func BenchmarkSyncIdle(b *testing.B) {
	for _, p := range storePairs {
		b.Run(p.name, func(b *testing.B) {
			a, _ := p.open(b)
			fillStore(b, a, 10000)
			ctx := context.Background()
			g, err := Open(ctx, a, testModel, testDim)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if n, err := g.Sync(ctx); err != nil || n != 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkSyncReload is a full reload of the index (what Sync does when
// the feed cannot list the changes, e.g. a node more than 10,000 changes
// behind) of a gallery of 10,000 people of one 128-value face each.
func BenchmarkSyncReload(b *testing.B) {
	for _, p := range storePairs {
		b.Run(p.name, func(b *testing.B) {
			a, _ := p.open(b)
			fillStore(b, a, 10000)
			ctx := context.Background()
			g, err := Open(ctx, a, testModel, testDim)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				g.setSeen(1 << 40)
				if n, err := g.Sync(ctx); err != nil || n != 10000 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// failingDeletes is a SQLite store whose deletions fail as on a full disk.
type failingDeletes struct{ *SQLite }

func (failingDeletes) DeletePerson(ctx context.Context, id string) error {
	return fmt.Errorf("%w: database or disk is full", ErrUnavailable)
}

// TestSyncKeepsRevokedOut: a person whose deletion the store could not
// make stops matching, and no Sync brings them back (neither a change to
// them made elsewhere nor a full reload) until the deletion is stored.
func TestSyncKeepsRevokedOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gallery.db")
	var s [2]*SQLite
	for i := range s {
		st, err := OpenSQLite(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s[i] = st
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 5))
	server, other := openGallery(t, failingDeletes{s[0]}), openGallery(t, s[1])
	f := testFace(rng)
	d := f.Descriptors[testModel]
	p, _, err := server.Enroll(ctx, "Revoked", nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.DeletePerson(ctx, p.ID); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("deletion on a full disk: %v", err)
	}
	if topIs(t, server, d, p.ID) {
		t.Fatal("matches after the deletion that could not be stored")
	}
	if _, err := other.AddFace(ctx, p.ID, testFace(rng)); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	server.setSeen(1 << 40) // and a full reload
	if _, err := server.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if topIs(t, server, d, p.ID) {
		t.Fatal("Sync brought back a person whose deletion is pending")
	}
	if people, _ := server.Size(); people != 0 {
		t.Fatalf("index holds %d people, want 0", people)
	}
	// Deleted by another node after all: the pending mark goes.
	if err := other.DeletePerson(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if server.isRevoked(p.ID) {
		t.Error("still marked pending after the deletion was stored elsewhere")
	}
}

// TestSyncSkipsABadFace: a face stored elsewhere that this index cannot
// hold (a descriptor of the model's ID but another length) is reported,
// and the changes after it are still applied.
func TestSyncSkipsABadFace(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(15, 8))
		server := openGallery(t, a)
		short := Face{Descriptors: map[string][]float32{testModel: randDescriptorN(rng, testDim/2)}, Score: 0.9}
		if _, _, err := b.Enroll(ctx, "Odd", nil, short); err != nil {
			t.Fatal(err)
		}
		f := testFace(rng)
		p, _, err := b.Enroll(ctx, "Fine", nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := server.Sync(ctx); !errors.Is(err, ErrInvalid) {
			t.Errorf("Sync over a face of the wrong length: %v, want ErrInvalid", err)
		}
		if !topIs(t, server, f.Descriptors[testModel], p.ID) {
			t.Error("the enrolment after the bad face was not applied")
		}
		if n, err := server.Sync(ctx); err != nil || n != 0 {
			t.Errorf("the next Sync: %d, %v; want 0, nil", n, err)
		}
		// A full reload skips it too.
		server.setSeen(1 << 40)
		if n, err := server.Sync(ctx); !errors.Is(err, ErrInvalid) || n != 1 {
			t.Errorf("a reload over the bad face: %d people, %v; want 1 and ErrInvalid", n, err)
		}
		if !topIs(t, server, f.Descriptors[testModel], p.ID) {
			t.Error("the reload lost the good person")
		}
	})
}
