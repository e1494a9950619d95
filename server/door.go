package server

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
)

// CloseCallBand is how near the threshold a face's distance to its
// nearest person makes the decision a close call: the answer stands, but a
// guard should look (a stranger at 0.62 against a threshold of 0.61, or a
// match at 0.60). The history marks such decisions, and /v1/info tells the
// page the band.
const CloseCallBand = 0.05

// flag reads an optional boolean field: absent, "", "0" or "false" is
// false; "1" or "true" is true.
func (f *form) flag(name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(f.text[name])) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, errorf(http.StatusBadRequest, CodeInvalidField, "%s must be 1 or 0 (true or false), got %q", name, f.text[name])
}

// faceChoice is the face a request picked in its photo: an index into the
// faces of a multiple_faces answer, or a box; the zero value picks none
// (the subject policy decides).
type faceChoice struct {
	index int // -1: none
	box   *face.Rect
}

// faceChoice reads the optional face=N or box=x,y,w,h of an enrolment.
func (f *form) faceChoice() (faceChoice, error) {
	c := faceChoice{index: -1}
	fs, hasFace := f.text["face"]
	bs, hasBox := f.text["box"]
	if hasFace && hasBox {
		return c, errorf(http.StatusBadRequest, CodeInvalidField, "send face or box, not both")
	}
	if hasFace {
		n, err := strconv.Atoi(strings.TrimSpace(fs))
		if err != nil || n < 0 || n > 1000 {
			return c, errorf(http.StatusBadRequest, CodeInvalidField, "face must be the index of a face (0, 1, ...), got %q", fs)
		}
		c.index = n
	}
	if hasBox {
		parts := strings.Split(bs, ",")
		var v [4]float64
		ok := len(parts) == 4
		for i := 0; ok && i < 4; i++ {
			x, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
			ok = err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) && math.Abs(x) < 1e6
			v[i] = x
		}
		if !ok || v[2] <= 0 || v[3] <= 0 {
			return c, errorf(http.StatusBadRequest, CodeInvalidField, "box must be x,y,w,h in pixels with a positive width and height, got %q", bs)
		}
		c.box = &face.Rect{X: v[0], Y: v[1], W: v[2], H: v[3]}
	}
	return c, nil
}

// choose makes the photo to enrol, with the face the request picked.
func (s *Server) choose(ctx context.Context, c faceChoice, img image.Image, data []byte) (recognition.Photo, error) {
	ph := recognition.Photo{Image: img, Data: data, Face: c.box}
	if c.index >= 0 {
		choices, err := s.svc.ChoicesOf(ctx, img)
		if err != nil {
			return ph, err
		}
		if c.index >= len(choices) {
			return ph, errorf(http.StatusBadRequest, CodeInvalidField,
				"face=%d, but the photo has %d face(s) to choose from (0 to %d)", c.index, len(choices), len(choices)-1)
		}
		ph.Face = &choices[c.index]
	}
	return ph, nil
}

// nameLocks serialises the enrolments of one name (compared as
// gallery.SameName does, up to case and spaces).
type nameLocks struct {
	mu    sync.Mutex
	names map[string]*nameLock
}

type nameLock struct {
	mu   sync.Mutex
	refs int
}

func (l *nameLocks) lock(name string) (unlock func()) {
	key := strings.ToLower(strings.Join(strings.Fields(name), " "))
	l.mu.Lock()
	if l.names == nil {
		l.names = map[string]*nameLock{}
	}
	e := l.names[key]
	if e == nil {
		e = &nameLock{}
		l.names[key] = e
	}
	e.refs++
	l.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.names, key)
		}
		l.mu.Unlock()
	}
}

// renamePerson is PATCH /v1/people/{id} with {"name": "..."}.
func (s *Server) renamePerson(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name *string `json:"name"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if fe := formError(err); errors.As(fe, new(*http.MaxBytesError)) || errors.Is(fe, context.DeadlineExceeded) {
			return fe
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, `the body must be JSON like {"name": "New Name"}: %v`, err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, CodeBadRequest, `the body must be one JSON object like {"name": "New Name"}`)
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return formError(err)
	}
	if body.Name == nil {
		return errorf(http.StatusBadRequest, CodeMissingField, `the field "name" is required`)
	}
	name, err := checkName(*body.Name)
	if err != nil {
		return err
	}
	p, err := s.gal.Rename(r.Context(), r.PathValue("id"), name)
	if err != nil {
		return err
	}
	s.history.rename(p.ID, p.Name)
	if err := s.change(r, audit.ActionRename, p.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPersonJSON(p))
	return nil
}

// compare is POST /v1/compare: are the people of two photos the same?
func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, []string{"photo1", "photo2"})
	if err != nil {
		return err
	}
	var data [2][]byte
	for i, name := range []string{"photo1", "photo2"} {
		if data[i], err = f.requireFile(name); err != nil {
			return err
		}
	}
	explain, err := s.wantExplain(r)
	if err != nil {
		return err
	}
	// Both photos are decoded inside one slot: one comparison is one
	// piece of work, and two slots held by one request could deadlock
	// against another's.
	var d decisionAnswer
	err = s.recognize(r.Context(), data[0], func(ctx context.Context, a image.Image) error {
		b, err := s.decode(data[1])
		if err != nil {
			return &recognition.PhotoError{Index: 1, Of: 2, Err: err}
		}
		if d.Decision, err = s.svc.Compare(ctx, a, b); err != nil || !explain {
			return err
		}
		d.Explanation, err = s.explainPair(ctx, a, b)
		return err
	})
	var pe *recognition.PhotoError
	if err != nil && !errors.As(err, &pe) && isDecodeError(err) {
		// recognize's own decoding error is the first photo's.
		err = &recognition.PhotoError{Index: 0, Of: 2, Err: err}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// isDecodeError reports whether err is photo.Decode's about its input.
func isDecodeError(err error) bool {
	return errors.Is(err, photo.ErrTooLarge) || errors.Is(err, photo.ErrUnknownFormat) || errors.Is(err, photo.ErrCorrupt)
}

// info is GET /v1/info: what the page needs to know before a key is
// entered.
func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"auth":            s.auth,
		"threshold":       s.threshold(),
		"close_call_band": CloseCallBand,
		"history":         s.history.size(),
		"thumbnails":      s.cfg.Thumbnails,
		"audit":           s.cfg.Audit != nil,
	})
	return nil
}

// threshold is the distance in force for identification against the
// gallery as it is now (a calibrated rule tightens it as people are
// enrolled).
func (s *Server) threshold() float64 {
	people := 1
	if g := s.svc.Gallery(); g != nil {
		people, _ = g.Size()
	}
	return s.svc.Rule().ThresholdFor(people)
}

// closeCall reports whether a distance is within CloseCallBand of the
// threshold.
func closeCall(distance, threshold float64) bool {
	return math.Abs(distance-threshold) < CloseCallBand
}
