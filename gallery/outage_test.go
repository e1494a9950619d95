package gallery

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// proxy forwards TCP connections from a loopback port to target until
// stopped, standing in for the network path to a database that can go
// down and come back on the same address.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *proxy) start(t *testing.T) {
	t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
}

// stop closes the listener and cuts every connection: the database is
// unreachable.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestPostgresOutage: with PostgreSQL unreachable, a write fails within
// seconds (no hang) with ErrUnavailable, which the server answers 503 with
// Retry-After, and Check fails; once it is back on the same address, the
// same handles write again and a following node catches up on what was
// written elsewhere meanwhile, without a restart.
func TestPostgresOutage(t *testing.T) {
	base, _ := postgresSchema(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: u.Host}
	p.start(t)
	defer p.stop()
	viaProxy := *u
	viaProxy.Host = p.addr
	ctx := context.Background()
	node, err := OpenPostgres(ctx, viaProxy.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	other, err := OpenPostgres(ctx, base, Options{}) // another node, still connected
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	g, og := openGallery(t, node), openGallery(t, other)
	rng := rand.New(rand.NewPCG(15, 9))
	if _, _, err := g.Enroll(ctx, "Before", nil, testFace(rng)); err != nil {
		t.Fatal(err)
	}

	p.stop()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err = g.Enroll(wctx, "During", nil, testFace(rng))
	took := time.Since(start)
	if !errors.Is(err, ErrUnavailable) || took > 5*time.Second {
		t.Fatalf("enrolment with the database unreachable: %v after %v; want ErrUnavailable within seconds", err, took)
	}
	if err := g.Check(wctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Check with the database unreachable: %v", err)
	}
	if _, err := g.Sync(wctx); err == nil {
		t.Error("Sync with the database unreachable succeeded")
	} else if st := g.Feed(); st.Err == nil {
		t.Errorf("feed state %+v does not name the failure", st)
	}
	// Identification needs the store too (names, and whether a match was
	// deleted elsewhere): its lookups fail the same way, so the server
	// answers 503 rather than admit someone on a stale gallery.
	if _, err := g.Person(wctx, "x"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a person lookup with the database unreachable: %v", err)
	}
	t.Logf("enrolment failed after %v: %v", took.Round(time.Millisecond), err)
	// Meanwhile the other node enrols someone.
	f := testFace(rng)
	op, _, err := og.Enroll(ctx, "Elsewhere", nil, f)
	if err != nil {
		t.Fatal(err)
	}

	p.start(t) // back, on the same address
	var serr error
	for range 50 { // the pool drops its dead connections as it meets them
		if _, serr = g.Sync(ctx); serr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if serr != nil {
		t.Fatalf("Sync after the database came back: %v", serr)
	}
	if !topIs(t, g, f.Descriptors[testModel], op.ID) {
		t.Error("the enrolment made elsewhere during the outage is not found after it")
	}
	if err := g.Check(ctx); err != nil {
		t.Errorf("Check after the database came back: %v", err)
	}
	if _, _, err := g.Enroll(ctx, "After", nil, testFace(rng)); err != nil {
		t.Errorf("enrolment after the database came back: %v", err)
	}
}
