package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeSecurityFlags: a bad --rate-limit or a half TLS pair fails at
// once, before the models load, with a message naming the flag.
func TestServeSecurityFlags(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("FACEREC_API_KEY", "")
	db := filepath.Join(t.TempDir(), "g.db")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate-limit", "5/d"}, "--rate-limit"},
		{[]string{"--rate-limit", "fast"}, "--rate-limit"},
		{[]string{"--tls-cert", missing}, "go together"},
		{[]string{"--tls-key", missing}, "go together"},
		{[]string{"--tls-cert", missing, "--tls-key", missing}, "--tls-cert/--tls-key"},
	} {
		_, err := runCommand(t, serveCmd(), "", append([]string{"--db", db, "--addr", "127.0.0.1:0"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v, want an error about %s", c.args, err, c.want)
		}
	}
}
