package gallery

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// notifyChannel is the channel of the NOTIFY every change sends.
const notifyChannel = "facerec_gallery"

var _ waker = (*Postgres)(nil)

// wake implements waker: one pooled connection LISTENs for the changes'
// notifications until ctx is done. A lost connection is reopened after a
// pause; what it missed meanwhile the periodic poll finds.
func (s *Postgres) wake(ctx context.Context) <-chan struct{} {
	c := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			s.listen(ctx, c)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return c
}

// listen holds one connection in LISTEN and signals c at each
// notification, until the connection fails or ctx is done.
func (s *Postgres) listen(ctx context.Context, c chan<- struct{}) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
			return err
		}
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			select {
			case c <- struct{}{}:
			default: // a wake-up is pending already
			}
		}
	})
}
