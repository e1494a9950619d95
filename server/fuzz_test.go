package server

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
)

// fuzzRecognizer sees one face in every photo, described by its first
// pixel, so that requests get all the way to the gallery.
type fuzzRecognizer struct{}

func (fuzzRecognizer) Faces(_ context.Context, img image.Image) ([]face.Face, error) {
	r, _, _, _ := img.At(img.Bounds().Min.X, img.Bounds().Min.Y).RGBA()
	v := make([]float32, 4)
	v[r%4] = 1
	return []face.Face{{Box: face.Rect{W: 10, H: 10}, Score: 0.9, Descriptor: face.Descriptor{Model: "fuzz@1", Vector: v}}}, nil
}

func (f fuzzRecognizer) Subject(ctx context.Context, img image.Image) (face.Face, error) {
	fs, err := f.Faces(ctx, img)
	return fs[0], err
}

// fuzzServers are the servers a fuzzer sends to: one without keys (which
// answers only loopback hosts) and one with a full and a recognize key,
// both on one gallery holding one person, whose ID replaces {id} in the
// routes.
type fuzzServers struct {
	keyless, keyed *Server
	full, rec, id  string
}

func newFuzzServers(f *testing.F) *fuzzServers {
	store, err := gallery.OpenSQLite(filepath.Join(f.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	g, err := gallery.Open(context.Background(), store, "fuzz@1", 4)
	if err != nil {
		f.Fatal(err)
	}
	svc, err := recognition.New(recognition.Config{Recognizer: fuzzRecognizer{}, Gallery: g,
		Decision: face.Rule{Threshold: face.Threshold{Model: "fuzz@1", Metric: face.Euclidean, Max: 0.5}}})
	if err != nil {
		f.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fs := &fuzzServers{full: "frk_fuzz-master-key-0123456789"}
	if fs.keyless, err = New(Config{Service: svc, Logger: quiet, MaxBodyBytes: 1 << 20, HistorySize: 8}); err != nil {
		f.Fatal(err)
	}
	keysPath := filepath.Join(f.TempDir(), "keys.json")
	if fs.rec, _, err = CreateKey(keysPath, ScopeRecognize); err != nil {
		f.Fatal(err)
	}
	keys, err := NewKeys(fs.full, keysPath)
	if err != nil {
		f.Fatal(err)
	}
	if fs.keyed, err = New(Config{Service: svc, Keys: keys, Logger: quiet, MaxBodyBytes: 1 << 20, HistorySize: 8}); err != nil {
		f.Fatal(err)
	}
	var png1 bytes.Buffer
	png.Encode(&png1, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/v1/people?name=Fuzzed", bytes.NewReader(png1.Bytes()))
	req.Header.Set("Content-Type", "image/png")
	rec := httptest.NewRecorder()
	fs.keyless.ServeHTTP(rec, req)
	var p struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.ID == "" {
		f.Fatalf("enrolling the fuzzers' person: %d %s", rec.Code, rec.Body.String())
	}
	fs.id = p.ID
	return fs
}

// send serves one request as caller who%4: 0 the keyless server from
// loopback, 1 the full key, 2 the recognize key, 3 no key (on the keyed
// server); auth, when not empty, replaces the Authorization header.
func (fs *fuzzServers) send(who uint8, method, path, query, contentType, auth string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL.Path, req.URL.RawQuery = strings.ReplaceAll(path, "{id}", fs.id), query
	req.Host = "127.0.0.1:8080"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	srv := fs.keyed
	switch who % 4 {
	case 0:
		srv = fs.keyless
	case 1:
		req.Header.Set("Authorization", "Bearer "+fs.full)
	case 2:
		req.Header.Set("Authorization", "Bearer "+fs.rec)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// fuzzRoutes are every endpoint's methods, and a few that are not allowed.
var fuzzRoutes = []struct{ method, path string }{
	{http.MethodPost, "/v1/people"}, {http.MethodGet, "/v1/people"}, {http.MethodPost, "/v1/identify"},
	{http.MethodPost, "/v1/verify"}, {http.MethodPost, "/v1/people/{id}/faces"}, {http.MethodDelete, "/v1/people/{id}"},
	{http.MethodGet, "/v1/people/{id}"}, {http.MethodGet, "/healthz"}, {http.MethodGet, "/readyz"},
	{http.MethodPost, "/v1/compare"}, {http.MethodPatch, "/v1/people/{id}"}, {http.MethodGet, "/v1/history"},
	{http.MethodGet, "/v1/info"}, {http.MethodGet, "/openapi.json"}, {http.MethodPost, "/v1/analyze"},
	{http.MethodGet, "/metrics"}, {http.MethodPatch, "/v1/people/x"}, {http.MethodPost, "/v1/people/x/faces"},
	{http.MethodPut, "/v1/people"}, {http.MethodGet, "/v1/nothing"},
}

// FuzzRequests sends arbitrary bodies, content types and query strings to
// every endpoint, as each kind of caller: the server must answer each with
// a status below 500 (503 busy or unavailable aside) and, for the API, a
// JSON body; a panic or a server fault is a failure. A recognize key or no
// key must never be let into an endpoint that needs more.
//
//	go test -run '^$' -fuzz '^FuzzRequests$' -fuzztime 30s ./server/
func FuzzRequests(f *testing.F) {
	fs := newFuzzServers(f)
	var png1 bytes.Buffer
	png.Encode(&png1, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("name", "Alice")
	mw.WriteField("person_id", fs.id)
	mw.WriteField("face", "0")
	for _, name := range []string{"photo", "photo1", "photo2"} {
		w, _ := mw.CreateFormFile(name, "a.png")
		w.Write(png1.Bytes())
	}
	mw.Close()
	ct := mw.FormDataContentType()
	for i := range fuzzRoutes {
		who := uint8(i % 4)
		f.Add(uint8(i), who, ct, "", mp.Bytes())
		f.Add(uint8(i), who+1, "multipart/form-data; boundary=x", "limit=5&offset=1&k=3", []byte("--x\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n\x89PNG\r\n--x--\r\n"))
		f.Add(uint8(i), who+2, "image/png", "k=-1&far=0.001", png1.Bytes())
		f.Add(uint8(i), who+3, "image/jpeg", "name=Bob&new=1&box=0,0,10,10&explain=1", png1.Bytes())
		f.Add(uint8(i), who, "application/json", "", []byte(`{"name":"Carol"}`))
		f.Add(uint8(i), who+1, "application/json", "", []byte(`{"name":"Al\u200bice","x":1}`))
	}
	f.Fuzz(func(t *testing.T, route, who uint8, contentType, query string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		rec := fs.send(who, r.method, r.path, query, contentType, "", body)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s?%s as %d (%q, %d bytes): status %d: %s", r.method, r.path, query, who%4, contentType, len(body), rec.Code, rec.Body.String())
		}
		if strings.HasPrefix(r.path, "/v1/") && rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: status %d with a body that is not JSON: %q", r.method, r.path, rec.Code, rec.Body.String())
		}
		if ep, ok := fs.keyed.endpoints[routePattern(r.path)]; ok && rec.Code < 300 {
			if (who%4 == 3 && ep.need != needNone) || (who%4 == 2 && ep.need == ScopeFull) {
				t.Fatalf("%s %s as %d (needs %q): let in with %d", r.method, r.path, who%4, ep.need, rec.Code)
			}
		}
	})
}

// routePattern is the registered pattern of a fuzz route's path.
func routePattern(path string) string {
	return strings.Replace(path, "/x", "/{id}", 1)
}

// FuzzAuthorization sends arbitrary Authorization, Host and Origin headers:
// no answer is a server fault, and only a configured key opens an endpoint
// that needs one (the keyless server: only a loopback Host and a missing or
// same-origin Origin).
//
//	go test -run '^$' -fuzz '^FuzzAuthorization$' -fuzztime 30s ./server/
func FuzzAuthorization(f *testing.F) {
	fs := newFuzzServers(f)
	for _, a := range []string{"", "Bearer ", "Bearer " + fs.full, "bearer  " + fs.full + " ", "Basic eDp5", "Bearer frk_", "Bearer \x00", "Bearer " + fs.rec + "x"} {
		f.Add(uint8(1), a, "127.0.0.1:8080", "")
		f.Add(uint8(0), a, "localhost", "http://localhost")
		f.Add(uint8(0), a, "evil.example", "http://evil.example")
		f.Add(uint8(0), a, "[::1]:80", "null")
	}
	f.Fuzz(func(t *testing.T, keyless uint8, auth, host, origin string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = "/v1/people"
		req.Host = host
		req.Header.Set("Authorization", auth)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		srv := fs.keyed
		if keyless%2 == 0 {
			srv = fs.keyless
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("auth %q host %q origin %q: status %d: %s", auth, host, origin, rec.Code, rec.Body.String())
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("auth %q: a body that is not JSON: %q", auth, rec.Body.String())
		}
		if rec.Code != http.StatusOK {
			return
		}
		if srv == fs.keyed {
			scheme, key, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) != fs.full {
				t.Fatalf("GET /v1/people let in with Authorization %q", auth)
			}
		} else if !loopbackHost(host) {
			t.Fatalf("the keyless server answered Host %q", host)
		}
	})
}
