// Package parallel runs independent pieces of work on every core: the one
// worker pool of facerec, so that each caller does not hand-write its own.
package parallel

import (
	"context"
	"runtime"
	"sync"
)

// For calls fn(i) for every i in [0, n) on up to workers goroutines
// (GOMAXPROCS when workers < 1) and waits for them. Indices are handed out
// in order, one at a time, so uneven work balances itself. Once ctx is done
// no further index is handed out and For returns ctx.Err() after the calls
// in flight have returned; fn should check ctx itself if one call is long.
// With one worker, or n == 1, fn runs on the calling goroutine.
func For(ctx context.Context, n, workers int, fn func(i int)) error {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			fn(i)
		}
		return ctx.Err()
	}
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || ctx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range workers {
		wg.Go(func() {
			for i, ok := take(); ok; i, ok = take() {
				fn(i)
			}
		})
	}
	wg.Wait()
	if next < n {
		return ctx.Err()
	}
	return nil
}
