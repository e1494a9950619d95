package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/server"
)

func TestEnrollIdentifyVerifyDelete(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.enroll("Alice", onePerson(t, 1))
	bob := h.enroll("Bob", onePerson(t, 2))
	// A crowd behind the person does not stop the enrolment.
	carol := h.enroll("Carol", pixelPhoto(t, 3, 4, layoutDominant))

	var got person
	h.get("/v1/people/"+alice.ID).decode(t, http.StatusOK, &got)
	if got != alice {
		t.Errorf("GET person = %+v, want %+v", got, alice)
	}

	var list struct {
		People               []person
		Total, Limit, Offset int
	}
	h.get("/v1/people").decode(t, http.StatusOK, &list)
	if list.Total != 3 || list.Limit != 100 || list.Offset != 0 || len(list.People) != 3 ||
		list.People[0] != alice || list.People[1] != bob || list.People[2] != carol {
		t.Errorf("GET /v1/people = %+v, want Alice, Bob, Carol of 3", list)
	}
	h.get("/v1/people?limit=1&offset=1").decode(t, http.StatusOK, &list)
	if list.Total != 3 || list.Limit != 1 || list.Offset != 1 || len(list.People) != 1 || list.People[0] != bob {
		t.Errorf("GET /v1/people?limit=1&offset=1 = %+v, want Bob alone of 3", list)
	}
	h.get("/v1/people?limit=5000").decode(t, http.StatusOK, &list)
	if list.Limit != 1000 {
		t.Errorf("limit=5000 answered with limit %d, want it capped at 1000", list.Limit)
	}

	// Identify with the recognize-only key: Alice, and a stranger.
	out := h.identify(h.recKey, onePerson(t, 1))
	if len(out.Faces) != 1 || out.Faces[0].Match == nil || out.Faces[0].Match.ID != alice.ID ||
		out.Faces[0].Match.Name != "Alice" || out.Faces[0].Match.Distance > 1e-6 {
		t.Fatalf("identify Alice = %+v", out)
	}
	if c := out.Faces[0].Candidates; len(c) != 1 || c[0].ID != alice.ID {
		t.Errorf("candidates with a recognize key = %+v, want Alice alone", c)
	}
	if c := h.identify(h.fullKey, onePerson(t, 1)).Faces[0].Candidates; len(c) != 3 || c[0].ID != alice.ID || c[1].Distance < 1.4 {
		t.Errorf("candidates with a full key = %+v, want Alice first then the others at √2", c)
	}
	if b := out.Faces[0].Box; b != [4]float64{0, 5, 50, 50} {
		t.Errorf("box = %v, want [0 5 50 50]", b)
	}
	out = h.identify(h.recKey, onePerson(t, 7))
	if len(out.Faces) != 1 || out.Faces[0].Match != nil {
		t.Fatalf("identify a stranger = %+v, want match null", out)
	}
	// ?k= bounds the candidates; every face of a group photo is answered:
	// identities 1 (Alice) and 2 (Bob) side by side.
	body, ct := multipartBody(t, file("photo", pixelPhoto(t, 1, 2, layoutEqual)))
	h.do(http.MethodPost, "/v1/identify?k=1", h.fullKey, ct, body).decode(t, http.StatusOK, &out)
	if len(out.Faces) != 2 || out.Faces[0].Match == nil || out.Faces[0].Match.ID != alice.ID ||
		out.Faces[1].Match == nil || out.Faces[1].Match.ID != bob.ID ||
		len(out.Faces[0].Candidates) != 1 || len(out.Faces[1].Candidates) != 1 {
		t.Fatalf("identify a group with k=1 = %+v, want Alice and Bob with one candidate each", out)
	}

	// Verify.
	type verdict struct {
		Distance, Threshold float64
		Same                bool
	}
	var v verdict
	body, ct = multipartBody(t, field("person_id", alice.ID), file("photo", onePerson(t, 1)))
	h.do(http.MethodPost, "/v1/verify", h.recKey, ct, body).decode(t, http.StatusOK, &v)
	if !v.Same || v.Distance > 1e-6 || v.Threshold != face.DefaultThreshold {
		t.Errorf("verify Alice as Alice = %+v, want same", v)
	}
	body, ct = multipartBody(t, file("photo", onePerson(t, 2)), field("person_id", alice.ID))
	h.do(http.MethodPost, "/v1/verify", h.recKey, ct, body).decode(t, http.StatusOK, &v)
	if v.Same || math.Abs(v.Distance-math.Sqrt2) > 1e-5 {
		t.Errorf("verify Bob as Alice = %+v, want not same at √2", v)
	}

	// A second face for Bob, then Bob's deletion.
	h.form("/v1/people/"+bob.ID+"/faces", file("photo", onePerson(t, 12))).decode(t, http.StatusCreated, &got)
	if got.ID != bob.ID || got.Faces != 2 {
		t.Errorf("after adding a face, Bob = %+v, want 2 faces", got)
	}
	out = h.identify(h.recKey, onePerson(t, 12))
	if out.Faces[0].Match == nil || out.Faces[0].Match.ID != bob.ID {
		t.Errorf("Bob's second face identified as %+v", out.Faces[0].Match)
	}
	if r := h.do(http.MethodDelete, "/v1/people/"+bob.ID, h.fullKey, "", nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE: status %d body %q, want 204 and no body", r.status, r.body)
	}
	h.get("/v1/people/"+bob.ID).wantError(t, http.StatusNotFound, server.CodeNotFound)
	h.do(http.MethodDelete, "/v1/people/"+bob.ID, h.fullKey, "", nil).wantError(t, http.StatusNotFound, server.CodeNotFound)
	for _, identity := range []uint8{2, 12} {
		if out = h.identify(h.recKey, onePerson(t, identity)); out.Faces[0].Match != nil {
			t.Errorf("deleted Bob still identified: %+v", out.Faces[0].Match)
		}
	}

	var health map[string]string
	h.do(http.MethodGet, "/healthz", "", "", nil).decode(t, http.StatusOK, &health)
	if health["status"] != "ok" {
		t.Errorf("healthz = %v", health)
	}
	if r := h.do(http.MethodHead, "/healthz", "", "", nil); r.status != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD /healthz: status %d, body %q", r.status, r.body)
	}
}

// hugePNG is a valid PNG signature and IHDR chunk claiming 100000×100000
// pixels, and nothing else: the pixel limit must stop it from the header.
func hugePNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	binary.BigEndian.PutUint32(ihdr[8:], 100000)
	ihdr[12], ihdr[13] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

// truncatedJPEG is the first half of a real JPEG.
func truncatedJPEG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()[:b.Len()/2]
}

// TestErrors sends every kind of bad request to every endpoint it applies
// to, checks the status and the stable code, and checks after each that
// the server still answers a good request.
func TestErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: func(c *server.Config) { c.MaxBodyBytes = 1 << 20 }})
	alice := h.enroll("Alice", onePerson(t, 1))
	good := onePerson(t, 5)
	type request struct {
		method, path, key string
		parts             []part
		raw               []byte // sent as is when parts is nil
		contentType       string
	}
	post := func(path string, parts ...part) request {
		return request{method: http.MethodPost, path: path, key: masterKey, parts: parts}
	}
	enrol := func(photo []byte) request { return post("/v1/people", field("name", "X"), file("photo", photo)) }
	cases := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"no key", request{method: http.MethodGet, path: "/v1/people"}, 401, server.CodeUnauthorized},
		{"unknown key", request{method: http.MethodGet, path: "/v1/people", key: "frk_nope"}, 401, server.CodeUnauthorized},
		{"no key on identify", request{method: http.MethodPost, path: "/v1/identify", parts: []part{file("photo", good)}}, 401, server.CodeUnauthorized},
		{"no key on metrics", request{method: http.MethodGet, path: "/metrics"}, 401, server.CodeUnauthorized},
		{"recognize key lists", request{method: http.MethodGet, path: "/v1/people", key: h.recKey}, 403, server.CodeForbidden},
		{"recognize key enrols", request{method: http.MethodPost, path: "/v1/people", key: h.recKey,
			parts: []part{field("name", "X"), file("photo", good)}}, 403, server.CodeForbidden},
		{"recognize key deletes", request{method: http.MethodDelete, path: "/v1/people/" + alice.ID, key: h.recKey}, 403, server.CodeForbidden},
		{"recognize key gets a person", request{method: http.MethodGet, path: "/v1/people/" + alice.ID, key: h.recKey}, 403, server.CodeForbidden},
		{"recognize key adds a face", request{method: http.MethodPost, path: "/v1/people/" + alice.ID + "/faces", key: h.recKey,
			parts: []part{file("photo", good)}}, 403, server.CodeForbidden},
		{"unknown person", request{method: http.MethodGet, path: "/v1/people/nobody", key: masterKey}, 404, server.CodeNotFound},
		{"delete unknown person", request{method: http.MethodDelete, path: "/v1/people/nobody", key: masterKey}, 404, server.CodeNotFound},
		{"face for unknown person", post("/v1/people/nobody/faces", file("photo", good)), 404, server.CodeNotFound},
		{"verify unknown person", post("/v1/verify", field("person_id", "nobody"), file("photo", good)), 404, server.CodeNotFound},
		{"unknown endpoint", request{method: http.MethodGet, path: "/v1/nothing", key: masterKey}, 404, server.CodeNotFound},
		{"PUT people", request{method: http.MethodPut, path: "/v1/people", key: masterKey}, 405, server.CodeMethodNotAllowed},
		{"GET identify", request{method: http.MethodGet, path: "/v1/identify", key: masterKey}, 405, server.CodeMethodNotAllowed},
		{"POST healthz", request{method: http.MethodPost, path: "/healthz"}, 405, server.CodeMethodNotAllowed},
		{"empty body", request{method: http.MethodPost, path: "/v1/identify", key: masterKey, contentType: "multipart/form-data; boundary=x"}, 400, server.CodeBadRequest},
		{"no content type", request{method: http.MethodPost, path: "/v1/people", key: masterKey, raw: good}, 400, server.CodeBadRequest},
		{"JSON body", request{method: http.MethodPost, path: "/v1/identify", key: masterKey, raw: []byte(`{"photo":"x"}`), contentType: "application/json"}, 400, server.CodeBadRequest},
		{"garbage multipart", request{method: http.MethodPost, path: "/v1/identify", key: masterKey, raw: []byte("\x00\xff garbage"), contentType: "multipart/form-data; boundary=x"}, 400, server.CodeBadRequest},
		{"wrong field name", post("/v1/identify", file("image", good)), 400, server.CodeMissingField},
		{"no name", post("/v1/people", file("photo", good)), 400, server.CodeMissingField},
		{"no photo", post("/v1/people", field("name", "X")), 400, server.CodeMissingField},
		{"verify without person_id", post("/v1/verify", file("photo", good)), 400, server.CodeMissingField},
		{"verify without photo", post("/v1/verify", field("person_id", alice.ID)), 400, server.CodeMissingField},
		{"face without photo", post("/v1/people/"+alice.ID+"/faces", field("photo_url", "x")), 400, server.CodeMissingField},
		{"empty name", post("/v1/people", field("name", "  "), file("photo", good)), 400, server.CodeInvalidField},
		{"name with a newline", post("/v1/people", field("name", "a\nb"), file("photo", good)), 400, server.CodeInvalidField},
		{"name too long", post("/v1/people", field("name", strings.Repeat("x", 201)), file("photo", good)), 400, server.CodeInvalidField},
		// Invisible and reordering characters would let one name pass for another.
		{"name with a zero-width space", post("/v1/people", field("name", "Ali\u200bce"), file("photo", good)), 400, server.CodeInvalidField},
		{"name with a right-to-left override", post("/v1/people", field("name", "Ali\u202ece"), file("photo", good)), 400, server.CodeInvalidField},
		{"name with a BOM", post("/v1/people", field("name", "\ufeffAlice"), file("photo", good)), 400, server.CodeInvalidField},
		{"name with a bidi isolate", post("/v1/people", field("name", "Ali\u2066ce"), file("photo", good)), 400, server.CodeInvalidField},
		{"name with a line separator", post("/v1/people", field("name", "Ali\u2028ce"), file("photo", good)), 400, server.CodeInvalidField},
		{"two photos", post("/v1/identify", file("photo", good), file("photo", good)), 400, server.CodeInvalidField},
		{"k=0", post("/v1/identify?k=0", file("photo", good)), 400, server.CodeInvalidField},
		{"k=abc", post("/v1/identify?k=abc", file("photo", good)), 400, server.CodeInvalidField},
		{"limit=-1", request{method: http.MethodGet, path: "/v1/people?limit=-1", key: masterKey}, 400, server.CodeInvalidField},
		{"offset=x", request{method: http.MethodGet, path: "/v1/people?offset=x", key: masterKey}, 400, server.CodeInvalidField},
		{"body over the limit", post("/v1/identify", file("photo", bytes.Repeat([]byte{0xff}, 2<<20))), 413, server.CodeTooLarge},
		{"100000×100000 PNG header", post("/v1/identify", file("photo", hugePNG())), 413, server.CodeTooLarge},
		{"huge PNG enrolled", enrol(hugePNG()), 413, server.CodeTooLarge},
		{"garbage bytes", post("/v1/identify", file("photo", []byte{0x13, 0x37, 0, 1, 2, 3, 0xde, 0xad})), 415, server.CodeUnsupportedFormat},
		{"text file", post("/v1/identify", file("photo", []byte("name,photo\nAlice,alice.jpg\n"))), 415, server.CodeUnsupportedFormat},
		{"empty photo", enrol(nil), 415, server.CodeUnsupportedFormat},
		{"text file enrolled", enrol([]byte("hello")), 415, server.CodeUnsupportedFormat},
		{"truncated JPEG", post("/v1/identify", file("photo", truncatedJPEG(t))), 422, server.CodeCorruptImage},
		{"truncated JPEG verified", post("/v1/verify", field("person_id", alice.ID), file("photo", truncatedJPEG(t))), 422, server.CodeCorruptImage},
		{"no face enrolled", enrol(pixelPhoto(t, 1, 0, layoutEqual)), 422, server.CodeNoFace},
		{"no face added", post("/v1/people/"+alice.ID+"/faces", file("photo", pixelPhoto(t, 1, 0, layoutEqual))), 422, server.CodeNoFace},
		{"no face verified", post("/v1/verify", field("person_id", alice.ID), file("photo", pixelPhoto(t, 1, 0, layoutEqual))), 422, server.CodeNoFace},
		{"two faces enrolled", enrol(pixelPhoto(t, 1, 2, layoutEqual)), 422, server.CodeMultipleFaces},
		{"two faces verified", post("/v1/verify", field("person_id", alice.ID), file("photo", pixelPhoto(t, 1, 2, layoutEqual))), 422, server.CodeMultipleFaces},
		{"recognizer fails", post("/v1/identify", file("photo", pixelPhoto(t, 1, 1, layoutFail))), 500, server.CodeInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body *bytes.Reader
			ct := c.req.contentType
			if c.req.parts != nil {
				r, mct := multipartBody(t, c.req.parts...)
				var b bytes.Buffer
				b.ReadFrom(r)
				body, ct = bytes.NewReader(b.Bytes()), mct
			} else {
				body = bytes.NewReader(c.req.raw)
			}
			h.t = t
			h.do(c.req.method, c.req.path, c.req.key, ct, body).wantError(t, c.status, c.code)
			h.stillServing()
		})
	}
	// Nothing above was enrolled.
	var list struct{ Total int }
	h.t = t
	h.get("/v1/people").decode(t, http.StatusOK, &list)
	if list.Total != 1 {
		t.Errorf("%d people after the bad requests, want 1 (Alice)", list.Total)
	}
}

func TestUnauthorizedHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, auth := range []string{"Basic " + masterKey, masterKey, "Bearer", "Bearer " + masterKey + "x"} {
		req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/people", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: status %d, WWW-Authenticate %q; want 401 with a challenge",
				auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// The scheme is case-insensitive (RFC 9110).
	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/people", nil)
	req.Header.Set("Authorization", "bearer "+masterKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer: status %d, want 200", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.enroll("Alice", onePerson(t, 1))
	h.enroll("Bob", onePerson(t, 2))
	h.identify(h.recKey, onePerson(t, 1))
	h.get("/v1/people/nobody")
	text := h.metricsText()
	for _, want := range []string{
		`facerec_http_requests_total{method="POST",route="/v1/people",status="201"} 2`,
		`facerec_http_requests_total{method="POST",route="/v1/identify",status="200"} 1`,
		`facerec_http_requests_total{method="GET",route="/v1/people/{id}",status="404"} 1`,
		`facerec_http_request_duration_seconds_bucket{method="POST",route="/v1/identify",le="+Inf"} 1`,
		`facerec_http_request_duration_seconds_count{method="POST",route="/v1/people"} 2`,
		"facerec_gallery_people 2",
		"facerec_gallery_faces 2",
		"facerec_recognitions_in_flight 0",
		"# TYPE facerec_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}

func TestWebPage(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	r := h.do(http.MethodGet, "/", "", "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.body), "app.js") {
		t.Fatalf("GET /: status %d, Content-Type %q, body %.200q; want the door-access page", r.status, r.header.Get("Content-Type"), r.body)
	}
	// The page needs no key; other paths outside the API are the page's
	// 404, inside it the API's JSON one.
	if r := h.do(http.MethodGet, "/nothing.html", "", "", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /nothing.html: status %d, want 404", r.status)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	r := h.do(http.MethodPut, "/v1/people", masterKey, "", nil)
	r.wantError(t, http.StatusMethodNotAllowed, server.CodeMethodNotAllowed)
	if got := r.header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow = %q, want GET, HEAD, POST", got)
	}
	h.stillServing()
}

// TestRecognizeKeyLearnsOnlyTheDecision: a recognize key's identify answer
// names the person it matched and nobody else, whatever k it asks for; a
// full key sees the candidates.
func TestRecognizeKeyLearnsOnlyTheDecision(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for id := uint8(1); id <= 5; id++ {
		h.enroll(fmt.Sprint("person ", id), onePerson(t, id))
	}
	ask := func(key string, identity uint8) identifyReply {
		body, ct := multipartBody(t, file("photo", onePerson(t, identity)))
		var out identifyReply
		h.do(http.MethodPost, "/v1/identify?k=100", key, ct, body).decode(t, http.StatusOK, &out)
		if len(out.Faces) != 1 {
			t.Fatalf("%d faces", len(out.Faces))
		}
		return out
	}
	if out := ask(h.recKey, 77); out.Faces[0].Match != nil || len(out.Faces[0].Candidates) != 0 {
		t.Errorf("a stranger with a recognize key: match %+v, %d candidates; want none", out.Faces[0].Match, len(out.Faces[0].Candidates))
	}
	out := ask(h.recKey, 3)
	if f := out.Faces[0]; f.Match == nil || f.Match.Name != "person 3" || len(f.Candidates) != 1 || f.Candidates[0].Name != "person 3" {
		t.Errorf("person 3 with a recognize key: %+v; want the match alone", f)
	}
	if out := ask(h.fullKey, 77); len(out.Faces[0].Candidates) != 5 {
		t.Errorf("a stranger with a full key: %d candidates, want all 5", len(out.Faces[0].Candidates))
	}
}

// TestStalledBodyIsATimeout: a client that stops sending its body gets 408
// (or a closed connection), never 400 "malformed".
func TestStalledBodyIsATimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{noKeys: true, cfg: func(c *server.Config) { c.RequestTimeout = 300 * time.Millisecond }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.srv.Serve(ctx, ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers and the start of a multipart body, then nothing.
	fmt.Fprintf(conn, "POST /v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\n\x89PNG")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, _ := bufio.NewReader(conn).ReadString('\n')
	if strings.Contains(status, " 400 ") || !(strings.Contains(status, " 408 ") || status == "") {
		t.Errorf("stalled body answered %q, want 408 (or the connection closed)", strings.TrimSpace(status))
	}
}
