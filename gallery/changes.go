package gallery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The change feed: every writing transaction of a SQL store (enrolment,
// added face, deletion, new descriptor, restore) also appends the ID of
// the person it changed to the changes table, in the same transaction. A
// Gallery remembers the newest change its index reflects; Sync reads the
// people changed since and reloads just them from the store, so an index
// follows the writes of other processes and nodes (see Follow). Renames
// are not logged: the index holds no names, and names are always read
// from the store.

// Changes is what changed in a store after a given change.
type Changes struct {
	// Last is the ID of the newest change, the one to ask after next time.
	Last int64
	// People are the IDs of the people changed (enrolled, given a face or
	// a descriptor, deleted) after the change asked about, up to Last.
	People []string
	// Reset says that the changes are not known one by one (the feed was
	// pruned past them, there were too many, or the store is not the one
	// the caller followed, e.g. a restored backup): reload everything.
	Reset bool
}

// Feed is a store that logs its changes, so that a Gallery can follow the
// writes others make to it. SQLite and Postgres are Feeds.
type Feed interface {
	// Changes returns the changes after change after; after < 0 asks for
	// Last alone (with Reset set).
	Changes(ctx context.Context, after int64) (Changes, error)
}

// Change feed limits.
const (
	// keepChanges is how many changes a store keeps; older ones are
	// pruned as new ones come. A node further behind reloads everything.
	keepChanges = 10000
	// maxChangedPeople is the most changes Sync applies one person at a
	// time; beyond, reloading the whole index is cheaper.
	maxChangedPeople = 2000
)

const (
	qInsertChange = `INSERT INTO changes (person_id) VALUES (?) RETURNING id`
	qPruneChanges = `DELETE FROM changes WHERE id <= ?`
	// Two subqueries: each is one step down the primary key, while
	// min and max in one SELECT scan the table (SQLite).
	qChangeBounds  = `SELECT COALESCE((SELECT MIN(id) FROM changes), 0), COALESCE((SELECT MAX(id) FROM changes), 0)`
	qChangedPeople = `SELECT DISTINCT person_id FROM changes WHERE id > ? AND id <= ?`
	qFacePerson    = `SELECT person_id FROM faces WHERE id = ?`
)

// logChange records, in tx, that a person changed, and prunes the feed.
func (s *sqlStore) logChange(ctx context.Context, tx *sql.Tx, personID string) error {
	if s.d.beforeChange != nil {
		if err := s.d.beforeChange(ctx, tx); err != nil {
			return fmt.Errorf("log change: %w", s.classify(err))
		}
	}
	var id int64
	if err := tx.QueryRowContext(ctx, s.q[qInsertChange], personID).Scan(&id); err != nil {
		return fmt.Errorf("log change: %w", s.classify(err))
	}
	// Pruning every keepChanges/16 changes keeps the table between
	// keepChanges and 1.0625×keepChanges rows at a tiny cost per write.
	if id%(keepChanges/16) == 0 {
		if _, err := tx.ExecContext(ctx, s.q[qPruneChanges], id-keepChanges); err != nil {
			return fmt.Errorf("prune changes: %w", s.classify(err))
		}
	}
	return nil
}

// Changes implements Feed.
func (s *sqlStore) Changes(ctx context.Context, after int64) (Changes, error) {
	// One read transaction, so the bounds and the list agree.
	tx, err := s.r.BeginTx(ctx, s.d.readOpts)
	if err != nil {
		return Changes{}, fmt.Errorf("gallery: changes: begin: %w", s.classify(err))
	}
	defer tx.Rollback()
	var lo, hi int64
	if err := tx.QueryRowContext(ctx, s.q[qChangeBounds]).Scan(&lo, &hi); err != nil {
		return Changes{}, fmt.Errorf("gallery: changes: %w", s.classify(err))
	}
	c := Changes{Last: hi}
	switch {
	case after == hi:
		return c, nil
	case after < 0, after > hi, after+1 < lo, hi-after > maxChangedPeople:
		c.Reset = true
		return c, nil
	}
	rows, err := tx.QueryContext(ctx, s.q[qChangedPeople], after, hi)
	if err != nil {
		return Changes{}, fmt.Errorf("gallery: changes: %w", s.classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return Changes{}, fmt.Errorf("gallery: changes: %w", err)
		}
		c.People = append(c.People, id)
	}
	if err := rows.Err(); err != nil {
		return Changes{}, fmt.Errorf("gallery: changes: %w", s.classify(err))
	}
	return c, nil
}

// FeedState is how a Gallery's index stands with its store's change feed.
type FeedState struct {
	// Following is false when the store keeps no feed: the index then
	// holds what was loaded at Open and the changes made through the
	// Gallery.
	Following bool `json:"following"`
	// Change is the newest change the index reflects.
	Change int64 `json:"change"`
	// Synced is when the index was last found up to date with the store.
	Synced time.Time `json:"synced"`
	// Err is the last Sync's failure (nil after a success).
	Err error `json:"-"`
}

// Feed returns the index's standing with the change feed.
func (g *Gallery) Feed() FeedState {
	g.feedMu.Lock()
	defer g.feedMu.Unlock()
	return FeedState{Following: g.feed != nil, Change: g.seen, Synced: g.synced, Err: g.feedErr}
}

// Sync brings the index up to date with the store's change feed: the
// people changed since the last Sync (or Open) are reloaded from the
// store, one by one, or the whole index when the feed cannot say (see
// Changes.Reset). It returns how many people it reloaded. Without a feed
// (the store is not a Feed) it does nothing.
//
// Sync reads the store's current state of each changed person, so it
// converges whatever order the changes came in, and applying a change
// twice is harmless.
func (g *Gallery) Sync(ctx context.Context) (int, error) {
	if g.feed == nil {
		return 0, nil
	}
	g.syncMu.Lock()
	defer g.syncMu.Unlock()
	n, err := g.sync(ctx)
	g.feedMu.Lock()
	g.feedErr = err
	if err == nil {
		g.synced = time.Now()
	}
	g.feedMu.Unlock()
	return n, err
}

// sync is Sync with g.syncMu held.
func (g *Gallery) sync(ctx context.Context) (int, error) {
	g.feedMu.Lock()
	seen := g.seen
	g.feedMu.Unlock()
	c, err := g.feed.Changes(ctx, seen)
	if err != nil {
		return 0, fmt.Errorf("gallery: sync: %w", err)
	}
	if c.Reset {
		n, err := g.reload(ctx)
		if err != nil && !errors.Is(err, ErrInvalid) {
			return 0, fmt.Errorf("gallery: sync: reload: %w", err)
		}
		g.setSeen(c.Last)
		if err != nil {
			return n, fmt.Errorf("gallery: sync: reload: %w", err)
		}
		return n, nil
	}
	var bad []error
	for i, id := range c.People {
		err := g.reloadPerson(ctx, id)
		if errors.Is(err, ErrInvalid) {
			// A stored face this index cannot hold: the person's other
			// faces are in; say so, but do not hold up every later change.
			bad = append(bad, fmt.Errorf("gallery: sync person %s: %w", id, err))
			continue
		}
		if err != nil {
			// The people before i are done; the next Sync redoes them all,
			// which is harmless.
			return i, fmt.Errorf("gallery: sync person %s: %w", id, err)
		}
	}
	g.setSeen(c.Last)
	return len(c.People), errors.Join(bad...)
}

// setRevoked records that a person's deletion could not be stored (on) or
// has been (off).
func (g *Gallery) setRevoked(id string, on bool) {
	g.feedMu.Lock()
	defer g.feedMu.Unlock()
	if !on {
		delete(g.revoked, id)
		return
	}
	if g.revoked == nil {
		g.revoked = map[string]bool{}
	}
	g.revoked[id] = true
}

// isRevoked reports whether a person's deletion is pending.
func (g *Gallery) isRevoked(id string) bool {
	g.feedMu.Lock()
	defer g.feedMu.Unlock()
	return g.revoked[id]
}

func (g *Gallery) setSeen(last int64) {
	g.feedMu.Lock()
	g.seen = last
	g.feedMu.Unlock()
}

// reloadPerson replaces a person's faces in the index by those the store
// holds now (none when the person is gone).
func (g *Gallery) reloadPerson(ctx context.Context, id string) error {
	mu := g.lock(id)
	mu.Lock()
	defer mu.Unlock()
	faces, err := g.store.PersonFaces(ctx, id, false)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if errors.Is(err, ErrNotFound) {
		g.setRevoked(id, false) // deleted after all, maybe by another node
	} else if g.isRevoked(id) {
		faces = nil // their deletion is pending here: keep them out
	}
	x := g.index
	// Check before taking the index's lock: searches are not held up by
	// a bad stored descriptor.
	keep := faces[:0]
	var bad error
	for _, f := range faces {
		if d, ok := f.Descriptors[g.model]; ok {
			if err := x.check(d); err != nil {
				bad = fmt.Errorf("face %d not indexed: %w", f.ID, err)
				continue
			}
			keep = append(keep, f)
		}
	}
	// One write lock for the removal and the additions, so no search sees
	// the person missing in between.
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
	for _, f := range keep {
		x.addLocked(id, f.ID, f.Descriptors[g.model])
	}
	return bad
}

// reload rebuilds the whole index from the store and swaps it in; it
// returns the number of people indexed. Faces of other models are skipped
// (Open has reported them).
func (g *Gallery) reload(ctx context.Context) (int, error) {
	y := newIndex(g.Dim())
	var bad []error
	err := g.store.Faces(ctx, func(f Face) error {
		d, ok := f.Descriptors[g.model]
		if !ok || g.isRevoked(f.PersonID) {
			return nil
		}
		if err := y.Add(Face{ID: f.ID, PersonID: f.PersonID, Descriptors: map[string][]float32{g.model: d}}); err != nil {
			bad = append(bad, err) // as in sync: skipped and reported
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	x := g.index
	x.mu.Lock()
	x.data, x.faceIDs, x.owner = y.data, y.faceIDs, y.owner
	x.people, x.slots, x.free = y.people, y.slots, y.free
	x.compact = y.compact
	x.mu.Unlock()
	return len(y.slots), errors.Join(bad...)
}

// Follow runs Sync every interval (and at once when the store signals a
// change, as PostgreSQL does through LISTEN/NOTIFY) until ctx is done. A
// failed Sync is passed to report (which may be nil) and retried at the
// next tick; report gets nil once a Sync succeeds again. Follow returns at
// once when the store keeps no feed.
func (g *Gallery) Follow(ctx context.Context, interval time.Duration, report func(error)) {
	if g.feed == nil {
		return
	}
	var wake <-chan struct{}
	if w, ok := g.store.(waker); ok {
		wake = w.wake(ctx)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		_, err := g.Sync(ctx)
		if ctx.Err() != nil {
			return
		}
		if report != nil && (err != nil || failing) {
			report(err)
		}
		failing = err != nil
	}
}

// waker is a store that signals changes made by others as they commit.
type waker interface {
	// wake returns a channel that receives soon after another
	// connection's change commits, until ctx is done.
	wake(ctx context.Context) <-chan struct{}
}

// DefaultFollowInterval is how often a server polls its store's change
// feed: one cheap indexed query (min and max of the changes' IDs), so a
// change made elsewhere is searchable within about this time.
const DefaultFollowInterval = 250 * time.Millisecond
