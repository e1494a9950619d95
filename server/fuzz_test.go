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

// FuzzRequests sends arbitrary bodies, content types and query strings to
// every endpoint: the server must answer each with a status below 500 and,
// for the API, a JSON body; a panic or a server fault is a failure.
//
//	go test -run '^$' -fuzz FuzzRequests -fuzztime 30s ./server/
func FuzzRequests(f *testing.F) {
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
	srv, err := New(Config{Service: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{http.MethodPost, "/v1/people"}, {http.MethodGet, "/v1/people"}, {http.MethodPost, "/v1/identify"},
		{http.MethodPost, "/v1/verify"}, {http.MethodPost, "/v1/people/x/faces"}, {http.MethodDelete, "/v1/people/x"},
		{http.MethodGet, "/v1/people/x"}, {http.MethodGet, "/healthz"}, {http.MethodGet, "/readyz"},
		{http.MethodPost, "/v1/compare"}, {http.MethodPatch, "/v1/people/x"}, {http.MethodGet, "/v1/history"},
		{http.MethodGet, "/v1/info"}, {http.MethodGet, "/openapi.json"},
	}
	var png1 bytes.Buffer
	png.Encode(&png1, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("name", "Alice")
	mw.WriteField("person_id", "x")
	mw.WriteField("face", "0")
	for _, name := range []string{"photo", "photo1", "photo2"} {
		w, _ := mw.CreateFormFile(name, "a.png")
		w.Write(png1.Bytes())
	}
	mw.Close()
	ct := mw.FormDataContentType()
	for i := range routes {
		f.Add(uint8(i), ct, "", mp.Bytes())
		f.Add(uint8(i), "multipart/form-data; boundary=x", "limit=5&offset=1&k=3", []byte("--x\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n\x89PNG\r\n--x--\r\n"))
		f.Add(uint8(i), "image/png", "k=-1", png1.Bytes())
		f.Add(uint8(i), "image/jpeg", "name=Bob&new=1&box=0,0,10,10", png1.Bytes())
		f.Add(uint8(i), "application/json", "", []byte(`{"name":"Carol"}`))
	}
	f.Fuzz(func(t *testing.T, route uint8, contentType, query string, body []byte) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, "/", bytes.NewReader(body))
		req.URL.Path, req.URL.RawQuery = r.path, query
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s?%s (%q, %d bytes): status %d: %s", r.method, r.path, query, contentType, len(body), rec.Code, rec.Body.String())
		}
		if strings.HasPrefix(r.path, "/v1/") && rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: status %d with a body that is not JSON: %q", r.method, r.path, rec.Code, rec.Body.String())
		}
	})
}
