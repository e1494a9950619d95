package server

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed authentication is limited per client address, so that guessing
// keys costs time: each address may fail authFailBurst times at once, and
// regains one attempt every authFailRefill. An address that has used them
// up is answered 429 before its key is even looked at, whatever the key,
// until it has regained one.
const (
	authFailBurst  = 10
	authFailRefill = time.Second
	// authLogEvery is how often the failures of one address are logged,
	// as one line with their count rather than a line each.
	authLogEvery = time.Minute
	// authMaxClients bounds the addresses remembered; past it the oldest
	// entries are dropped, so a flood of addresses cannot grow memory.
	authMaxClients = 10000
)

// authLimiter is a token bucket of failed authentications per client
// address.
type authLimiter struct {
	mu      sync.Mutex
	clients map[string]*authClient
	now     func() time.Time // tests move the clock
	log     *slog.Logger
}

type authClient struct {
	bucket
	failures int // since the last log line
	logged   time.Time
}

// authFailRate is the attempts a second an address regains.
var authFailRate = 1 / authFailRefill.Seconds()

func newAuthLimiter(log *slog.Logger) *authLimiter {
	return &authLimiter{clients: map[string]*authClient{}, now: time.Now, log: log}
}

// clientOf is the address requests are limited by: the peer's IP.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allowed reports whether the client may try a key now; when not, wait is
// how long until it may.
func (l *authLimiter) allowed(client string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[client]
	if c == nil {
		return true, 0
	}
	l.refill(c)
	if c.tokens >= 1 {
		return true, 0
	}
	return false, c.wait(authFailRate)
}

// failed records a failed authentication of client, and logs the client's
// failures at most once per authLogEvery.
func (l *authLimiter) failed(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[client]
	if c == nil {
		if len(l.clients) >= authMaxClients {
			l.evict()
		}
		c = &authClient{bucket: bucket{tokens: authFailBurst, last: l.now()}}
		l.clients[client] = c
	}
	l.refill(c)
	c.tokens = max(c.tokens-1, 0)
	c.failures++
	if now := l.now(); now.Sub(c.logged) >= authLogEvery {
		l.log.Warn("failed authentication", "remote", client, "failures", c.failures, "since", c.logged.Format(time.RFC3339))
		c.failures, c.logged = 0, now
	}
}

// refill brings c's tokens up to date; l.mu is held.
func (l *authLimiter) refill(c *authClient) { c.bucket.refill(l.now(), authFailRate, authFailBurst) }

// evict drops the clients whose buckets are full again (they are as if
// new), or, if none is, half of them; l.mu is held.
func (l *authLimiter) evict() {
	for k, c := range l.clients {
		l.refill(c)
		if c.tokens >= authFailBurst {
			delete(l.clients, k)
		}
	}
	for k := range l.clients {
		if len(l.clients) < authMaxClients/2 {
			break
		}
		delete(l.clients, k)
	}
}
