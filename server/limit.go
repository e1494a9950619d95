package server

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// limiter bounds the recognitions in progress. Recognition is CPU-bound, so
// running more at once than there are cores only makes each one slower;
// a request that finds every slot taken waits a little for one, and is
// turned away with 503 busy when the wait runs out or too many are already
// waiting. The queue is therefore bounded both in length and in time.
type limiter struct {
	slots      chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
	wait       time.Duration
	inFlight   atomic.Int64
	rejected   atomic.Int64
}

func newLimiter(slots, maxWaiting int, wait time.Duration) *limiter {
	return &limiter{slots: make(chan struct{}, slots), maxWaiting: int64(maxWaiting), wait: wait}
}

// errBusy is the client's answer when no slot freed up in time.
var errBusy = &apiError{
	status: http.StatusServiceUnavailable, code: CodeBusy,
	message: "every recognition slot is taken; retry shortly", retryAfter: 1,
}

// acquire takes a slot; the caller must release it.
func (l *limiter) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		l.inFlight.Add(1)
		return nil
	default:
	}
	if l.waiting.Add(1) > l.maxWaiting {
		l.waiting.Add(-1)
		l.rejected.Add(1)
		return errBusy
	}
	defer l.waiting.Add(-1)
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		l.inFlight.Add(1)
		return nil
	case <-t.C:
		l.rejected.Add(1)
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) release() {
	l.inFlight.Add(-1)
	<-l.slots
}
