package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// keyLimiter is a token bucket of requests per API key: each key may make
// burst requests at once and regains rate a second. It bounds what one
// leaked or misbehaving key can make the server do; the recognition slots
// (Config.Concurrency) bound the whole server's work whatever the keys.
type keyLimiter struct {
	rate  float64 // tokens a second
	burst float64
	now   func() time.Time // tests move the clock

	mu   sync.Mutex
	keys map[string]*bucket // by key ID; one entry per configured key, so bounded
}

// bucket is one token bucket's state: its tokens as of last. The owner
// holds the lock and knows the rate and burst.
type bucket struct {
	tokens float64
	last   time.Time
}

// refill brings b up to now at rate tokens a second, at most burst.
func (b *bucket) refill(now time.Time, rate, burst float64) {
	b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*rate, burst)
	b.last = now
}

// wait is how long b takes at rate to hold one token again.
func (b *bucket) wait(rate float64) time.Duration {
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

func newKeyLimiter(rate float64, burst int) *keyLimiter {
	return &keyLimiter{rate: rate, burst: float64(burst), now: time.Now, keys: map[string]*bucket{}}
}

// take spends one token of key id; when there is none it returns false and
// how long until there is one.
func (l *keyLimiter) take(id string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.keys[id]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.keys[id] = b
	}
	b.refill(now, l.rate, l.burst)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, b.wait(l.rate)
}

// ParseRate reads a rate limit such as "5/s", "300/m", "1000/h" or "5"
// (a second), in requests per second; "0" and "off" are 0, no limit.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return 0, nil
	}
	num, unit, hasUnit := strings.Cut(s, "/")
	per := 1.0
	if hasUnit {
		switch unit {
		case "s":
		case "m":
			per = 60
		case "h":
			per = 3600
		default:
			return 0, fmt.Errorf("rate %q: the unit after / must be s, m or h", s)
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("rate %q: want a number of requests per second like 5/s, or off", s)
	}
	return n / per, nil
}
