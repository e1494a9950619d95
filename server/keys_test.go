package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facerec/facerec/server"
)

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "gallery.db.keys.json")
	key, info, err := server.CreateKey(path, server.ScopeRecognize)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, server.KeyPrefix) || len(key) != len(server.KeyPrefix)+43 {
		t.Errorf("key %q: want %s and 43 base64url characters (32 random bytes)", key, server.KeyPrefix)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keys file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(key))
	if strings.Contains(string(data), key) || !strings.Contains(string(data), hex.EncodeToString(sum[:])) {
		t.Errorf("the keys file must hold the key's SHA-256 and not the key:\n%s", data)
	}

	keys, err := server.NewKeys("", path)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := keys.Scope(key); !ok || s != server.ScopeRecognize {
		t.Errorf("Scope(created key) = %q, %v", s, ok)
	}
	for _, bad := range []string{"", key + "x", key[:len(key)-1], hex.EncodeToString(sum[:])} {
		if _, ok := keys.Scope(bad); ok {
			t.Errorf("Scope(%q) accepted", bad)
		}
	}

	// A key created later is seen without reopening; a revoked one is not.
	full, _, err := server.CreateKey(path, server.ScopeFull)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := keys.Scope(full); !ok || s != server.ScopeFull {
		t.Errorf("Scope(later key) = %q, %v", s, ok)
	}
	list, err := server.ListKeys(path)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListKeys = %v, %v; want 2 keys", list, err)
	}
	if _, err := server.RevokeKey(path, info.ID[:6]); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Scope(key); ok {
		t.Error("revoked key still accepted")
	}
	if _, ok := keys.Scope(full); !ok {
		t.Error("the other key was revoked too")
	}
	if _, err := server.RevokeKey(path, info.ID); err == nil {
		t.Error("revoking a revoked key succeeded")
	}

	if _, _, err := server.CreateKey(path, "admin"); err == nil {
		t.Error("CreateKey with an unknown scope succeeded")
	}
	if _, err := server.ParseScope("everything"); err == nil {
		t.Error(`ParseScope("everything") succeeded`)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := server.NewKeys("", path); err == nil {
		t.Error("NewKeys on a corrupt keys file succeeded")
	}
	// A running server keeps the keys it had when the file goes bad.
	if _, ok := keys.Scope(full); !ok {
		t.Error("a corrupt keys file dropped the keys in use")
	}
}

func TestKeysTakeEffectWhileServing(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	newKey, info, err := server.CreateKey(h.keysPath, server.ScopeFull)
	if err != nil {
		t.Fatal(err)
	}
	h.do(http.MethodGet, "/v1/people", newKey, "", nil).decode(t, http.StatusOK, &struct{}{})
	if _, err := server.RevokeKey(h.keysPath, info.ID); err != nil {
		t.Fatal(err)
	}
	h.do(http.MethodGet, "/v1/people", newKey, "", nil).wantError(t, http.StatusUnauthorized, server.CodeUnauthorized)
	// The master key from the environment does not live in the file.
	h.do(http.MethodGet, "/v1/people", masterKey, "", nil).decode(t, http.StatusOK, &struct{}{})
}

// TestKeyGuessingIsLimited: an address that keeps sending wrong keys is
// answered 429 with Retry-After after authFailBurst failures, even with the
// right key, until it has waited; the failures are logged as one line, not
// one per request; other endpoints' logging is unchanged.
func TestKeyGuessingIsLimited(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}})
	statuses := map[int]int{}
	var retry string
	for i := 0; i < 30; i++ {
		r := h.do(http.MethodGet, "/v1/people", fmt.Sprintf("frk_wrong%d", i), "", nil)
		statuses[r.status]++
		if r.status == http.StatusTooManyRequests {
			retry = r.header.Get("Retry-After")
		}
	}
	if statuses[http.StatusUnauthorized] != 10 || statuses[http.StatusTooManyRequests] != 20 || retry == "" {
		t.Errorf("30 wrong keys: %v (Retry-After %q); want 10 × 401 then 429 with Retry-After", statuses, retry)
	}
	if r := h.do(http.MethodGet, "/v1/people", h.fullKey, "", nil); r.status != http.StatusTooManyRequests {
		t.Errorf("the right key from a blocked address: %d, want 429 until it has waited", r.status)
	}
	if n := strings.Count(logs.String(), "failed authentication"); n != 1 {
		t.Errorf("%d log lines about failed authentication, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "status=401") {
		t.Errorf("each 401 was logged at INFO:\n%s", logs.String())
	}
	time.Sleep(1100 * time.Millisecond) // one attempt regained
	if r := h.do(http.MethodGet, "/v1/people", h.fullKey, "", nil); r.status != http.StatusOK {
		t.Errorf("the right key after a second: %d, want 200", r.status)
	}
}

// TestWeakMasterKeyWarned: a master key a guesser could find (short, or of
// few different characters) is accepted
// (refusing it would lock existing doors out) but warned about.
func TestWeakMasterKeyWarned(t *testing.T) {
	for _, c := range []struct {
		master string
		warned bool
	}{{"1234567", true}, {"aaaaaaaaaaaaaaaaaaaaaaaaaaaa", true}, {"passwordpassword", true}, {"frk_0123456789abcdef0123", false}} {
		var logs bytes.Buffer
		keys, err := server.NewKeys(c.master, "")
		if err != nil {
			t.Fatal(err)
		}
		_ = newHarness(t, harnessOptions{cfg: func(cfg *server.Config) {
			cfg.Keys = keys
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		}})
		if got := strings.Contains(logs.String(), "master key"); got != c.warned {
			t.Errorf("master key of %d characters: warned %v, want %v (%s)", len(c.master), got, c.warned, logs.String())
		}
	}
}
