package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files in dir, and returns their paths and the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "facerec test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestTLS: with a certificate and key, Serve answers HTTPS (a client that
// trusts the certificate gets the API) and a plain HTTP request gets no API
// answer; a half-configured or unreadable pair fails New.
func TestTLS(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t, t.TempDir())
	var svc *recognition.Service
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.TLSCertFile, c.TLSKeyFile, svc = certFile, keyFile, c.Service }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+ln.Addr().String()+"/v1/people", nil)
	req.Header.Set("Authorization", "Bearer "+h.fullKey)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("HTTPS: status %d, TLS %+v", resp.StatusCode, resp.TLS)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the TLS server answered %d", resp.StatusCode)
		}
	}

	for _, c := range []struct{ cert, key, want string }{
		{certFile, "", "both"}, {"", keyFile, "both"}, {certFile, certFile, "TLS certificate"},
		{filepath.Join(t.TempDir(), "missing.pem"), keyFile, "TLS certificate"},
	} {
		_, err := server.New(server.Config{Service: svc, TLSCertFile: c.cert, TLSKeyFile: c.key})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with cert %q key %q: %v, want an error about %q", c.cert, c.key, err, c.want)
		}
	}
}
