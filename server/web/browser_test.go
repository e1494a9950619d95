package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/server/web/browsertest"
)

// fakeAPI is a small in-memory stand-in for the server's /v1 API, enough
// to drive the page through the paths the real server makes slow or hard
// to reach: a missing key, errors, paging, and a browser with no camera.
// The real server is tested with the same page in server/browser_test.go.
type fakeAPI struct {
	key    string
	mu     sync.Mutex
	people []person
	next   int
	photos [][]byte // every enrolment photo received

	// identify answers after identifyDelay; the counters check that the
	// page never has two requests in flight.
	identifyDelay     time.Duration
	frames            [][]byte // every door frame received
	inFlight, maxLive int

	// identifyFaces, when set, is identify's answer (the faces of any
	// photo); the history keeps each answer with faces.
	identifyFaces func() []any
	history       []any
	chosen        []string // the face=N of each enrolment that had one

	// events, when not nil, are the audit records GET /v1/events gives
	// (and /v1/info says the server keeps a log); eventsForbidden answers
	// it 403, as the real server does a recognize key.
	events          []any
	eventsForbidden bool
}

type person struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Faces     int    `json:"faces"`
	Thumbnail string `json:"thumbnail,omitempty"`
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (f *fakeAPI) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) add(name string) person {
	f.next++
	p := person{ID: fmt.Sprintf("p%04d", f.next), Name: name, Faces: 1}
	f.people = append(f.people, p)
	return p
}

// isImage is the fake's format check: PNG or JPEG signatures.
func isImage(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG")) || bytes.HasPrefix(b, []byte("\xff\xd8"))
}

func (f *fakeAPI) person(id string) *person {
	for i := range f.people {
		if f.people[i].ID == id {
			return &f.people[i]
		}
	}
	return nil
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/info" {
		f.reply(w, http.StatusOK, map[string]any{"auth": f.key != "", "threshold": 0.61, "close_call_band": 0.05, "history": 100,
			"audit": f.events != nil})
		return
	}
	if f.key != "" && r.Header.Get("Authorization") != "Bearer "+f.key {
		f.fail(w, http.StatusUnauthorized, "unauthorized", "missing or unknown API key")
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/v1/identify" {
		f.identify(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/people":
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 || limit > 100 || offset < 0 {
			f.fail(w, http.StatusBadRequest, "invalid_field", "bad limit or offset")
			return
		}
		page := []person{}
		if offset < len(f.people) {
			page = f.people[offset:min(offset+limit, len(f.people))]
		}
		f.reply(w, http.StatusOK, map[string]any{"people": page, "total": len(f.people), "limit": limit, "offset": offset})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/history":
		ev := f.history
		if ev == nil {
			ev = []any{}
		}
		f.reply(w, http.StatusOK, map[string]any{"events": ev, "size": 100})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/events":
		if f.eventsForbidden {
			f.fail(w, http.StatusForbidden, "forbidden", "a recognize key cannot do this; it needs a full key")
			return
		}
		f.reply(w, http.StatusOK, map[string]any{"events": f.events, "limit": 20})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/compare":
		f.compare(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/v1/people/"):
		var body struct{ Name string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.Name) == "" {
			f.fail(w, http.StatusBadRequest, "invalid_field", "bad name")
			return
		}
		p := f.person(strings.TrimPrefix(r.URL.Path, "/v1/people/"))
		if p == nil {
			f.fail(w, http.StatusNotFound, "not_found", "no such person")
			return
		}
		p.Name = strings.TrimSpace(body.Name)
		f.reply(w, http.StatusOK, *p)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/people/") && strings.HasSuffix(r.URL.Path, "/faces"):
		p := f.person(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/people/"), "/faces"))
		if p == nil {
			f.fail(w, http.StatusNotFound, "not_found", "no such person")
			return
		}
		file, _, err := r.FormFile("photo")
		if err != nil {
			f.fail(w, http.StatusBadRequest, "missing_field", "photo is required")
			return
		}
		data, _ := io.ReadAll(file)
		if !isImage(data) {
			f.fail(w, http.StatusUnsupportedMediaType, "unsupported_format", "input does not start with the signature of a supported image format")
			return
		}
		f.photos = append(f.photos, data)
		p.Faces++
		f.reply(w, http.StatusCreated, *p)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/people":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			f.fail(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		name := r.FormValue("name")
		if r.FormValue("new") != "1" {
			for _, p := range f.people {
				if strings.EqualFold(p.Name, strings.TrimSpace(name)) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusConflict)
					json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "name_exists",
						"message": p.Name + " is already enrolled", "person": p}})
					return
				}
			}
		}
		if name == "Crowd" && !r.Form.Has("face") { // stands for a photo of two people
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "multiple_faces",
				"message": "the photo shows 2 faces", "faces": []any{
					map[string]any{"box": []float64{4, 12, 24, 28}}, map[string]any{"box": []float64{36, 14, 22, 26}}}}})
			return
		}
		if r.Form.Has("face") {
			f.chosen = append(f.chosen, r.FormValue("face"))
		}
		file, _, err := r.FormFile("photo")
		if err != nil {
			f.fail(w, http.StatusBadRequest, "missing_field", "photo is required")
			return
		}
		data, err := io.ReadAll(file)
		if err != nil {
			f.fail(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		f.photos = append(f.photos, data)
		if name == "Nobody" { // stands for a photo without a face
			f.fail(w, http.StatusUnprocessableEntity, "no_face", "no face found")
			return
		}
		f.reply(w, http.StatusCreated, f.add(name))
	case r.Method == http.MethodDelete && len(r.URL.Path) > len("/v1/people/"):
		id := r.URL.Path[len("/v1/people/"):]
		for i, p := range f.people {
			if p.ID == id {
				f.people = append(f.people[:i], f.people[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		f.fail(w, http.StatusNotFound, "not_found", "no such person")
	default:
		f.fail(w, http.StatusNotFound, "not_found", "no such route")
	}
}

// identify answers that the door frame shows one face at a fixed box: the
// first person enrolled, or a stranger when there is nobody.
func (f *fakeAPI) identify(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.inFlight++
	f.maxLive = max(f.maxLive, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	file, _, err := r.FormFile("photo")
	if err != nil {
		f.fail(w, http.StatusBadRequest, "missing_field", "photo is required")
		return
	}
	data, err := io.ReadAll(file)
	if err != nil {
		f.fail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	time.Sleep(f.identifyDelay) // a slow server: the page must not pile up requests
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, data)
	if !isImage(data) {
		f.fail(w, http.StatusUnsupportedMediaType, "unsupported_format", "input does not start with the signature of a supported image format")
		return
	}
	if f.identifyFaces != nil {
		faces := f.identifyFaces()
		if len(faces) > 0 {
			var hf []any
			for _, fc := range faces {
				m := fc.(map[string]any)
				var nearest any
				if c := m["candidates"].([]any); len(c) > 0 {
					nearest = c[0]
				}
				d := 1.0
				if n, ok := nearest.(map[string]any); ok {
					d = n["distance"].(float64)
				}
				hf = append(hf, map[string]any{"match": m["match"], "nearest": nearest, "threshold": 0.61,
					"close_call": d > 0.56 && d < 0.66})
			}
			f.history = append([]any{map[string]any{"time": time.Now().Format(time.RFC3339), "last": time.Now().Format(time.RFC3339),
				"frames": 1, "faces": hf}}, f.history...)
		}
		f.reply(w, http.StatusOK, map[string]any{"faces": faces})
		return
	}
	res := map[string]any{"box": []float64{40, 30, 100, 120}, "score": 0.9, "match": nil, "candidates": []any{}}
	if len(f.people) > 0 {
		m := map[string]any{"id": f.people[0].ID, "name": f.people[0].Name, "distance": 0.314}
		res["match"], res["candidates"] = m, []any{m}
	}
	f.reply(w, http.StatusOK, map[string]any{"faces": []any{res}})
}

// compare says two photos are the same person when their bytes are equal
// (distance 0.31), else not, as a close call (0.64 against 0.61).
func (f *fakeAPI) compare(w http.ResponseWriter, r *http.Request) {
	var data [2][]byte
	for i, name := range []string{"photo1", "photo2"} {
		file, _, err := r.FormFile(name)
		if err != nil {
			f.fail(w, http.StatusBadRequest, "missing_field", name+" is required")
			return
		}
		data[i], _ = io.ReadAll(file)
		if !isImage(data[i]) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "unsupported_format",
				"message": fmt.Sprintf("photo %d: not an image", i+1), "photo": i + 1}})
			return
		}
	}
	if bytes.Equal(data[0], data[1]) {
		f.reply(w, http.StatusOK, map[string]any{"distance": 0.31, "threshold": 0.61, "same": true})
		return
	}
	f.reply(w, http.StatusOK, map[string]any{"distance": 0.64, "threshold": 0.61, "same": false})
}

func writePNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.SetRGBA(3, 3, color.RGBA{255, 0, 0, 255})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPageAgainstFakeAPI drives the page in headless Chromium without a
// camera against fakeAPI: the API key, error messages, paging, escaping
// of names, and the camera-unavailable messages.
func TestPageAgainstFakeAPI(t *testing.T) {
	api := &fakeAPI{key: "secret-key"}
	for i := range 205 {
		api.add(fmt.Sprintf("Person %03d", i+1))
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	photo := filepath.Join(t.TempDir(), "photo.png")
	writePNG(t, photo)

	ctx := browsertest.Start(t, browsertest.Options{}) // no camera
	const wait = 10 * time.Second
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			browsertest.Screenshot(t, ctx, "fake-api-failure")
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitText := func(sel, want string) {
		t.Helper()
		_, err := browsertest.WaitText(ctx, sel, want, wait)
		must("waiting for "+want, err)
	}

	must("opening the page", chromedp.Do(ctx, chromedp.Navigate(srv.URL)))
	// No key yet: the list says why it is empty.
	waitText("#people-status", "Set the API key")

	must("saving the key", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("api-key"), api.key),
		chromedp.Click(chromedp.CSS("#key-form button"))))
	waitText("#people-summary", "205 people enrolled; showing 1–100.")
	if got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("people-status"))); err != nil || got != "" {
		t.Errorf("people status after the key was saved: %q, %v", got, err)
	}

	// Paging.
	must("next page", chromedp.Do(ctx, chromedp.Click(chromedp.ID("people-next"))))
	waitText("#people-summary", "showing 101–200.")
	must("last page", chromedp.Do(ctx, chromedp.Click(chromedp.ID("people-next"))))
	waitText("#people-summary", "showing 201–205.")
	waitText("#people-body", "Person 205")
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("people-next").disabled`))
	must("reading the next button", err)
	if !disabled {
		t.Error("Next is enabled on the last page")
	}
	must("previous page", chromedp.Do(ctx, chromedp.Click(chromedp.ID("people-prev"))))
	waitText("#people-summary", "showing 101–200.")

	// The key survives a reload (localStorage).
	must("reloading", chromedp.Do(ctx, chromedp.Reload()))
	waitText("#people-summary", "205 people enrolled")

	// Enrolment errors: no photo, then the server's no_face.
	must("enrolling without a photo", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("enrol-name"), "Nobody"),
		chromedp.Click(chromedp.ID("enrol-submit"))))
	waitText("#enrol-result", "Choose a photo file or take a snapshot")
	must("enrolling a photo without a face", chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("enrol-photo"), []string{photo}),
		chromedp.Click(chromedp.ID("enrol-submit"))))
	waitText("#enrol-result", "Not enrolled: No face was found in the photo.")

	// A name is text, never markup.
	const evil = `<img src=x id=pwned onerror="document.title='pwned'">`
	must("enrolling", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("enrol-name"), evil),
		chromedp.SetUploadFiles(chromedp.ID("enrol-photo"), []string{photo}),
		chromedp.Click(chromedp.ID("enrol-submit"))))
	waitText("#enrol-result", "Enrolled "+evil+" (id p0206).")
	// Two enrolled since; the list is re-read on this page.
	waitText("#people-summary", "206 people enrolled")
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("pwned") !== null || document.title === "pwned"`))
	must("looking for injected markup", err)
	if injected {
		t.Error("a person's name was inserted as HTML")
	}

	// Deleting asks first; accept the dialog.
	must("going to page 2", chromedp.Do(ctx, chromedp.Click(chromedp.ID("people-next"))))
	waitText("#people-summary", "showing 101–200.")
	must("going to page 3", chromedp.Do(ctx, chromedp.Click(chromedp.ID("people-next"))))
	waitText("#people-summary", "showing 201–206.")
	browsertest.AcceptDialogs(ctx)
	must("deleting", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#people-body tr:last-child button.delete`))))
	waitText("#people-status", "Deleted "+evil+".")
	waitText("#people-summary", "205 people enrolled; showing 201–205.")

	// No camera on this browser: both camera buttons say so.
	must("starting the enrol camera", chromedp.Do(ctx, chromedp.Click(chromedp.ID("enrol-camera"))))
	waitText("#enrol-result", "Camera unavailable: no camera was found.")
	must("starting the door check", chromedp.Do(ctx, chromedp.Click(chromedp.ID("door-toggle"))))
	waitText("#door-status", "Camera unavailable: no camera was found.")
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("door-media").hidden`))
	must("reading the door video", err)
	if !hidden {
		t.Error("the door video stays shown without a camera")
	}
	thumbs, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("people-table").classList.contains("with-thumbs")`))
	must("reading the people table", err)
	if thumbs {
		t.Error("the people list has a face column, but nobody has a thumbnail")
	}
	browsertest.Screenshot(t, ctx, "fake-api")
}

// TestCameraAgainstFakeAPI enrols from a webcam snapshot, whose photo
// must be a JPEG of the camera's picture, then runs the door check against
// a slow server, which must never get two frames at once.
func TestCameraAgainstFakeAPI(t *testing.T) {
	// Left half red, right half blue, so that a mirrored or garbled
	// snapshot shows.
	const w, h = 320, 240
	card := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{200, 30, 30, 255}
			if x >= w/2 {
				c = color.RGBA{30, 30, 200, 255}
			}
			card.SetRGBA(x, y, c)
		}
	}
	cam := filepath.Join(t.TempDir(), "cam.y4m")
	if err := browsertest.WriteY4MFile(cam, card, 1); err != nil {
		t.Fatal(err)
	}
	api := &fakeAPI{key: "k", identifyDelay: 1500 * time.Millisecond} // two ticks and more
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := browsertest.Start(t, browsertest.Options{Camera: cam})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			browsertest.Screenshot(t, ctx, "snapshot-failure")
			t.Fatalf("%s: %v", what, err)
		}
	}
	const wait = 10 * time.Second
	must("opening the page", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.ID("api-key"), api.key),
		chromedp.Click(chromedp.CSS("#key-form button")),
		chromedp.Click(chromedp.ID("enrol-camera"))))
	_, err := browsertest.WaitText(ctx, "#enrol-result", "Camera on.", wait)
	must("starting the camera", err)
	must("taking a snapshot", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("enrol-snap")),
		chromedp.SendKeys(chromedp.ID("enrol-name"), "Ada")))
	_, err = browsertest.WaitText(ctx, "#enrol-result", "Snapshot taken", wait)
	must("taking a snapshot", err)
	must("enrolling", chromedp.Do(ctx, chromedp.Click(chromedp.ID("enrol-submit"))))
	_, err = browsertest.WaitText(ctx, "#enrol-result", "Enrolled Ada (id p0001).", wait)
	must("enrolling", err)
	api.mu.Lock()
	photos := api.photos
	api.mu.Unlock()
	if len(photos) != 1 {
		t.Fatalf("the server got %d photos, want 1", len(photos))
	}
	checkCard(t, "snapshot", photos[0], w, h)

	// Door check: the fake's answer is drawn and listed.
	must("starting the door check", chromedp.Do(ctx, chromedp.Click(chromedp.ID("door-toggle"))))
	_, err = browsertest.WaitText(ctx, "#door-results", "Ada, distance 0.31", wait)
	must("door check", err)
	// Let a few more frames through: with a 1.5 s server and 0.7 s ticks,
	// a page that did not skip ticks would have two or three in flight.
	deadline := time.Now().Add(15 * time.Second)
	for {
		api.mu.Lock()
		n, live := len(api.frames), api.maxLive
		api.mu.Unlock()
		if n >= 3 {
			if live != 1 {
				t.Errorf("%d door frames in flight at once, want 1", live)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d door frames reached the server in 15 s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	browsertest.Screenshot(t, ctx, "camera-fake-api")
	must("stopping the door check", chromedp.Do(ctx, chromedp.Click(chromedp.ID("door-toggle"))))
	api.mu.Lock()
	frame := api.frames[0]
	api.mu.Unlock()
	checkCard(t, "door frame", frame, w, h)
}

// checkCard checks that a JPEG the page sent shows the test card: w×h,
// red on the left and blue on the right.
func checkCard(t *testing.T, what string, data []byte, w, h int) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the %s is not a JPEG: %v", what, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("the %s is %v, want the camera's %d×%d", what, b, w, h)
	}
	for _, p := range []struct {
		x    int
		want color.RGBA
	}{{w / 4, color.RGBA{200, 30, 30, 255}}, {3 * w / 4, color.RGBA{30, 30, 200, 255}}} {
		r, g, b, _ := img.At(p.x, h/2).RGBA()
		got := [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
		want := [3]int{int(p.want.R), int(p.want.G), int(p.want.B)}
		for c := range 3 {
			if d := got[c] - want[c]; d < -12 || d > 12 {
				t.Errorf("%s at x=%d: colour %v, want about %v", what, p.x, got, want)
				break
			}
		}
	}
}
