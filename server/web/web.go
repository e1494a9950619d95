// Package web serves the door-access web page: the door check (the webcam,
// or a photo chosen or dropped, for machines without a camera) with close
// calls marked and the recent door decisions; enrolment from a photo or a
// webcam snapshot, which asks before adding to a name already enrolled and
// asks which face of a photo of several; "are these the same person?" for
// two photos; the people list with its person view (rename, add a face,
// delete). The page is plain HTML, JavaScript and CSS embedded in the
// binary; it talks to the JSON API (/v1/...) of the same origin, so it
// needs no build step and loads nothing from elsewhere. docs/web.md shows
// each state.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every file. Everything comes from the
// page's own origin; there is no inline script or style, so an injected
// name (for example) cannot run code. The webcam stream is attached with
// srcObject, which no fetch directive governs, and snapshots are drawn on
// canvases, so media and images need no blob: or data: sources.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; form-action 'none'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// file is one embedded file, read once at start.
type file struct {
	name        string
	contentType string
	body        []byte
	etag        string
}

// files maps a request path to its file. Only these paths are served;
// anything else is 404, so the handler can be mounted at "/" without
// shadowing the API's own not-found answers with a page.
var files = mustLoad(map[string]string{
	"/":           "index.html",
	"/index.html": "index.html",
	"/app.js":     "app.js",
	"/style.css":  "style.css",
	// Without an icon the browser asks for /favicon.ico, a 404 in the
	// console of every visit.
	"/favicon.svg": "favicon.svg",
})

// contentTypes is set explicitly rather than from the system MIME tables,
// which differ between machines and would let a missing table turn app.js
// into text/plain (which the browser then refuses to run under nosniff).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

func mustLoad(routes map[string]string) map[string]*file {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(fmt.Sprintf("web: embedded files: %v", err))
	}
	loaded := map[string]*file{}
	out := map[string]*file{}
	for route, name := range routes {
		f, ok := loaded[name]
		if !ok {
			body, err := fs.ReadFile(sub, name)
			if err != nil {
				// The files are compiled in, so this is a build mistake, not
				// a runtime condition.
				panic(fmt.Sprintf("web: embedded file %s: %v", name, err))
			}
			ct, ok := contentTypes[path.Ext(name)]
			if !ok {
				panic(fmt.Sprintf("web: no content type for %s", name))
			}
			sum := sha256.Sum256(body)
			f = &file{
				name:        name,
				contentType: ct,
				body:        body,
				etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
			}
			loaded[name] = f
		}
		out[route] = f
	}
	return out
}

// Handler returns the handler for the page and its assets. Mount it at "/"
// beside the API; it answers GET and HEAD for "/", "/index.html",
// "/app.js", "/style.css" and "/favicon.svg", and 404 for any other path.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	f, ok := files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	// no-cache still lets the browser keep the file but makes it ask each
	// time; the ETag turns that into a cheap 304, and a new binary's page
	// is never mixed with an old cached script.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// The page needs the camera; nothing else.
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	// ServeContent answers If-None-Match (from the ETag above) and Range.
	// The zero modification time keeps it from sending Last-Modified.
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}
