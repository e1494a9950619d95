package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from openapi.json")

// spec is the part of an OpenAPI document the tests read.
type spec struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		ErrorCodes map[string]int `json:"x-error-codes"`
		Schemas    map[string]json.RawMessage
	} `json:"components"`
}

// operation is one method of a path.
type operation struct {
	OperationID string                     `json:"operationId"`
	Key         string                     `json:"x-key"`
	Summary     string                     `json:"summary"`
	Description string                     `json:"description"`
	Security    *[]map[string][]string     `json:"security"`
	Parameters  []parameter                `json:"parameters"`
	RequestBody *requestBody               `json:"requestBody"`
	Responses   map[string]responseSummary `json:"responses"`
}

type parameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
}

type requestBody struct {
	Description string `json:"description"`
	Content     map[string]struct {
		Schema struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schema"`
	} `json:"content"`
}

type responseSummary struct {
	Description string   `json:"description"`
	Codes       []string `json:"x-error-codes"`
}

func loadSpec(t *testing.T) (spec, map[string]map[string]operation) {
	t.Helper()
	var s spec
	if err := json.Unmarshal(openAPI, &s); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	ops := map[string]map[string]operation{}
	for path, item := range s.Paths {
		ops[path] = map[string]operation{}
		for m, raw := range item {
			if m == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("openapi.json: %s %s: %v", m, path, err)
			}
			ops[path][strings.ToUpper(m)] = op
		}
	}
	return s, ops
}

// TestOpenAPIRoutes: every endpoint the server registers is described,
// with its methods, and every described one exists; the error codes of
// the description are the package's, with the statuses its documentation
// gives them.
func TestOpenAPIRoutes(t *testing.T) {
	s, ops := loadSpec(t)
	srv := docServer(t)
	for pattern, ep := range srv.endpoints {
		described := slices.Sorted(maps.Keys(ops[pattern]))
		if !slices.Equal(described, ep.methods) {
			t.Errorf("%s: the server has %v, the description %v", pattern, ep.methods, described)
		}
		need := string(ep.need)
		if need == "" {
			need = "none"
		}
		for m, op := range ops[pattern] {
			if op.Key != need {
				t.Errorf("%s %s: the description says key %q, the server needs %q", m, pattern, op.Key, need)
			}
			if (op.Security != nil && len(*op.Security) == 0) != (need == "none") {
				t.Errorf("%s %s: security %v, but the server needs key %q", m, pattern, op.Security, need)
			}
		}
	}
	for path := range ops {
		if _, ok := srv.endpoints[path]; !ok {
			t.Errorf("%s is described but the server has no such route", path)
		}
	}
	if len(srv.endpoints) < 12 {
		t.Fatalf("only %d routes registered: the route list is stale", len(srv.endpoints))
	}

	// The Code constants of errors.go.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && strings.HasPrefix(vs.Names[0].Name, "Code") {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				v, _ := strconv.Unquote(lit.Value)
				consts[v] = true
			}
		}
		return true
	})
	// The table of the package documentation: "//	409 name_exists ...".
	doc, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^//\t(\d{3}) ([a-z_]+) `).FindAllStringSubmatch(string(doc), -1) {
		table[m[2]], _ = strconv.Atoi(m[1])
	}
	if len(consts) < 15 || !maps.Equal(table, s.Components.ErrorCodes) {
		t.Errorf("error codes: the package documentation says %v, the description %v", table, s.Components.ErrorCodes)
	}
	for c := range consts {
		if _, ok := s.Components.ErrorCodes[c]; !ok {
			t.Errorf("error code %q is not described", c)
		}
	}
	for c := range s.Components.ErrorCodes {
		if !consts[c] {
			t.Errorf("described error code %q is not one of the package's", c)
		}
	}
	var errSchema struct {
		Properties struct {
			Error struct {
				Properties struct {
					Code struct {
						Enum []string `json:"enum"`
					} `json:"code"`
				} `json:"properties"`
			} `json:"error"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(s.Components.Schemas["Error"], &errSchema); err != nil {
		t.Fatal(err)
	}
	if enum := errSchema.Properties.Error.Properties.Code.Enum; !slices.Equal(enum, slices.Sorted(maps.Keys(s.Components.ErrorCodes))) {
		t.Errorf("the Error schema's code enum %v is not the list of codes", enum)
	}
	// Each response's codes are codes of its status.
	for path, byMethod := range ops {
		for m, op := range byMethod {
			for status, r := range op.Responses {
				for _, c := range r.Codes {
					if want, ok := s.Components.ErrorCodes[c]; !ok || strconv.Itoa(want) != status {
						t.Errorf("%s %s: %s lists %q, whose status is %d", m, path, status, c, want)
					}
				}
			}
		}
	}
}

// docRecognizer sees in a photo the faces its first pixel says: R the
// identity of the first, G how many, side by side and of one size (so that
// two are ambiguous).
type docRecognizer struct{}

func (docRecognizer) Faces(_ context.Context, img image.Image) ([]face.Face, error) {
	r, g, _, _ := img.At(img.Bounds().Min.X, img.Bounds().Min.Y).RGBA()
	faces := make([]face.Face, g>>8)
	for i := range faces {
		v := make([]float32, 4)
		v[(int(r>>8)+i)%4] = 1
		faces[i] = face.Face{Box: face.Rect{X: float64(30 * i), Y: 2, W: 20, H: 20}, Score: 0.9, Descriptor: face.Descriptor{Model: "doc@1", Vector: v}}
	}
	return faces, nil
}

func (d docRecognizer) Subject(ctx context.Context, img image.Image) (face.Face, error) {
	faces, _ := d.Faces(ctx, img)
	if len(faces) == 0 {
		return face.Face{}, face.ErrNoFace
	}
	b := img.Bounds()
	if r := face.Rivals(faces[0].Box, faces[1:], float64(b.Dx()), float64(b.Dy())); len(r) > 0 {
		return faces[0], &face.AmbiguousError{Subject: faces[0].Box, Rivals: r}
	}
	return faces[0], nil
}

const docMasterKey = "doc-test-master-key-long-enough"

// docServer is a server with keys over docRecognizer.
func docServer(t *testing.T) *Server {
	t.Helper()
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := gallery.Open(context.Background(), store, "doc@1", 4)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := recognition.New(recognition.Config{Recognizer: docRecognizer{}, Gallery: g,
		Decision: face.Rule{Threshold: face.Threshold{Model: "doc@1", Metric: face.Euclidean, Max: 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeys(docMasterKey, filepath.Join(t.TempDir(), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Service: svc, Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func docPhoto(identity, faces uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 24))
	img.SetRGBA(0, 0, color.RGBA{identity, faces, 0, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// TestOpenAPIAnswers sends each endpoint a spread of good and bad
// requests (keys, bodies, queries) and checks that every answer is one the
// description gives that operation: its status, and for an error its code
// among that status's codes; a method a path lacks is 405.
func TestOpenAPIAnswers(t *testing.T) {
	_, ops := loadSpec(t)
	srv := docServer(t)
	recKey, _, err := CreateKey(srv.cfg.Keys.path, ScopeRecognize)
	if err != nil {
		t.Fatal(err)
	}
	p, err := srv.svc.Enroll(context.Background(), "Alice", nil, recognition.Photo{Image: mustDecode(t, docPhoto(1, 1))})
	if err != nil {
		t.Fatal(err)
	}
	multipartOf := func(fields map[string]string, files map[string][]byte) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			mw.WriteField(k, fields[k])
		}
		for _, k := range slices.Sorted(maps.Keys(files)) {
			w, _ := mw.CreateFormFile(k, k+".png")
			w.Write(files[k])
		}
		mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	}
	type body struct {
		name, ct string
		data     []byte
	}
	var bodies []body
	add := func(name string, fields map[string]string, files map[string][]byte) {
		ct, b := multipartOf(fields, files)
		bodies = append(bodies, body{name, ct, b})
	}
	one, two, none := docPhoto(2, 1), docPhoto(2, 2), docPhoto(2, 0)
	all := func(photo []byte) map[string][]byte {
		return map[string][]byte{"photo": photo, "photo1": photo, "photo2": one}
	}
	add("good form", map[string]string{"name": "Bob", "person_id": p.ID}, all(one))
	add("existing name", map[string]string{"name": "alice", "person_id": p.ID}, all(one))
	add("two faces", map[string]string{"name": "Carol", "person_id": p.ID}, all(two))
	add("no face", map[string]string{"name": "Dan", "person_id": p.ID}, all(none))
	add("not a photo", map[string]string{"name": "Eve", "person_id": p.ID}, all([]byte("hello")))
	add("corrupt photo", map[string]string{"name": "Fay", "person_id": p.ID}, all(one[:40]))
	add("no fields", nil, nil)
	add("bad name", map[string]string{"name": "a\x00b", "person_id": "nope"}, all(one))
	bodies = append(bodies,
		body{"raw photo", "image/png", one}, body{"raw garbage", "image/jpeg", []byte("xx")},
		body{"json name", "application/json", []byte(`{"name":"Gus"}`)}, body{"json junk", "application/json", []byte(`{"nom":1}`)},
		body{"empty", "", nil}, body{"text", "text/plain", []byte("hi")})
	queries := []string{"", "k=0", "k=2", "limit=0", "limit=2&offset=1", "new=1", "new=x", "face=1", "face=7", "face=0&box=1,2,3,4",
		"box=31,2,20,20", "box=x", "box=500,500,5,5", "name=Hal&person_id=" + p.ID, "person_id=nope", "explain=1", "explain=x"}
	keys := []struct{ name, key string }{{"master", docMasterKey}, {"recognize", recKey}, {"none", ""}, {"unknown", "wrong-key"}}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut}

	seen := map[string]bool{} // "METHOD path status code", to report the spread
	n := 0
	send := func(method, path, template, key, ct, query string, data []byte) {
		req := httptest.NewRequest(method, path+"?"+query, bytes.NewReader(data))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		req.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", n%200+1) // no address fails often enough to be locked out
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		n++
		var e errorBody
		code := ""
		if rec.Code >= 400 && json.Unmarshal(rec.Body.Bytes(), &e) == nil {
			code = e.Error.Code
		}
		seen[fmt.Sprintf("%s %s %d %s", method, template, rec.Code, code)] = true
		op, ok := ops[template][method]
		if !ok {
			// The key is checked first.
			if !(rec.Code == http.StatusMethodNotAllowed && code == CodeMethodNotAllowed ||
				rec.Code == http.StatusUnauthorized && code == CodeUnauthorized || rec.Code == http.StatusForbidden && code == CodeForbidden) {
				t.Errorf("%s %s (a method the path lacks): %d %s", method, path, rec.Code, code)
			}
			return
		}
		r, ok := op.Responses[strconv.Itoa(rec.Code)]
		if !ok {
			t.Errorf("%s %s?%s (%s): status %d (%s %s) is not described", method, path, query, ct, rec.Code, code, e.Error.Message)
			return
		}
		if rec.Code >= 400 && !slices.Contains(r.Codes, code) {
			t.Errorf("%s %s?%s (%s): %d with code %q, described codes %v", method, path, query, ct, rec.Code, code, r.Codes)
		}
	}
	for template := range ops {
		paths := []string{template}
		if strings.Contains(template, "{id}") {
			paths = []string{strings.ReplaceAll(template, "{id}", p.ID), strings.ReplaceAll(template, "{id}", "nope")}
		}
		for _, path := range paths {
			for _, m := range methods {
				for _, k := range keys[1:] {
					send(m, path, template, k.key, bodies[0].ct, "", bodies[0].data)
				}
				if m == http.MethodDelete {
					continue // deleting Alice would leave the other requests no one to find
				}
				for _, b := range bodies {
					for _, q := range queries {
						send(m, path, template, docMasterKey, b.ct, q, b.data)
					}
				}
			}
		}
	}
	send(http.MethodDelete, "/v1/people/"+p.ID, "/v1/people/{id}", docMasterKey, "", "", nil)
	send(http.MethodDelete, "/v1/people/"+p.ID, "/v1/people/{id}", docMasterKey, "", "", nil)
	// The spread: these answers must have come up, or the requests above
	// no longer reach what they were written for.
	for _, want := range []string{
		"POST /v1/people 201 ", "POST /v1/people 409 name_exists", "POST /v1/people 422 multiple_faces",
		"POST /v1/people 422 no_face", "POST /v1/people 415 unsupported_format", "POST /v1/people 422 corrupt_image",
		"POST /v1/people 400 invalid_field", "POST /v1/people 400 missing_field", "POST /v1/people 400 bad_request",
		"PATCH /v1/people/{id} 200 ", "PATCH /v1/people/{id} 404 not_found", "DELETE /v1/people/{id} 204 ",
		"POST /v1/people/{id}/faces 201 ", "POST /v1/identify 200 ", "POST /v1/verify 200 ", "POST /v1/compare 200 ",
		"GET /v1/history 200 ", "GET /v1/history 403 forbidden", "GET /v1/info 200 ", "GET /openapi.json 200 ",
		"POST /v1/identify 401 unauthorized", "PUT /v1/identify 405 method_not_allowed",
	} {
		if !seen[want] {
			t.Errorf("no request got %q", want)
		}
	}
	t.Logf("%d requests, %d distinct answers", n, len(seen))
}

func mustDecode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestAPIDoc: docs/api.md is openapi.json rendered (go test ./server -run
// TestAPIDoc -update rewrites it).
func TestAPIDoc(t *testing.T) {
	got := renderAPIDoc(t)
	path := filepath.Join("..", "docs", "api.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./server -run TestAPIDoc -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("docs/api.md is not openapi.json rendered: run go test ./server -run TestAPIDoc -update")
	}
}

// renderAPIDoc renders the description as Markdown: per endpoint, its
// summary, description, parameters, body fields and answers with their
// error codes.
func renderAPIDoc(t *testing.T) string {
	var doc struct {
		Info struct {
			Title, Description string
		}
		Components struct {
			ErrorCodes map[string]int `json:"x-error-codes"`
		}
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s, ops := loadSpec(t)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n<!-- Generated from server/openapi.json by `go test ./server -run TestAPIDoc -update`; edit that file. -->\n\n", doc.Info.Title)
	fmt.Fprintf(&b, "%s\n\nThe server serves this description at `/openapi.json` (OpenAPI 3).\n\n", doc.Info.Description)
	b.WriteString("| endpoint | what it does | key |\n|---|---|---|\n")
	paths := slices.Sorted(maps.Keys(ops))
	order := []string{"GET", "POST", "PATCH", "DELETE"}
	sortedMethods := func(p string) []string {
		ms := slices.Collect(maps.Keys(ops[p]))
		sort.Slice(ms, func(i, j int) bool { return slices.Index(order, ms[i]) < slices.Index(order, ms[j]) })
		return ms
	}
	keyOf := func(path, m string) string {
		if k := ops[path][m].Key; k == "recognize" {
			return "recognize or full"
		} else {
			return k
		}
	}
	for _, p := range paths {
		for _, m := range sortedMethods(p) {
			fmt.Fprintf(&b, "| [`%s %s`](#%s) | %s | %s |\n", m, p, anchor(m+" "+p), ops[p][m].Summary, keyOf(p, m))
		}
	}
	b.WriteString("\n## Error codes\n\n| status | code |\n|---|---|\n")
	codes := slices.Sorted(maps.Keys(s.Components.ErrorCodes))
	sort.SliceStable(codes, func(i, j int) bool { return s.Components.ErrorCodes[codes[i]] < s.Components.ErrorCodes[codes[j]] })
	for _, c := range codes {
		fmt.Fprintf(&b, "| %d | `%s` |\n", s.Components.ErrorCodes[c], c)
	}
	for _, p := range paths {
		for _, m := range sortedMethods(p) {
			op := ops[p][m]
			fmt.Fprintf(&b, "\n## %s %s\n\n%s. Key: %s.\n", m, p, op.Summary, keyOf(p, m))
			if op.Description != "" {
				fmt.Fprintf(&b, "\n%s\n", op.Description)
			}
			var params []parameter
			var pathParams struct {
				Parameters []parameter `json:"parameters"`
			}
			if raw, ok := s.Paths[p]["parameters"]; ok {
				json.Unmarshal([]byte(`{"parameters":`+string(raw)+`}`), &pathParams)
			}
			params = append(pathParams.Parameters, op.Parameters...)
			if len(params) > 0 {
				b.WriteString("\n| parameter | in | |\n|---|---|---|\n")
				for _, pa := range params {
					req := ""
					if pa.Required {
						req = " (required)"
					}
					fmt.Fprintf(&b, "| `%s` | %s%s | %s |\n", pa.Name, pa.In, req, pa.Description)
				}
			}
			if rb := op.RequestBody; rb != nil {
				b.WriteString("\nBody: ")
				types := slices.Sorted(maps.Keys(rb.Content))
				quoted := make([]string, len(types))
				for i, ct := range types {
					quoted[i] = "`" + ct + "`"
				}
				b.WriteString(strings.Join(quoted, ", "))
				for _, ct := range types {
					if props := rb.Content[ct].Schema.Properties; len(props) > 0 {
						fields := slices.Sorted(maps.Keys(props))
						for i, f := range fields {
							if slices.Contains(rb.Content[ct].Schema.Required, f) {
								fields[i] = "**" + f + "**"
							}
						}
						fmt.Fprintf(&b, "; `%s` fields %s", ct, strings.Join(fields, ", "))
					}
				}
				b.WriteString(".\n")
			}
			b.WriteString("\n| status | meaning | codes |\n|---|---|---|\n")
			for _, st := range slices.Sorted(maps.Keys(op.Responses)) {
				r := op.Responses[st]
				cs := make([]string, len(r.Codes))
				for i, c := range r.Codes {
					cs[i] = "`" + c + "`"
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", st, r.Description, strings.Join(cs, ", "))
			}
		}
	}
	return b.String()
}

// anchor is GitHub's heading anchor for a heading.
func anchor(h string) string {
	h = strings.ToLower(h)
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ':
			return '-'
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			return r
		}
		return -1
	}, h)
}
