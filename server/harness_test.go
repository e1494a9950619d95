package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
)

// The API tests run the real server and the real SQLite gallery, with a
// fake recognizer in place of the networks: the photo's first pixel says
// what the fake "sees" (see pixelPhoto), so each test chooses its faces.

// Layouts of the faces in a pixelPhoto.
const (
	layoutEqual    = 0   // all faces the same size
	layoutDominant = 1   // the first face large, the others small (a crowd behind)
	layoutFail     = 254 // the recognizer fails: a server fault
	layoutBlock    = 253 // the recognizer waits for its gate to open
	layoutCancel   = 252 // the recognizer waits for its gate or for the request's end
)

// pixelPhoto is a PNG whose first pixel tells pixelRecognizer what it
// sees: R the identity of the first face, G how many faces, B the layout.
func pixelPhoto(t testing.TB, identity, faces, layout uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 24))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	img.SetRGBA(0, 0, color.RGBA{identity, faces, layout, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// onePerson is a photo of exactly one person.
func onePerson(t testing.TB, identity uint8) []byte { return pixelPhoto(t, identity, 1, layoutEqual) }

// The fake recognizer's descriptor model.
const (
	fakeModel = "fake-model@1"
	fakeDim   = 128
)

// fakeDecision is the decision the harness's service makes on the fake
// descriptors.
var fakeDecision = face.Rule{Threshold: face.Threshold{Model: fakeModel, Metric: face.Euclidean, Max: face.DefaultThreshold}}

// pixelRecognizer is the fake recognizer. Identity i's descriptor is the
// unit vector e_i: the same identity is at distance 0, two different ones
// at √2, far beyond any threshold.
type pixelRecognizer struct {
	gate    chan struct{} // layoutBlock waits for it to close
	entered chan struct{} // layoutBlock signals here (if not nil) on entry
}

func (p *pixelRecognizer) Faces(ctx context.Context, img image.Image) ([]face.Face, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("fake recognizer: empty image")
	}
	r, g, bl, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	id, n, layout := int(r>>8), int(g>>8), int(bl>>8)
	switch layout {
	case layoutFail:
		return nil, errors.New("fake recognizer: failing as asked")
	case layoutBlock:
		// Work that ignores the context, like a long network call.
		if p.entered != nil {
			p.entered <- struct{}{}
		}
		<-p.gate
	case layoutCancel:
		select {
		case <-p.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	faces := make([]face.Face, n)
	for i := range faces {
		size := 50.0
		if layout == layoutDominant {
			size = 20
			if i == 0 {
				size = 100
			}
		}
		faces[i].Box = face.Rect{X: float64(110 * i), Y: 5, W: size, H: size}
		faces[i].Score = 0.9 - 0.01*float64(i)
		v := make([]float32, fakeDim)
		v[(id+i)%fakeDim] = 1
		faces[i].Descriptor = face.Descriptor{Model: fakeModel, Vector: v}
	}
	return faces, nil
}

// Subject applies the real face-choice rule (face.Rivals) to the fake's
// faces, the first being the subject.
func (p *pixelRecognizer) Subject(ctx context.Context, img image.Image) (face.Face, error) {
	faces, err := p.Faces(ctx, img)
	if err != nil {
		return face.Face{}, err
	}
	if len(faces) == 0 {
		return face.Face{}, face.ErrNoFace
	}
	b := img.Bounds()
	if r := face.Rivals(faces[0].Box, faces[1:], float64(b.Dx()), float64(b.Dy())); len(r) > 0 {
		return faces[0], &face.AmbiguousError{Subject: faces[0].Box, Rivals: r}
	}
	return faces[0], nil
}

// Keys of the test servers.
const masterKey = "test-master-key"

// harness is a running test server.
type harness struct {
	t         testing.TB
	url       string
	srv       *server.Server
	gal       *gallery.Gallery
	store     *gallery.SQLite
	dbPath    string
	keysPath  string
	recKey    string // a recognize-scope key; "" without keys
	fullKey   string // the key sent by default; "" without keys
	rec       *pixelRecognizer
	closeOnce sync.Once
	ts        *httptest.Server
}

// harnessOptions change a harness's defaults.
type harnessOptions struct {
	noKeys bool
	dbPath string                 // default: a new file in t.TempDir()
	rec    recognition.Recognizer // default: the harness's pixelRecognizer
	cfg    func(*server.Config)
	svc    func(*recognition.Config)
}

// quietLogger drops the per-request log lines, which would bury test output.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openGallery opens the SQLite gallery at path for the descriptors of
// the decision's model, of dim values.
func openGallery(t testing.TB, path string, d face.Rule, dim int) (*gallery.SQLite, *gallery.Gallery) {
	t.Helper()
	store, err := gallery.OpenSQLite(path, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gallery.Open(context.Background(), store, d.Model, dim)
	if errors.Is(err, gallery.ErrModelMismatch) && g != nil {
		// Faces of another model, put there by the test: the gallery
		// serves the others.
		t.Logf("opening the gallery: %v", err)
		err = nil
	}
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	return store, g
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, dbPath: o.dbPath, rec: &pixelRecognizer{gate: make(chan struct{})}}
	if h.dbPath == "" {
		h.dbPath = filepath.Join(dir, "gallery.db")
	}
	rc := recognition.Config{Recognizer: h.rec, Decision: fakeDecision}
	dim := fakeDim
	if o.rec != nil {
		rc.Recognizer = o.rec
		if p, ok := o.rec.(*face.Pipeline); ok {
			rc.Decision, dim = face.RuleOf(p.Model()), p.Model().Dim()
		}
	}
	h.store, h.gal = openGallery(t, h.dbPath, rc.Decision, dim)
	rc.Gallery = h.gal
	if o.svc != nil {
		o.svc(&rc)
	}
	svc, err := recognition.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Service: svc, Logger: quietLogger()}
	if !o.noKeys {
		h.keysPath = filepath.Join(dir, "keys.json")
		key, _, err := server.CreateKey(h.keysPath, server.ScopeRecognize)
		if err != nil {
			t.Fatal(err)
		}
		h.recKey, h.fullKey = key, masterKey
		if cfg.Keys, err = server.NewKeys(masterKey, h.keysPath); err != nil {
			t.Fatal(err)
		}
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.ts = httptest.NewServer(srv)
	h.url = h.ts.URL
	t.Cleanup(h.close)
	return h
}

// close stops the server and closes the gallery (once).
func (h *harness) close() {
	h.closeOnce.Do(func() {
		select {
		case <-h.rec.gate:
		default:
			close(h.rec.gate) // let blocked recognitions finish
		}
		h.ts.Close()
		if err := h.store.Close(); err != nil {
			h.t.Errorf("closing the store: %v", err)
		}
	})
}

// part is one field of a multipart body.
type part struct {
	name, filename string
	data           []byte
}

func field(name, value string) part { return part{name: name, data: []byte(value)} }
func file(name string, data []byte) part {
	return part{name: name, filename: "photo.bin", data: data}
}

// multipartBody encodes parts as multipart/form-data.
func multipartBody(t testing.TB, parts ...part) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// reply is a response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the given key ("" for none) and reads the reply.
func (h *harness) do(method, path, key, contentType string, body io.Reader) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading the reply: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// form posts a multipart form with the full-access key.
func (h *harness) form(path string, parts ...part) reply {
	h.t.Helper()
	body, ct := multipartBody(h.t, parts...)
	return h.do(http.MethodPost, path, h.fullKey, ct, body)
}

// get sends a GET with the full-access key.
func (h *harness) get(path string) reply {
	h.t.Helper()
	return h.do(http.MethodGet, path, h.fullKey, "", nil)
}

// decode unmarshals a reply's JSON body, failing on a status other than want.
func (r reply) decode(t testing.TB, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("bad JSON %q: %v", r.body, err)
	}
}

// apiError is the JSON of an error reply.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks that r is the JSON error with this status and code.
func (r reply) wantError(t testing.TB, status int, code string) {
	t.Helper()
	var e apiError
	r.decode(t, status, &e)
	if e.Error.Code != code {
		t.Fatalf("error code %q, want %q (message %q)", e.Error.Code, code, e.Error.Message)
	}
	if e.Error.Message == "" {
		t.Fatalf("error %q has no message", code)
	}
}

// person is a person in a reply.
type person struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Faces int    `json:"faces"`
}

// enroll enrols a person from a photo and returns them.
func (h *harness) enroll(name string, photo []byte) person {
	h.t.Helper()
	var p person
	h.form("/v1/people", field("name", name), file("photo", photo)).decode(h.t, http.StatusCreated, &p)
	if p.ID == "" || p.Name != name || p.Faces != 1 {
		h.t.Fatalf("enrolled %+v, want %q with 1 face", p, name)
	}
	return p
}

// identifyReply is the JSON of /v1/identify.
type identifyReply struct {
	Faces []struct {
		Box   [4]float64 `json:"box"`
		Match *struct {
			ID       string  `json:"id"`
			Name     string  `json:"name"`
			Distance float64 `json:"distance"`
		} `json:"match"`
		Candidates []struct {
			ID       string  `json:"id"`
			Name     string  `json:"name"`
			Distance float64 `json:"distance"`
		} `json:"candidates"`
	} `json:"faces"`
}

// identify posts a photo to /v1/identify with key and decodes the answer.
func (h *harness) identify(key string, photo []byte) identifyReply {
	h.t.Helper()
	body, ct := multipartBody(h.t, file("photo", photo))
	var out identifyReply
	h.do(http.MethodPost, "/v1/identify", key, ct, body).decode(h.t, http.StatusOK, &out)
	return out
}

// stillServing checks that the server answers a real request correctly.
func (h *harness) stillServing() {
	h.t.Helper()
	out := h.identify(h.recKey, onePerson(h.t, 99))
	if len(out.Faces) != 1 {
		h.t.Fatalf("after the bad request, identify found %d faces, want 1", len(out.Faces))
	}
}

// waitFor polls cond until it holds, failing after a while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric returns the text of /metrics.
func (h *harness) metricsText() string {
	h.t.Helper()
	r := h.do(http.MethodGet, "/metrics", h.recKey, "", nil)
	if r.status != http.StatusOK {
		h.t.Fatalf("/metrics: status %d: %s", r.status, r.body)
	}
	return string(r.body)
}
