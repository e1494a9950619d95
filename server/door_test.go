package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
)

// errorDetails is an error reply with the details some codes carry.
type errorDetails struct {
	Error struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Person  *person `json:"person"`
		Faces   []struct {
			Box [4]float64 `json:"box"`
		} `json:"faces"`
		Photo int `json:"photo"`
	} `json:"error"`
}

func (r reply) details(t *testing.T, status int, code string) errorDetails {
	t.Helper()
	r.wantError(t, status, code)
	var e errorDetails
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEnrollExistingName: a name already enrolled (up to case and spaces)
// is answered 409 name_exists with that person, and nothing is stored;
// new=1 enrols another person of the same name.
func TestEnrollExistingName(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.enroll("Alice Smith", onePerson(t, 1))
	for _, name := range []string{"Alice Smith", "  alice   SMITH "} {
		e := h.form("/v1/people", field("name", name), file("photo", onePerson(t, 2))).details(t, http.StatusConflict, server.CodeNameExists)
		if e.Error.Person == nil || e.Error.Person.ID != alice.ID || e.Error.Person.Name != "Alice Smith" {
			t.Errorf("enrolling %q again: person %+v, want %+v", name, e.Error.Person, alice)
		}
		if !strings.Contains(e.Error.Message, "/v1/people/"+alice.ID+"/faces") || !strings.Contains(e.Error.Message, "new=1") {
			t.Errorf("message %q does not say what to do", e.Error.Message)
		}
	}
	var list struct{ Total int }
	h.get("/v1/people").decode(t, http.StatusOK, &list)
	if list.Total != 1 {
		t.Fatalf("%d people after the refused enrolments, want 1", list.Total)
	}
	// Asked for: a second person of that name, by form field or query.
	var second, third person
	h.form("/v1/people", field("name", "Alice Smith"), field("new", "1"), file("photo", onePerson(t, 2))).decode(t, http.StatusCreated, &second)
	h.form("/v1/people?new=true", field("name", "Alice Smith"), file("photo", onePerson(t, 3))).decode(t, http.StatusCreated, &third)
	if second.ID == alice.ID || third.ID == alice.ID || second.ID == third.ID || second.Name != "Alice Smith" {
		t.Errorf("new=1 enrolled %+v and %+v beside %+v: want three people", second, third, alice)
	}
	h.form("/v1/people?new=maybe", field("name", "Bob"), file("photo", onePerson(t, 4))).wantError(t, http.StatusBadRequest, server.CodeInvalidField)
	// Adding the face to the existing person instead.
	var got person
	h.form("/v1/people/"+alice.ID+"/faces", file("photo", onePerson(t, 1))).decode(t, http.StatusCreated, &got)
	if got.ID != alice.ID || got.Faces != 2 {
		t.Errorf("added a face: %+v, want Alice with 2 faces", got)
	}
}

// TestRawImageBody: the photo endpoints take the photo as the whole body
// (Content-Type image/...), with the text fields in the query.
func TestRawImageBody(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	raw := func(path, ct string, body []byte) reply {
		t.Helper()
		return h.do(http.MethodPost, path, h.fullKey, ct, bytes.NewReader(body))
	}
	var bob person
	raw("/v1/people?name=Bob", "image/png", onePerson(t, 2)).decode(t, http.StatusCreated, &bob)
	if bob.Name != "Bob" || bob.Faces != 1 {
		t.Fatalf("enrolled %+v from a raw body, want Bob with one face", bob)
	}
	// The format is sniffed: a PNG sent as image/jpeg is still a PNG.
	var got person
	raw("/v1/people/"+bob.ID+"/faces", "image/jpeg", onePerson(t, 2)).decode(t, http.StatusCreated, &got)
	if got.Faces != 2 {
		t.Errorf("added a face from a raw body: %+v, want 2 faces", got)
	}
	var out identifyReply
	raw("/v1/identify", "image/webp", onePerson(t, 2)).decode(t, http.StatusOK, &out)
	if len(out.Faces) != 1 || out.Faces[0].Match == nil || out.Faces[0].Match.ID != bob.ID {
		t.Errorf("identify from a raw body = %+v, want Bob", out)
	}
	raw("/v1/identify", "application/octet-stream", onePerson(t, 2)).decode(t, http.StatusOK, &out)
	var v struct{ Same bool }
	raw("/v1/verify?person_id="+bob.ID, "image/png", onePerson(t, 2)).decode(t, http.StatusOK, &v)
	if !v.Same {
		t.Error("verify Bob from a raw body: not the same")
	}
	raw("/v1/people", "image/png", onePerson(t, 3)).wantError(t, http.StatusBadRequest, server.CodeMissingField)
	e := raw("/v1/identify", "image/jpeg", []byte("hello, not a photo")).details(t, http.StatusUnsupportedMediaType, server.CodeUnsupportedFormat)
	if !strings.Contains(e.Error.Message, "not a photo") {
		t.Errorf("message for a text file: %q, want it to say it is not a photo", e.Error.Message)
	}
	raw("/v1/identify", "image/png", nil).wantError(t, http.StatusUnsupportedMediaType, server.CodeUnsupportedFormat)
	// Two photos cannot travel as one body.
	raw("/v1/compare", "image/png", onePerson(t, 2)).wantError(t, http.StatusBadRequest, server.CodeBadRequest)
	h.stillServing()
}

// TestChooseAmongFaces: a photo of two equal faces is refused with both
// boxes, left to right; face=N or box=x,y,w,h then enrols the one chosen.
func TestChooseAmongFaces(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	two := pixelPhoto(t, 5, 2, layoutEqual) // identities 5 at x=0 and 6 at x=110
	e := h.form("/v1/people", field("name", "Dora"), file("photo", two)).details(t, http.StatusUnprocessableEntity, server.CodeMultipleFaces)
	if len(e.Error.Faces) != 2 || e.Error.Faces[0].Box != [4]float64{0, 5, 50, 50} || e.Error.Faces[1].Box != [4]float64{110, 5, 50, 50} {
		t.Fatalf("faces to choose from: %+v, want the boxes at x=0 and x=110", e.Error.Faces)
	}
	if !strings.Contains(e.Error.Message, "face=N") {
		t.Errorf("message %q does not say how to choose", e.Error.Message)
	}
	var dora, eve person
	h.form("/v1/people", field("name", "Dora"), field("face", "1"), file("photo", two)).decode(t, http.StatusCreated, &dora)
	h.form("/v1/people?box=2,4,48,52", field("name", "Eve"), file("photo", two)).decode(t, http.StatusCreated, &eve)
	for _, c := range []struct {
		identity uint8
		want     person
	}{{6, dora}, {5, eve}} {
		out := h.identify(h.fullKey, onePerson(t, c.identity))
		if len(out.Faces) != 1 || out.Faces[0].Match == nil || out.Faces[0].Match.ID != c.want.ID {
			t.Errorf("identity %d: %+v, want %s, the face chosen", c.identity, out, c.want.Name)
		}
	}
	// The same choice adds a face.
	var got person
	h.form("/v1/people/"+dora.ID+"/faces?face=1", file("photo", two)).decode(t, http.StatusCreated, &got)
	if got.Faces != 2 {
		t.Errorf("add face with face=1: %+v", got)
	}
	// A photo with one clear face: face=0 is that face.
	h.form("/v1/people", field("name", "Fay"), field("face", "0"), file("photo", onePerson(t, 9))).decode(t, http.StatusCreated, &got)
	for _, c := range []struct {
		name  string
		parts []part
		code  string
	}{
		{"face out of range", []part{field("face", "2")}, server.CodeInvalidField},
		{"negative face", []part{field("face", "-1")}, server.CodeInvalidField},
		{"face and box", []part{field("face", "0"), field("box", "0,5,50,50")}, server.CodeInvalidField},
		{"box of three numbers", []part{field("box", "1,2,3")}, server.CodeInvalidField},
		{"empty box", []part{field("box", "1,2,0,5")}, server.CodeInvalidField},
		{"box not a number", []part{field("box", "1,2,NaN,5")}, server.CodeInvalidField},
	} {
		parts := append([]part{field("name", "Gus"), file("photo", two)}, c.parts...)
		h.form("/v1/people", parts...).wantError(t, http.StatusBadRequest, c.code)
	}
	h.form("/v1/people", field("name", "Gus"), field("box", "300,300,40,40"), file("photo", two)).
		wantError(t, http.StatusUnprocessableEntity, server.CodeNoFace)
}

// TestRename renames a person with PATCH.
func TestRename(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	p := h.enroll("Hal", onePerson(t, 1))
	patch := func(id, body string) reply {
		t.Helper()
		return h.do(http.MethodPatch, "/v1/people/"+id, h.fullKey, "application/json", strings.NewReader(body))
	}
	var got person
	patch(p.ID, `{"name": "  Hal Jordan "}`).decode(t, http.StatusOK, &got)
	if got.ID != p.ID || got.Name != "Hal Jordan" || got.Faces != 1 {
		t.Errorf("renamed: %+v, want Hal Jordan", got)
	}
	h.get("/v1/people/"+p.ID).decode(t, http.StatusOK, &got)
	if got.Name != "Hal Jordan" {
		t.Errorf("stored name %q", got.Name)
	}
	patch(p.ID, `{}`).wantError(t, http.StatusBadRequest, server.CodeMissingField)
	patch(p.ID, `{"name": ""}`).wantError(t, http.StatusBadRequest, server.CodeInvalidField)
	patch(p.ID, `{"name": "a\u0000b"}`).wantError(t, http.StatusBadRequest, server.CodeInvalidField)
	patch(p.ID, `{"name": "x", "faces": 3}`).wantError(t, http.StatusBadRequest, server.CodeBadRequest)
	patch(p.ID, `name=x`).wantError(t, http.StatusBadRequest, server.CodeBadRequest)
	patch(p.ID, `{"name": "x"} {"name": "y"}`).wantError(t, http.StatusBadRequest, server.CodeBadRequest)
	patch("nobody", `{"name": "x"}`).wantError(t, http.StatusNotFound, server.CodeNotFound)
	r := h.do(http.MethodPatch, "/v1/people/"+p.ID, h.recKey, "application/json", strings.NewReader(`{"name":"x"}`))
	r.wantError(t, http.StatusForbidden, server.CodeForbidden)
}

// TestCompare: two photos, the same person or not; an error says which
// photo it is about.
func TestCompare(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	compare := func(key string, parts ...part) reply {
		t.Helper()
		body, ct := multipartBody(t, parts...)
		return h.do(http.MethodPost, "/v1/compare", key, ct, body)
	}
	var d face.Decision
	compare(h.recKey, file("photo1", onePerson(t, 1)), file("photo2", onePerson(t, 1))).decode(t, http.StatusOK, &d)
	if !d.Same || d.Distance > 1e-6 || d.Threshold != face.DefaultThreshold {
		t.Errorf("same photos: %+v", d)
	}
	compare(h.recKey, file("photo1", onePerson(t, 1)), file("photo2", onePerson(t, 2))).decode(t, http.StatusOK, &d)
	if d.Same || d.Distance < 1.4 {
		t.Errorf("two people: %+v", d)
	}
	e := compare(h.recKey, file("photo1", onePerson(t, 1)), file("photo2", pixelPhoto(t, 1, 0, layoutEqual))).
		details(t, http.StatusUnprocessableEntity, server.CodeNoFace)
	if e.Error.Photo != 2 || !strings.HasPrefix(e.Error.Message, "photo 2: ") {
		t.Errorf("no face in photo 2: %+v", e.Error)
	}
	e = compare(h.recKey, file("photo1", []byte("text")), file("photo2", onePerson(t, 1))).
		details(t, http.StatusUnsupportedMediaType, server.CodeUnsupportedFormat)
	if e.Error.Photo != 1 {
		t.Errorf("text as photo 1: %+v", e.Error)
	}
	e = compare(h.recKey, file("photo1", onePerson(t, 1)), file("photo2", []byte("text"))).
		details(t, http.StatusUnsupportedMediaType, server.CodeUnsupportedFormat)
	if e.Error.Photo != 2 {
		t.Errorf("text as photo 2: %+v", e.Error)
	}
	compare(h.recKey, file("photo1", onePerson(t, 1))).wantError(t, http.StatusBadRequest, server.CodeMissingField)
	compare("", file("photo1", onePerson(t, 1)), file("photo2", onePerson(t, 1))).wantError(t, http.StatusUnauthorized, server.CodeUnauthorized)
}

// historyReply is GET /v1/history.
type historyReply struct {
	Events []struct {
		Frames int `json:"frames"`
		Faces  []struct {
			Match *struct {
				ID, Name string
				Distance float64
			} `json:"match"`
			Nearest *struct {
				ID, Name string
				Distance float64
			} `json:"nearest"`
			Threshold float64 `json:"threshold"`
			CloseCall bool    `json:"close_call"`
		} `json:"faces"`
	} `json:"events"`
	Size int `json:"size"`
}

// TestHistory: identifications are kept as door decisions, newest first,
// repeats folded; a deleted person's name leaves the history.
func TestHistory(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.HistorySize = 3 }})
	var hist historyReply
	h.get("/v1/history").decode(t, http.StatusOK, &hist)
	if len(hist.Events) != 0 || hist.Size != 3 {
		t.Fatalf("empty history: %+v", hist)
	}
	alice := h.enroll("Alice", onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 1)) // the same decision again: folded
	h.identify(h.recKey, pixelPhoto(t, 1, 0, layoutEqual))
	h.identify(h.recKey, onePerson(t, 7)) // a stranger
	h.get("/v1/history").decode(t, http.StatusOK, &hist)
	if len(hist.Events) != 2 {
		t.Fatalf("history: %+v, want 2 events (Alice twice, a stranger)", hist)
	}
	stranger, seen := hist.Events[0], hist.Events[1]
	if seen.Frames != 2 || len(seen.Faces) != 1 || seen.Faces[0].Match == nil || seen.Faces[0].Match.ID != alice.ID ||
		seen.Faces[0].Threshold != face.DefaultThreshold || seen.Faces[0].CloseCall {
		t.Errorf("Alice's event: %+v", seen)
	}
	if len(stranger.Faces) != 1 || stranger.Faces[0].Match != nil || stranger.Faces[0].Nearest == nil ||
		stranger.Faces[0].Nearest.Name != "Alice" || stranger.Faces[0].Nearest.Distance < 1.4 {
		t.Errorf("the stranger's event: %+v", stranger)
	}
	// The ring keeps the newest 3.
	for _, id := range []uint8{1, 7, 1} {
		h.identify(h.recKey, onePerson(t, id))
	}
	h.get("/v1/history?limit=2").decode(t, http.StatusOK, &hist)
	if len(hist.Events) != 2 || hist.Events[0].Faces[0].Match == nil || hist.Events[1].Faces[0].Match != nil {
		t.Errorf("the newest 2: %+v", hist)
	}
	// A recognize key cannot read who came.
	h.do(http.MethodGet, "/v1/history", h.recKey, "", nil).wantError(t, http.StatusForbidden, server.CodeForbidden)
	h.do(http.MethodDelete, "/v1/people/"+alice.ID, h.fullKey, "", nil)
	h.get("/v1/history").decode(t, http.StatusOK, &hist)
	if strings.Contains(mustJSON(t, hist), "Alice") || strings.Contains(mustJSON(t, hist), alice.ID) {
		t.Errorf("the history still names a deleted person: %+v", hist)
	}
	if len(hist.Events) != 3 || hist.Events[0].Faces[0].Match == nil {
		t.Errorf("the decisions about a deleted person went away: %+v", hist)
	}
	off := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.HistorySize = -1 }})
	off.identify(off.recKey, onePerson(t, 1))
	off.get("/v1/history").decode(t, http.StatusOK, &hist)
	if len(hist.Events) != 0 || hist.Size != 0 {
		t.Errorf("history turned off: %+v", hist)
	}
}

// TestCloseCall: a stranger just beyond the threshold is a close call.
func TestCloseCall(t *testing.T) {
	// Identity 1 and 2 at √2: a threshold just under it makes the stranger
	// a close call.
	h := newHarness(t, harnessOptions{svc: func(c *recognition.Config) { c.Decision.Max = 1.40 }})
	h.enroll("Alice", onePerson(t, 1))
	h.identify(h.recKey, onePerson(t, 2))
	var hist historyReply
	h.get("/v1/history").decode(t, http.StatusOK, &hist)
	if len(hist.Events) != 1 || hist.Events[0].Faces[0].Match != nil || !hist.Events[0].Faces[0].CloseCall {
		t.Errorf("a stranger at 1.414 against 1.40: %+v, want a close call", hist)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInfo: what the page reads before it has a key.
func TestInfo(t *testing.T) {
	for _, keys := range []bool{true, false} {
		h := newHarness(t, harnessOptions{noKeys: !keys})
		var info struct {
			Auth          bool    `json:"auth"`
			Threshold     float64 `json:"threshold"`
			CloseCallBand float64 `json:"close_call_band"`
			History       int     `json:"history"`
		}
		h.do(http.MethodGet, "/v1/info", "", "", nil).decode(t, http.StatusOK, &info)
		if info.Auth != keys || info.Threshold != face.DefaultThreshold || info.CloseCallBand != server.CloseCallBand ||
			info.History != server.DefaultHistorySize {
			t.Errorf("keys %v: info %+v", keys, info)
		}
	}
}

// TestThumbnails: with Config.Thumbnails a new person gets a small JPEG
// of their face, listed with them; without it, none is kept.
func TestThumbnails(t *testing.T) {
	for _, on := range []bool{true, false} {
		h := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.Thumbnails = on }})
		var p struct {
			ID        string `json:"id"`
			Thumbnail string `json:"thumbnail"`
		}
		h.form("/v1/people", field("name", "Ida"), file("photo", onePerson(t, 1))).decode(t, http.StatusCreated, &p)
		var list struct {
			People []struct {
				Thumbnail string `json:"thumbnail"`
			} `json:"people"`
		}
		h.get("/v1/people").decode(t, http.StatusOK, &list)
		if !on {
			if p.Thumbnail != "" || list.People[0].Thumbnail != "" {
				t.Errorf("a thumbnail was kept with thumbnails off")
			}
			continue
		}
		if list.People[0].Thumbnail != p.Thumbnail {
			t.Errorf("the list's thumbnail differs from the enrolment's")
		}
		b, err := base64.StdEncoding.DecodeString(p.Thumbnail)
		if err != nil {
			t.Fatalf("thumbnail %q: %v", p.Thumbnail, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("thumbnail is not a JPEG: %v", err)
		}
		// The face box (0,5 50×50) covers the whole 24×24 photo, one
		// colour but its first pixel: the thumbnail is square, of that
		// colour.
		if b := img.Bounds(); b.Dx() != 96 || b.Dy() != 96 || len(p.Thumbnail) > 8000 {
			t.Errorf("thumbnail %v, %d bytes of base64; want 96×96 and small", b, len(p.Thumbnail))
		}
		src, _, err := photo.Decode(bytes.NewReader(onePerson(t, 1)), photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r0, g0, b0, _ := src.At(12, 12).RGBA()
		r, g, bl, _ := img.At(48, 48).RGBA()
		for _, d := range []int{int(r>>8) - int(r0>>8), int(g>>8) - int(g0>>8), int(bl>>8) - int(b0>>8)} {
			if d < -8 || d > 8 {
				t.Errorf("thumbnail centre %d,%d,%d; want the photo's %d,%d,%d", r>>8, g>>8, bl>>8, r0>>8, g0>>8, b0>>8)
				break
			}
		}
	}
}

// TestEnrollSameNameAtOnce: of simultaneous enrolments of one name,
// exactly one makes the person; the others are told they exist.
func TestEnrollSameNameAtOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body, ct := multipartBody(t, field("name", "Zoe"), file("photo", onePerson(t, uint8(10+i))))
			statuses <- h.do(http.MethodPost, "/v1/people", h.fullKey, ct, body).status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v: want one 201 and %d 409", count, n-1)
	}
}
