package server_test

import (
	"context"
	"image"
	"net/http"
	"testing"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/server"
)

// centreFace is a detector that sees one face in the middle of any photo,
// with landmarks spread over its box.
func centreFace(_ context.Context, img image.Image) ([]face.Face, error) {
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	f := face.Face{Box: face.Rect{X: w / 4, Y: h / 4, W: w / 2, H: h / 2}, Score: 0.9}
	for i := range f.Landmarks {
		f.Landmarks[i] = face.Point{X: w/4 + float64(i%8)*w/16, Y: h/4 + float64(i/8)*h/18}
	}
	return []face.Face{f}, nil
}

func TestAnalyzeEndpoint(t *testing.T) {
	// Quality and pose only: no network, so no model is needed.
	a, err := analysis.Load(context.Background(), t.TempDir(), analysis.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) {
		c.Analysis = &server.Analysis{Analyzer: a, Detect: centreFace}
	}})
	body, ct := multipartBody(t, file("photo", onePerson(t, 1)))
	var got struct {
		Faces []struct {
			Box      [4]float64       `json:"box"`
			Liveness *json0           `json:"liveness"`
			Pose     analysis.Pose    `json:"pose"`
			Quality  analysis.Quality `json:"quality"`
		} `json:"faces"`
	}
	// A recognize key may analyse.
	h.do(http.MethodPost, "/v1/analyze", h.recKey, ct, body).decode(t, http.StatusOK, &got)
	if len(got.Faces) != 1 || got.Faces[0].Box[2] != 12 || got.Faces[0].Liveness != nil {
		t.Fatalf("faces %+v", got.Faces)
	}
	// The harness's photos are flat (128 with alpha 128: white once
	// un-premultiplied), and the fake face is tiny: the reasons say so.
	q := got.Faces[0].Quality
	want := map[string]bool{analysis.ReasonSmall: true, analysis.ReasonBlurred: true, analysis.ReasonBright: true, analysis.ReasonFlat: true}
	for _, r := range q.Reasons {
		delete(want, r)
	}
	if q.OK || q.Sharpness != 0 || len(want) > 0 {
		t.Errorf("quality of a flat white photo: %+v (reasons missing: %v)", q, want)
	}

	for name, c := range map[string]struct {
		parts  []part
		method string
		status int
		code   string
	}{
		"no photo":   {[]part{field("x", "y")}, http.MethodPost, http.StatusBadRequest, server.CodeMissingField},
		"not image":  {[]part{file("photo", []byte("not an image"))}, http.MethodPost, http.StatusUnsupportedMediaType, server.CodeUnsupportedFormat},
		"GET":        {nil, http.MethodGet, http.StatusMethodNotAllowed, server.CodeMethodNotAllowed},
		"two photos": {[]part{file("photo", onePerson(t, 1)), file("photo", onePerson(t, 1))}, http.MethodPost, http.StatusBadRequest, server.CodeInvalidField},
	} {
		body, ct := multipartBody(t, c.parts...)
		t.Run(name, func(t *testing.T) {
			h.do(c.method, "/v1/analyze", h.fullKey, ct, body).wantError(t, c.status, c.code)
		})
	}
	// Without a key: refused.
	body, ct = multipartBody(t, file("photo", onePerson(t, 1)))
	h.do(http.MethodPost, "/v1/analyze", "", ct, body).wantError(t, http.StatusUnauthorized, server.CodeUnauthorized)

	// A server without analysis says so.
	plain := newHarness(t, harnessOptions{})
	body, ct = multipartBody(t, file("photo", onePerson(t, 1)))
	plain.do(http.MethodPost, "/v1/analyze", plain.fullKey, ct, body).wantError(t, http.StatusNotFound, server.CodeNotFound)
}

// json0 stands for a part the answer must leave out.
type json0 struct{}
