package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesFilesWithHeaders(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", "<title>facerec door access</title>"},
		{"/index.html", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/app.js", "text/javascript; charset=utf-8", `"v1/identify"`},
		{"/style.css", "text/css; charset=utf-8", "#door-overlay"},
	} {
		resp := get(t, h, http.MethodGet, tc.path, nil)
		b := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tc.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if !strings.Contains(b, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		for k, want := range map[string]string{
			"Cache-Control":           "no-cache",
			"Content-Security-Policy": ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", tc.path, k, got, want)
			}
		}
		if resp.Header.Get("ETag") == "" {
			t.Errorf("GET %s: no ETag", tc.path)
		}
	}
}

func TestPolicyAllowsOnlySelf(t *testing.T) {
	// Every fetch directive that is not 'none' must be exactly 'self': no
	// other host, scheme, 'unsafe-inline' or 'unsafe-eval'.
	directives := map[string]string{}
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		directives[f[0]] = strings.Join(f[1:], " ")
	}
	if directives["default-src"] != "'none'" {
		t.Errorf("default-src %q, want 'none'", directives["default-src"])
	}
	for name, v := range directives {
		if v != "'self'" && v != "'none'" {
			t.Errorf("%s %q allows more than the page's own origin", name, v)
		}
	}
	for _, name := range []string{"script-src", "style-src", "connect-src", "frame-ancestors"} {
		if _, ok := directives[name]; !ok {
			t.Errorf("policy has no %s", name)
		}
	}
}

func TestRevalidationGets304(t *testing.T) {
	h := Handler()
	first := get(t, h, http.MethodGet, "/app.js", nil)
	etag := first.Header.Get("ETag")
	again := get(t, h, http.MethodGet, "/app.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match %s: status %d, want 304", etag, again.StatusCode)
	}
	if b := body(t, again); b != "" {
		t.Errorf("304 carried a body of %d bytes", len(b))
	}
	other := get(t, h, http.MethodGet, "/style.css", nil).Header.Get("ETag")
	if other == etag {
		t.Errorf("app.js and style.css share the ETag %s", etag)
	}
}

func TestRejectsOtherPathsAndMethods(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/static/app.js", "/web.go", "/v1/people", "/../web.go", "/app.js/", "/favicon.ico"} {
		if resp := get(t, h, http.MethodGet, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
	resp := get(t, h, http.MethodPost, "/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", resp.StatusCode)
	}
	if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST /: Allow %q", got)
	}
	head := get(t, h, http.MethodHead, "/", nil)
	if head.StatusCode != http.StatusOK || body(t, head) != "" {
		t.Errorf("HEAD /: status %d, want 200 with no body", head.StatusCode)
	}
}

func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	page := body(t, get(t, Handler(), http.MethodGet, "/", nil))
	for _, m := range regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if u := m[1]; strings.Contains(u, ":") || strings.HasPrefix(u, "//") {
			t.Errorf("page refers to %q, outside its own origin", u)
		}
	}
	// Inline script or style would be blocked by the policy.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) {
		t.Error("page has an inline script")
	}
	if strings.Contains(page, "<style") || strings.Contains(page, "style=") {
		t.Error("page has inline style")
	}
}

// TestScriptElementsExist catches a renamed element that the script would
// then fail to find (a null dereference at load, leaving a dead page).
func TestScriptElementsExist(t *testing.T) {
	h := Handler()
	page := body(t, get(t, h, http.MethodGet, "/", nil))
	script := body(t, get(t, h, http.MethodGet, "/app.js", nil))
	ids := regexp.MustCompile(`\$\("([^"]+)"\)`).FindAllStringSubmatch(script, -1)
	if len(ids) < 10 {
		t.Fatalf("found only %d element look-ups in app.js; the pattern is stale", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("app.js looks up #%s, which index.html lacks", m[1])
		}
	}
	// Every form control has a label, for screen readers.
	for _, m := range regexp.MustCompile(`<input[^>]*\bid="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `for="`+m[1]+`"`) {
			t.Errorf("input #%s has no label", m[1])
		}
	}
}
