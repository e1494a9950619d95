// Package server is facerec's HTTP API: enrol a person from one photo,
// then answer who is in any photo (or nobody known), as a door-access
// system needs.
//
// # Endpoints
//
// The full description is the OpenAPI 3 document served at /openapi.json
// (docs/api.md renders it). In short:
//
//	POST   /v1/people             name + photo → 201 {"id","name","faces":1,"created"}
//	                              (409 name_exists with the person when the name is enrolled, unless new=1;
//	                              face=N or box=x,y,w,h picks the face of a photo with several)
//	GET    /v1/people             ?limit= (default 100, at most 1000) &offset= → {"people","total","limit","offset"}
//	                              (each person with "thumbnail", a small base64 JPEG, when Config.Thumbnails kept one)
//	GET    /v1/people/{id}        → {"id","name","faces","created"}
//	PATCH  /v1/people/{id}        JSON {"name"} → the person renamed
//	DELETE /v1/people/{id}        → 204
//	POST   /v1/people/{id}/faces  photo (face=N or box=) → 201 the person, one face more
//	POST   /v1/identify           photo, ?k= (default 3, at most 100) →
//	                              {"faces":[{"box":[x,y,w,h],"score","match":{"id","name","distance"}|null,"candidates":[...]}]}
//	                              (with a recognize key the candidates are the match alone: a
//	                              door learns who it saw, never who else is enrolled)
//	POST   /v1/verify             person_id + photo → {"distance","threshold","same"}
//	POST   /v1/compare            photo1 + photo2 → {"distance","threshold","same"}: the same person?
//	                              (?explain=1 on either adds "explanation": heatmaps over photo A of
//	                              the pixels that made the distance, PNG data URLs; Config.Explainer)
//	GET    /v1/history            ?limit= → {"events":[...],"size"}: the latest door decisions, newest first
//	GET    /v1/events             ?since=&limit=&kind= → {"events":[...],"limit"}: the latest audit records, newest first
//	                              (Config.Audit; 404 without it)
//	GET    /v1/info               → {"auth","threshold","close_call_band","history"} (no key needed)
//	GET    /openapi.json          the OpenAPI 3 description (no key needed)
//	POST   /v1/verify             multipart person_id + photo → {"distance","threshold","same"}
//	POST   /v1/analyze            multipart photo → {"faces":[{"box","score","liveness","age","gender",...,"pose","quality"}]}
//	POST   /v1/challenge          multipart kind=turn|blink, frame1..frame12 → {"passed","reason","yaw_min","yaw_max","parallax","blinks",...}
//	                              (Config.Analysis; 404 without it; nothing is stored)
//	GET    /healthz               → {"status":"ok"|"degraded","store":"ok"|what fails} (200: liveness)
//	GET    /readyz                → {"status":"ready"|"not ready","store":...} (503 while the gallery takes no writes)
//	GET    /metrics               Prometheus text format
//	GET    /                      the web page
//
// A photo is a multipart/form-data file ("photo", or "photo1" and
// "photo2"), or, for the endpoints of one photo, the whole body with
// Content-Type image/jpeg, image/png, image/webp (any image/* or
// application/octet-stream: the format is read from the bytes); the text
// fields (name, person_id, new, face, box) may then come in the query
// string, e.g. curl --data-binary @me.jpg -H 'Content-Type: image/jpeg'
// 'http://127.0.0.1:8080/v1/people?name=Me'.
//
// Enrolling a name that is already enrolled (compared up to case and
// spaces) is refused with 409 name_exists, whose error names the person:
// add the photo to them (POST /v1/people/{id}/faces) or ask for a second
// person of the same name with new=1. Two people of one name are allowed,
// never made by accident.
//
// The server is an adapter over a recognition.Service: an enrolment or
// verification photo is a labelled photo, whose subject is chosen by
// face.Pipeline.Subject (the face at the centre; a photo where another face
// could as well be the subject is refused with multiple_faces), and an
// identification photo counts every face in it.
//
// # Errors
//
// Every error is JSON {"error":{"code","message"}}, the message a sentence
// for people, and error.photo (1 or 2) says which photo of a comparison
// it is about. The code is stable:
//
//	400 bad_request          the body is not well-formed multipart/form-data (nor a raw image, nor the JSON asked for)
//	400 missing_field        a required form field (name, photo, person_id) is absent
//	400 invalid_field        a field or query parameter has a bad value
//	401 unauthorized         no API key, or an unknown one
//	403 forbidden            the key's scope does not allow the request
//	404 not_found            no such person, or no such endpoint
//	405 method_not_allowed   (with an Allow header)
//	429 too_many_requests    too many failed authentications from this address (with Retry-After)
//	408 request_timeout      the request body stopped arriving (the server's read timeout)
//	409 model_mismatch       the person's faces were made by another model version
//	409 name_exists          the name is enrolled (error.person is who; new=1 enrols another)
//	413 too_large            the body is over Config.MaxBodyBytes, or the image over Config.MaxPixels
//	415 unsupported_format   the photo is not an image in a supported format
//	422 corrupt_image        the photo is truncated or malformed
//	422 no_face              no face in the photo (or at the chosen box)
//	422 multiple_faces       several faces, none clearly in front (error.faces lists their boxes, left to right)
//	422 poor_quality         the enrolment photo is too poor (error.quality holds its measures and reasons)
//	500 internal             a server fault (logged; details are not sent)
//	503 busy                 every recognition slot stayed taken (with Retry-After)
//	503 store_unavailable    the gallery cannot be written now: read-only or full disk, database gone (with Retry-After)
//	503 audit_unavailable    the audit log (Config.Audit) could not record the decision or change (with Retry-After)
//	503 timeout              the request ran past Config.RequestTimeout
//
// # Keys
//
// Requests carry "Authorization: Bearer KEY". The master key
// (FACEREC_API_KEY) has ScopeFull; keys made with CreateKey (`facerec keys
// create`) have the scope they were made with, and only their SHA-256 is
// stored, in a keys file beside the gallery database. /healthz and the web
// page need no key (probes and browsers cannot send one); /metrics,
// /v1/identify, /v1/verify and /v1/compare need any key; /v1/info and
// /openapi.json none; the rest (the people, the history, the audit
// records of /v1/events) needs ScopeFull.
//
// With no key configured at all when the server starts, every request is
// allowed, and the server refuses to listen anywhere but on loopback; it
// then answers only requests that name a loopback host and, when a browser
// sends them, come from a page of a loopback origin (403 otherwise), so that
// another web site open on the machine cannot use it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server/web"
	"github.com/facerec/facerec/visualize"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxBodyBytes   = 20 << 20
	DefaultMaxPixels      = 16_000_000
	DefaultRequestTimeout = 30 * time.Second
	DefaultQueueWait      = 2 * time.Second
)

// Config configures a Server. Service is required, with a gallery; every
// zero field means its documented default.
type Config struct {
	// Service recognises the photos and keeps the gallery; the decision
	// (its model and threshold) is the service's.
	Service *recognition.Service
	// Keys are the accepted API keys; nil or empty means none, which
	// allows every request and restricts the server to loopback.
	Keys *Keys
	// MaxBodyBytes caps a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxPixels caps a photo's width×height, checked from its header
	// before decoding (default DefaultMaxPixels: a 16 MP photo already
	// takes ~260 MB as pixels and float tensor).
	MaxPixels int
	// RequestTimeout bounds one request, from its headers to its answer
	// (default DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Concurrency is how many photos are decoded and recognised at once
	// (default GOMAXPROCS).
	Concurrency int
	// QueueWait is how long a photo waits for a free slot before the
	// answer is 503 busy (default DefaultQueueWait), and MaxQueue how many
	// may wait at once (default 4×Concurrency); more are turned away at
	// once.
	QueueWait time.Duration
	MaxQueue  int
	// Thumbnails keeps a small JPEG of each new person's enrolled face
	// (96 pixels, in the person's metadata, shown in the people list), so
	// that a guard can see who is enrolled. Off by default: without it the
	// gallery holds descriptors alone (and, with gallery.Options.KeepPhotos,
	// the photos).
	Thumbnails bool
	// HistorySize is how many recent door decisions (identifications of
	// photos with a face) GET /v1/history keeps, in memory (default
	// DefaultHistorySize; negative keeps none).
	HistorySize int
	// Web serves the pages at "/" (default web.Handler(), the door-access
	// page).
	Web http.Handler
	// Logger receives one line per request and the server's events
	// (default slog.Default()).
	Logger *slog.Logger
	// Analysis enables /v1/analyze (nil: it answers 404).
	Analysis *Analysis
	// Explainer, when set, lets /v1/verify and /v1/compare explain their
	// decision with ?explain=1: heatmaps of which pixels of photo A made
	// the distance (NewExplainer; nil: explain=1 is an invalid field). It
	// runs in the request's recognition slot and costs about one more
	// recognition of the photos and a backward pass of the descriptor.
	Explainer *visualize.Explainer
	// FollowInterval is how often Serve polls the gallery store's change
	// feed, so that enrolments and deletions made by other processes or
	// nodes are searched here too (default gallery.DefaultFollowInterval;
	// negative: never, the index then only holds this server's changes).
	FollowInterval time.Duration
	// RateLimit is how many requests a second each API key may make on
	// average, and RateBurst how many at once (a token bucket per key);
	// past it the answer is 429 too_many_requests with Retry-After.
	// 0 (the default) is no limit: the recognition slots (Concurrency,
	// MaxQueue) already bound the server's work, and a limit must fit the
	// door (see docs/security.md). RateBurst defaults to twice the rate,
	// at least 1. Requests without a key (keyless mode, /healthz) are not
	// limited by it.
	RateLimit float64
	RateBurst int
	// TLSCertFile and TLSKeyFile, both set, make Serve answer HTTPS only
	// (TLS 1.2 or newer) with this PEM certificate (chain) and key; they
	// are read by New, so a bad pair fails at start, and a renewed
	// certificate takes a restart.
	TLSCertFile, TLSKeyFile string
	// Audit, when set, receives every identification and verification
	// decision and every change to the gallery, written before the answer
	// (a record it cannot take turns the answer into 503
	// audit_unavailable); GET /v1/events reads its latest records.
	Audit *audit.Log
}

// Server is the HTTP API. It is an http.Handler; Serve and ListenAndServe
// run it with timeouts and graceful shutdown.
type Server struct {
	cfg       Config
	authFails *authLimiter
	keyRate   *keyLimiter // nil: no per-key limit
	tls       *tls.Config // nil: plain HTTP
	store     *storeCheck
	svc       *recognition.Service
	gal       *gallery.Gallery
	auth      bool // keys were configured at start: every request needs one
	mux       *http.ServeMux
	lim       *limiter
	metrics   *metrics
	log       *slog.Logger
	history   *history
	names     nameLocks
	// endpoints are the routes registered with handle, for the test that
	// holds the OpenAPI description to them.
	endpoints map[string]endpoint
}

// endpoint is a registered route's methods (without HEAD) and the key
// scope it needs.
type endpoint struct {
	methods []string
	need    Scope
}

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Service.Gallery() == nil {
		return nil, errors.New("server: no recognition service with a gallery")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.QueueWait <= 0 {
		cfg.QueueWait = DefaultQueueWait
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 4 * cfg.Concurrency
	}
	if cfg.HistorySize == 0 {
		cfg.HistorySize = DefaultHistorySize
	}
	if cfg.Web == nil {
		cfg.Web = web.Handler()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if x := cfg.Explainer; x != nil && x.ModelID() != cfg.Service.Rule().Model {
		return nil, fmt.Errorf("server: the explainer's descriptor model %s is not the service's %s", x.ModelID(), cfg.Service.Rule().Model)
	}
	if cfg.FollowInterval == 0 {
		cfg.FollowInterval = gallery.DefaultFollowInterval
	}
	s := &Server{
		cfg:  cfg,
		svc:  cfg.Service,
		gal:  cfg.Service.Gallery(),
		auth: cfg.Keys.Configured(),
		mux:  http.NewServeMux(),
		lim:  newLimiter(cfg.Concurrency, cfg.MaxQueue, cfg.QueueWait),
		log:  cfg.Logger,
	}
	if cfg.HistorySize > 0 {
		s.history = newHistory(cfg.HistorySize)
	}
	s.authFails = newAuthLimiter(s.log)
	if cfg.RateLimit < 0 || cfg.RateBurst < 0 {
		return nil, fmt.Errorf("server: negative rate limit %v/s, burst %d", cfg.RateLimit, cfg.RateBurst)
	}
	if cfg.RateLimit > 0 {
		if s.cfg.RateBurst == 0 {
			s.cfg.RateBurst = max(1, int(math.Ceil(2*cfg.RateLimit)))
		}
		s.keyRate = newKeyLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("server: TLS needs both a certificate and a key file")
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: TLS certificate: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.store = &storeCheck{check: s.gal.Check}
	if cfg.Keys != nil {
		cfg.Keys.setLogger(s.log)
		if cfg.Keys.weakMaster() {
			s.log.Warn("the master key (FACEREC_API_KEY) is short enough to guess: use at least " + fmt.Sprint(minMasterKeyLen) + " random characters, e.g. from `facerec keys create`")
		}
	}
	s.metrics = newMetrics(s.gal, s.lim)
	s.routes()
	return s, nil
}

// AuthRequired reports whether requests need a key: whether any key was
// configured when the server was made.
func (s *Server) AuthRequired() bool { return s.auth }

// handlerFunc is an endpoint: it writes a success, or returns the error
// for the client.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// needNone marks an endpoint open to requests without a key.
const needNone Scope = ""

func (s *Server) routes() {
	s.handle("/v1/people", ScopeFull, map[string]handlerFunc{http.MethodGet: s.listPeople, http.MethodPost: s.enroll})
	s.handle("/v1/people/{id}", ScopeFull, map[string]handlerFunc{http.MethodGet: s.getPerson, http.MethodDelete: s.deletePerson,
		http.MethodPatch: s.renamePerson})
	s.handle("/v1/people/{id}/faces", ScopeFull, map[string]handlerFunc{http.MethodPost: s.addFace})
	s.handle("/v1/identify", ScopeRecognize, map[string]handlerFunc{http.MethodPost: s.identify})
	s.handle("/v1/verify", ScopeRecognize, map[string]handlerFunc{http.MethodPost: s.verify})
	s.handle("/v1/compare", ScopeRecognize, map[string]handlerFunc{http.MethodPost: s.compare})
	s.handle("/v1/history", ScopeFull, map[string]handlerFunc{http.MethodGet: s.serveHistory})
	s.handle("/v1/events", ScopeFull, map[string]handlerFunc{http.MethodGet: s.serveEvents})
	s.handle("/v1/info", needNone, map[string]handlerFunc{http.MethodGet: s.info})
	s.handle("/openapi.json", needNone, map[string]handlerFunc{http.MethodGet: serveOpenAPI})
	s.handle("/v1/analyze", ScopeRecognize, map[string]handlerFunc{http.MethodPost: s.analyze})
	s.handle("/v1/challenge", ScopeRecognize, map[string]handlerFunc{http.MethodPost: s.challenge})
	s.handle("/healthz", needNone, map[string]handlerFunc{http.MethodGet: s.healthz})
	s.handle("/readyz", needNone, map[string]handlerFunc{http.MethodGet: s.readyz})
	s.handle("/metrics", ScopeRecognize, map[string]handlerFunc{http.MethodGet: s.metrics.serve})
	// Everything else under /v1/ is a mistyped endpoint: answer in the
	// API's JSON rather than with the web page.
	s.mux.Handle("/v1/", s.wrap("/v1/", needNone, nil, func(http.ResponseWriter, *http.Request) error {
		return errorf(http.StatusNotFound, CodeNotFound, "no such endpoint")
	}))
	s.mux.Handle("/", s.instrument("/", s.cfg.Web))
}

// handle registers an endpoint with a handler per method.
func (s *Server) handle(pattern string, need Scope, methods map[string]handlerFunc) {
	allowed := make([]string, 0, len(methods)+1)
	for m := range methods {
		allowed = append(allowed, m)
	}
	if methods[http.MethodGet] != nil {
		allowed = append(allowed, http.MethodHead)
	}
	slices.Sort(allowed)
	if s.endpoints == nil {
		s.endpoints = map[string]endpoint{}
	}
	s.endpoints[pattern] = endpoint{slices.DeleteFunc(slices.Clone(allowed), func(m string) bool { return m == http.MethodHead }), need}
	allow := strings.Join(allowed, ", ")
	s.mux.Handle(pattern, s.wrap(pattern, need, methods, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, allow)
	}))
}

// wrap runs an API endpoint: method dispatch (other methods go to
// fallback), authorisation, the body limit and the request timeout; it
// reports the returned error as JSON.
func (s *Server) wrap(route string, need Scope, methods map[string]handlerFunc, fallback handlerFunc) http.Handler {
	return s.instrument(route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			// net/http drops the body of a HEAD answer.
			h, ok = methods[http.MethodGet]
		}
		if !ok {
			h = fallback
		}
		scope, err := s.authorize(r, need)
		if err == nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
			ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), scopeKey{}, scope), s.cfg.RequestTimeout)
			defer cancel()
			err = h(w, r.WithContext(ctx))
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}))
}

// fail reports err to the client, and logs server faults.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae, fault := classify(err)
	if rec, ok := w.(*recorder); ok {
		rec.code = ae.code
		if fault {
			rec.err = err
		}
	}
	if fault {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, ae)
}

// scopeKey is the context key of the request's scope.
type scopeKey struct{}

// scopeOf is the scope the request was allowed with: its key's, or
// ScopeFull on a server without keys.
func scopeOf(ctx context.Context) Scope {
	if sc, ok := ctx.Value(scopeKey{}).(Scope); ok {
		return sc
	}
	return ScopeFull
}

// authorize checks the request's key against the scope the endpoint needs
// and returns the key's scope (ScopeFull when the server has no keys).
func (s *Server) authorize(r *http.Request, need Scope) (Scope, error) {
	if !s.auth {
		return ScopeFull, checkLocal(r)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		if need == needNone {
			return needNone, nil
		}
		return "", errorf(http.StatusUnauthorized, CodeUnauthorized, "an API key is required: send Authorization: Bearer KEY")
	}
	scheme, key, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if need == needNone {
			return needNone, nil
		}
		return "", errorf(http.StatusUnauthorized, CodeUnauthorized, "the Authorization header must be Bearer KEY")
	}
	client := clientOf(r)
	if ok, wait := s.authFails.allowed(client); !ok {
		if need == needNone {
			return needNone, nil
		}
		return "", &apiError{status: http.StatusTooManyRequests, code: CodeTooManyRequests,
			message: "too many failed authentications from this address; retry later", retryAfter: max(1, int(wait.Seconds()+0.999))}
	}
	id, scope, ok := s.cfg.Keys.lookup(strings.TrimSpace(key))
	if ok && s.keyRate != nil {
		if ok, wait := s.keyRate.take(id); !ok {
			return "", &apiError{status: http.StatusTooManyRequests, code: CodeTooManyRequests,
				message:    fmt.Sprintf("this key's rate limit (%g requests a second, %d at once) is used up; retry later", s.cfg.RateLimit, s.cfg.RateBurst),
				retryAfter: max(1, int(math.Ceil(wait.Seconds())))}
		}
	}
	if !ok {
		s.authFails.failed(client)
		if need == needNone {
			return needNone, nil
		}
		return "", errorf(http.StatusUnauthorized, CodeUnauthorized, "unknown API key")
	}
	if need != needNone && !scope.allows(need) {
		return "", errorf(http.StatusForbidden, CodeForbidden, "a %s key cannot do this; it needs a %s key", scope, need)
	}
	return scope, nil
}

// recorder notes what a handler answered, for the metrics and the log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	code   string // the API error code, if any
	err    error  // the server fault, if any
}

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// instrument counts, times and logs every request, and turns a panic into
// a 500 so that one bad request cannot take the server down.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					rec.code = CodeInternal
					writeError(rec, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.observe(route, r.Method, rec.status, d)
			level := slog.LevelInfo
			switch {
			case rec.status >= 500:
				level = slog.LevelWarn
			case route == "/healthz" || route == "/readyz" || route == "/metrics":
				level = slog.LevelDebug
			case rec.status == http.StatusUnauthorized || rec.status == http.StatusTooManyRequests:
				// One line a request would let a key guesser fill the disk;
				// the failures are logged per address, once a minute.
				level = slog.LevelDebug
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
				slog.Int("status", rec.status), slog.Float64("ms", float64(d.Microseconds())/1000),
				slog.Int64("bytes", rec.bytes), slog.String("remote", r.RemoteAddr),
			}
			if rec.code != "" {
				attrs = append(attrs, slog.String("code", rec.code))
			}
			s.log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		h.ServeHTTP(rec, r)
	})
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ListenAndServe listens on addr (host:port) and serves until ctx is done;
// see Serve. Without keys, an addr that is not loopback is refused.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if err := checkAddr(addr, s.auth); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// checkLocal guards a server without keys, which trusts whoever reaches it
// on loopback: the request must name a loopback host (a DNS-rebinding page
// names its own), and a browser request must come from a page of the
// same origin (a plain cross-site form POST needs no CORS preflight,
// so without this any web page open on the machine could enrol a face).
func checkLocal(r *http.Request) error {
	if !loopbackHost(r.Host) {
		return errorf(http.StatusForbidden, CodeForbidden, "a server without API keys answers only requests to a loopback host, not %q", r.Host)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		// Same origin, not merely a loopback one: another local server's
		// page (a dev server on :3000) is another site.
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
			return errorf(http.StatusForbidden, CodeForbidden, "a server without API keys refuses requests from the web page at %q", o)
		}
	}
	return nil
}

// loopbackHost reports whether a Host header (host or host:port) names
// this machine: localhost or a loopback address.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckAddr reports whether a server with these keys may listen on addr
// (host:port): with no key at all, only on loopback. A host name is
// checked when the server has listened (see Serve); this catches the
// usual mistakes (":8080", "0.0.0.0:8080") before anything slow starts.
func CheckAddr(addr string, keys *Keys) error {
	return checkAddr(addr, keys.Configured())
}

func checkAddr(addr string, auth bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); !auth && (host == "" || (ip != nil && !ip.IsLoopback())) {
		return notLoopback(addr)
	}
	return nil
}

func notLoopback(addr string) error {
	return fmt.Errorf("server: refusing to listen on %s with no API key configured, which would give anyone "+
		"who can reach it full access: listen on 127.0.0.1, or set FACEREC_API_KEY or create a key with "+
		"`facerec keys create`", addr)
}

// Serve answers requests on ln until ctx is done, then shuts down
// gracefully: it stops accepting, lets the requests in progress finish
// (for up to RequestTimeout), and returns nil. It closes ln. Without keys,
// a listener that is not on loopback is refused.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.auth && !isLoopback(ln.Addr()) {
		ln.Close()
		return notLoopback(ln.Addr().String())
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// The body is read within the request timeout; the answer may
		// take as long again to reach a slow client.
		ReadTimeout:    s.cfg.RequestTimeout,
		WriteTimeout:   2 * s.cfg.RequestTimeout,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
		hs.TLSConfig = s.tls
		ln = tls.NewListener(ln, s.tls)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if s.cfg.FollowInterval >= 0 {
		fctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.gal.Follow(fctx, s.cfg.FollowInterval, s.followed) }()
		defer func() { stop(); <-done }()
	}
	people, faces := s.gal.Size()
	s.log.Info("serving", "url", scheme+"://"+ln.Addr().String()+"/", "auth", s.auth, "people", people, "faces", faces,
		"concurrency", s.cfg.Concurrency)
	if !s.auth {
		s.log.Warn("no API key configured: every request is allowed, so the server listens on loopback only; " +
			"set FACEREC_API_KEY or run `facerec keys create` (then restart) to require keys")
	}
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing the requests in progress")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	<-errc // http.ErrServerClosed, once Shutdown has stopped Serve
	s.log.Info("stopped")
	return nil
}

// followed logs the state changes of the gallery's change feed.
func (s *Server) followed(err error) {
	if err != nil {
		s.log.Error("cannot follow the gallery store's changes: changes made by other nodes or processes "+
			"are not searched here until it recovers", "err", err)
		return
	}
	s.log.Info("following the gallery store's changes again")
}

// isLoopback reports whether a listener only takes local connections.
func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}
