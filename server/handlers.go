package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
)

// Limits of the API's parameters.
const (
	defaultLimit = 100
	maxLimit     = 1000
	defaultK     = 3
	maxK         = 100
	maxFieldLen  = 4096 // bytes of any text field
)

// personJSON is a person as the API shows them.
type personJSON struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Faces   int       `json:"faces"`
	Created time.Time `json:"created"`
	// Thumbnail is a small JPEG of the face, base64, when one was kept
	// (Config.Thumbnails).
	Thumbnail string `json:"thumbnail,omitempty"`
	// QualityWarnings are the quality reasons of the photo just enrolled
	// when the server enrols poor photos with a warning (serve --quality
	// warn).
	QualityWarnings []string `json:"quality_warnings,omitempty"`
}

func toPersonJSON(p gallery.Person) personJSON {
	return personJSON{ID: p.ID, Name: p.Name, Faces: p.Faces, Created: p.Created, Thumbnail: p.Metadata[ThumbnailKey]}
}

// form is a parsed request body: a multipart/form-data form, or a raw
// image body (see readForm).
type form struct {
	text  map[string]string
	files map[string][]byte // absent when not sent
}

// photoFile is the name of the one photo of most endpoints.
const photoFile = "photo"

// rawImage reports whether a Content-Type is a raw image body: image/*
// (image/jpeg, image/png, image/webp, ...) or application/octet-stream, as
// cameras and `curl --data-binary` send. The format is sniffed from the
// bytes, whatever the header says.
func rawImage(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (strings.HasPrefix(mt, "image/") || mt == "application/octet-stream")
}

// readForm reads a request's photos and text fields. The body is either
// multipart/form-data, holding the named files and text fields (other
// parts are skipped, as a browser may add its own), or, when the endpoint
// takes one file, a raw image (see rawImage) that is that file. The text
// fields may also come in the query string (?name=...), which is where a
// raw body's go; a form field wins over the query.
func readForm(r *http.Request, files []string, fields ...string) (*form, error) {
	f := &form{text: map[string]string{}, files: map[string][]byte{}}
	if ct := r.Header.Get("Content-Type"); rawImage(ct) {
		if len(files) != 1 {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest,
				"this endpoint takes %d photos (%s): send them as multipart/form-data", len(files), strings.Join(files, ", "))
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, formError(err)
		}
		f.files[files[0]] = b
	} else if err := f.readMultipart(r, files, fields); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	for _, name := range fields {
		if _, ok := f.text[name]; ok || !q.Has(name) {
			continue
		}
		v := q.Get(name)
		if len(v) > maxFieldLen {
			return nil, errorf(http.StatusBadRequest, CodeInvalidField, "parameter %q is over %d bytes", name, maxFieldLen)
		}
		f.text[name] = v
	}
	return f, nil
}

func (f *form) readMultipart(r *http.Request, files, fields []string) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return errorf(http.StatusBadRequest, CodeBadRequest,
			"the body must be multipart/form-data or a raw image (Content-Type: image/jpeg, image/png or image/webp): %v", err)
	}
	for {
		part, err := mr.NextPart()
		// Only a bare io.EOF is the closing boundary; a wrapped one is a
		// body that ended early, such as an empty body.
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formError(err)
		}
		name := part.FormName()
		switch {
		case slices.Contains(files, name):
			if _, dup := f.files[name]; dup {
				return errorf(http.StatusBadRequest, CodeInvalidField, "send one file %q per request", name)
			}
			b, err := io.ReadAll(part)
			if err != nil {
				return formError(err)
			}
			f.files[name] = b
		case slices.Contains(fields, name):
			b, err := io.ReadAll(io.LimitReader(part, maxFieldLen+1))
			if err != nil {
				return formError(err)
			}
			if len(b) > maxFieldLen {
				return errorf(http.StatusBadRequest, CodeInvalidField, "field %q is over %d bytes", name, maxFieldLen)
			}
			f.text[name] = string(b)
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return formError(err)
			}
		}
		part.Close()
	}
}

// formError classifies an error while reading the body: over the size
// limit (kept as it is, for classify), or malformed.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	// A body that stopped arriving is the network's fault, not the
	// client's syntax.
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return errorf(http.StatusRequestTimeout, CodeRequestTimeout, "the request body did not arrive in time")
	}
	return errorf(http.StatusBadRequest, CodeBadRequest, "malformed multipart body: %v", err)
}

// field returns a required text field.
func (f *form) field(name string) (string, error) {
	v, ok := f.text[name]
	if !ok {
		return "", errorf(http.StatusBadRequest, CodeMissingField, "the form field %q is required", name)
	}
	return v, nil
}

// requireFile returns a file, which is required.
func (f *form) requireFile(name string) ([]byte, error) {
	b, ok := f.files[name]
	if !ok {
		return nil, errorf(http.StatusBadRequest, CodeMissingField,
			"the form file %q is required (or send the photo as the body, with Content-Type: image/jpeg, image/png or image/webp)", name)
	}
	return b, nil
}

// requirePhoto returns the photo, which is required.
func (f *form) requirePhoto() ([]byte, error) { return f.requireFile(photoFile) }

// checkName validates a person's name before the costly recognition (the
// gallery's rule: gallery.CleanName), with a message for people.
func checkName(name string) (string, error) {
	name, err := gallery.CleanName(name)
	if err != nil {
		return "", errorf(http.StatusBadRequest, CodeInvalidField, "%s", strings.TrimPrefix(err.Error(), gallery.ErrInvalid.Error()+": "))
	}
	return name, nil
}

// intParam reads an optional integer query parameter in [lo, hi]; above hi
// is clamped to hi (the answer says which value was used).
// serviceFor is the service with the decision the request asks for: the
// server's, or with ?far= (a preset's name or a rate) a calibrated one at
// that rate. Any key may make the door stricter; only a full key may make
// it more lenient than the server's.
func (s *Server) serviceFor(r *http.Request) (*recognition.Service, error) {
	q := r.URL.Query().Get("far")
	if q == "" {
		return s.svc, nil
	}
	rule := s.svc.Rule()
	if rule.Calibration == nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidField, "far: the descriptor model %s has no calibration; this server decides with its fixed threshold", rule.Model)
	}
	far, err := face.ParseFAR(q)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidField, "%v", err)
	}
	current := rule.FAR
	if current <= 0 {
		current = 1 // a fixed threshold: any calibrated rate is "stricter" only by name; full keys only
	}
	if far > current && scopeOf(r.Context()) != ScopeFull {
		return nil, errorf(http.StatusForbidden, CodeForbidden, "far: this key may only make the decision stricter than the server's (%g)", rule.FAR)
	}
	rule.FAR = far
	return s.svc.WithRule(rule)
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo {
		return 0, errorf(http.StatusBadRequest, CodeInvalidField, "%s must be an integer of at least %d, got %q", name, lo, s)
	}
	return min(v, hi), nil
}

// recognize decodes a photo and runs fn on it, in one of the limited
// recognition slots. fn gets the request's context: when the request times
// out or the client goes away, the pipeline stops at its next stage and
// the slot is freed; until then the abandoned work still counts against
// the limit.
func (s *Server) recognize(ctx context.Context, data []byte, fn func(context.Context, image.Image) error) error {
	if err := s.lim.acquire(ctx); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		defer s.lim.release()
		defer func() {
			// Outside the request's goroutine a panic would kill the
			// process; here it becomes the request's 500.
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic recognising a photo: %v", p)
			}
		}()
		img, err := s.decode(data)
		if err != nil {
			done <- err
			return
		}
		done <- fn(ctx, img)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decode decodes a photo within the server's limits.
func (s *Server) decode(data []byte) (image.Image, error) {
	img, _, err := photo.Decode(bytes.NewReader(data), photo.Options{MaxPixels: s.cfg.MaxPixels, MaxBytes: s.cfg.MaxBodyBytes})
	return img, err
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, []string{photoFile}, "name", "new", "face", "box")
	if err != nil {
		return err
	}
	name, err := f.field("name")
	if err != nil {
		return err
	}
	if name, err = checkName(name); err != nil {
		return err
	}
	asNew, err := f.flag("new")
	if err != nil {
		return err
	}
	pick, err := f.faceChoice()
	if err != nil {
		return err
	}
	data, err := f.requirePhoto()
	if err != nil {
		return err
	}
	// A name is checked and enrolled under its lock, so that two requests
	// of this server cannot both find it free (nodes sharing a PostgreSQL
	// gallery do not share this lock).
	unlock := s.names.lock(name)
	defer unlock()
	if !asNew {
		same, err := s.gal.PeopleNamed(r.Context(), name)
		if err != nil {
			return fmt.Errorf("looking up the name %q: %w", name, err)
		}
		if len(same) > 0 {
			p := toPersonJSON(same[0])
			return &apiError{status: http.StatusConflict, code: CodeNameExists, person: &p,
				message: fmt.Sprintf("%s is already enrolled (id %s): add this photo to them with POST /v1/people/%s/faces, "+
					"or send new=1 to enrol another person of the same name", p.Name, p.ID, p.ID)}
		}
	}
	var p gallery.Person
	var warnings []string
	err = s.recognize(r.Context(), data, func(ctx context.Context, img image.Image) error {
		ph, err := s.choose(ctx, pick, img, data)
		if err != nil {
			return err
		}
		if s.cfg.Thumbnails {
			ph.Meta = thumbnailMeta
		}
		ph.OnQuality = func(q analysis.Quality) { warnings = q.Reasons }
		p, err = s.svc.Enroll(ctx, name, nil, ph)
		return err
	})
	if err != nil {
		return fmt.Errorf("enrolling %q: %w", name, err)
	}
	if err := s.change(r, audit.ActionEnroll, p.ID); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/people/"+p.ID)
	pj := toPersonJSON(p)
	pj.QualityWarnings = warnings
	writeJSON(w, http.StatusCreated, pj)
	return nil
}

func (s *Server) addFace(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	f, err := readForm(r, []string{photoFile}, "face", "box")
	if err != nil {
		return err
	}
	pick, err := f.faceChoice()
	if err != nil {
		return err
	}
	data, err := f.requirePhoto()
	if err != nil {
		return err
	}
	// Unknown people are answered before the costly recognition.
	if _, err := s.gal.Person(r.Context(), id); err != nil {
		return err
	}
	var p gallery.Person
	var warnings []string
	err = s.recognize(r.Context(), data, func(ctx context.Context, img image.Image) error {
		ph, err := s.choose(ctx, pick, img, data)
		if err != nil {
			return err
		}
		ph.OnQuality = func(q analysis.Quality) { warnings = q.Reasons }
		p, err = s.svc.AddFace(ctx, id, ph)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.change(r, audit.ActionAddFace, p.ID); err != nil {
		return err
	}
	pj := toPersonJSON(p)
	pj.QualityWarnings = warnings
	writeJSON(w, http.StatusCreated, pj)
	return nil
}

func (s *Server) listPeople(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	offset, err := intParam(r, "offset", 0, 0, int(^uint32(0)>>1))
	if err != nil {
		return err
	}
	people, total, err := s.gal.People(r.Context(), limit, offset)
	if err != nil {
		return fmt.Errorf("listing people: %w", err)
	}
	out := struct {
		People []personJSON `json:"people"`
		Total  int          `json:"total"`
		Limit  int          `json:"limit"`
		Offset int          `json:"offset"`
	}{People: make([]personJSON, 0, len(people)), Total: total, Limit: limit, Offset: offset}
	for _, p := range people {
		out.People = append(out.People, toPersonJSON(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request) error {
	p, err := s.gal.Person(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPersonJSON(p))
	return nil
}

func (s *Server) deletePerson(w http.ResponseWriter, r *http.Request) error {
	if err := s.gal.DeletePerson(r.Context(), r.PathValue("id")); err != nil {
		if errors.Is(err, gallery.ErrUnavailable) {
			s.log.ErrorContext(r.Context(), "deletion not stored", "err", err)
			return &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable, retryAfter: 5,
				message: "the deletion could not be stored: the person no longer matches on this server, " +
					"but the gallery still holds them, and they match again after a restart unless the deletion is retried"}
		}
		return err
	}
	s.history.forget(r.PathValue("id"))
	if err := s.change(r, audit.ActionDelete, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) identify(w http.ResponseWriter, r *http.Request) error {
	k, err := intParam(r, "k", defaultK, 1, maxK)
	if err != nil {
		return err
	}
	f, err := readForm(r, []string{photoFile})
	if err != nil {
		return err
	}
	data, err := f.requirePhoto()
	if err != nil {
		return err
	}
	svc, err := s.serviceFor(r)
	if err != nil {
		return err
	}
	var results []recognition.FaceResult
	err = s.recognize(r.Context(), data, func(ctx context.Context, img image.Image) (err error) {
		results, err = svc.Identify(ctx, img, k)
		return err
	})
	if err != nil {
		if evs := s.refusal(err, ""); evs != nil {
			if aerr := s.record(r, evs); aerr != nil {
				return aerr
			}
		}
		return err
	}
	threshold := s.threshold()
	if err := s.record(r, s.identifyEvents(results, threshold)); err != nil {
		return err
	}
	s.history.record(results, threshold)
	if scopeOf(r.Context()) != ScopeFull {
		// A recognize key learns the decision for the faces it sent and
		// nothing else: the nearest strangers' names would list the gallery.
		for i := range results {
			results[i].Candidates = []recognition.Match{}
			if m := results[i].Match; m != nil {
				results[i].Candidates = append(results[i].Candidates, *m)
			}
			if v := results[i].Verdict; v != nil {
				// The margin is the distance of somebody else.
				w := *v
				w.Margin = nil
				results[i].Verdict = &w
			}
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Faces []recognition.FaceResult `json:"faces"`
	}{results})
	return nil
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, []string{photoFile}, "person_id")
	if err != nil {
		return err
	}
	id, err := f.field("person_id")
	if err != nil {
		return err
	}
	data, err := f.requirePhoto()
	if err != nil {
		return err
	}
	if _, err := s.gal.Person(r.Context(), id); err != nil {
		return err
	}
	svc, err := s.serviceFor(r)
	if err != nil {
		return err
	}
	explain, err := s.wantExplain(r)
	if err != nil {
		return err
	}
	if explain && scopeOf(r.Context()) != ScopeFull {
		return errorf(http.StatusForbidden, CodeForbidden, "explain: only a full key may see the explanation of a verification, which is computed against an enrolled face")
	}
	var d decisionAnswer
	err = s.recognize(r.Context(), data, func(ctx context.Context, img image.Image) (err error) {
		if d.Decision, err = svc.Verify(ctx, id, img); err != nil || !explain {
			return err
		}
		d.Explanation, err = s.explainVerify(ctx, id, img)
		return err
	})
	if err != nil {
		if evs := s.refusal(err, id); evs != nil {
			if aerr := s.record(r, evs); aerr != nil {
				return aerr
			}
		}
		return fmt.Errorf("verifying %s: %w", id, err)
	}
	if err := s.record(r, []audit.Event{s.verifyEvent(id, d.Decision)}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// healthz is liveness: the process answers (200 whatever its
// dependencies do, since restarting it would not mend them), and says which
// dependency is failing.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	out := map[string]string{"status": "ok", "store": "ok", "feed": "ok"}
	if err := s.store.checkNow(r.Context()); err != nil {
		out["status"], out["store"] = "degraded", err.Error()
	}
	switch f := s.gal.Feed(); {
	case !f.Following || s.cfg.FollowInterval < 0:
		out["feed"] = "off: the store keeps no change feed, changes made elsewhere are not searched here"
	case f.Err != nil:
		out["status"], out["feed"] = "degraded", fmt.Sprintf("stale since %s: %v", f.Synced.UTC().Format(time.RFC3339), f.Err)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readyz is readiness, for load balancers: 503 while the gallery's store
// does not take writes, so that enrolments and, above all, deletions go to
// a node that can make them.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.checkNow(r.Context()); err != nil {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "store": err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": "ok"})
	return nil
}

// storeCheck runs the gallery's write check at most once per
// storeCheckEvery, so that probes cost one small write a few seconds.
type storeCheck struct {
	check func(context.Context) error
	mu    sync.Mutex
	at    time.Time
	err   error
}

const storeCheckEvery = 2 * time.Second

func (c *storeCheck) checkNow(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < storeCheckEvery {
		return c.err
	}
	ctx, cancel := context.WithTimeout(ctx, storeCheckEvery)
	defer cancel()
	c.err, c.at = c.check(ctx), time.Now()
	return c.err
}
