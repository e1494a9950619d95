package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
)

// Error codes of the HTTP API. They are part of the API: clients branch on
// them, so they never change once released. The HTTP status goes with each
// code as listed in the package documentation.
const (
	CodeBadRequest        = "bad_request"        // 400: body is not well-formed multipart/form-data
	CodeMissingField      = "missing_field"      // 400: a required form field is absent
	CodeInvalidField      = "invalid_field"      // 400: a field or query parameter has a bad value
	CodeUnauthorized      = "unauthorized"       // 401: no key, or an unknown key
	CodeForbidden         = "forbidden"          // 403: the key's scope does not allow this
	CodeNotFound          = "not_found"          // 404: no such person, or no such route
	CodeMethodNotAllowed  = "method_not_allowed" // 405
	CodeModelMismatch     = "model_mismatch"     // 409: the person's faces come from another model
	CodeNameExists        = "name_exists"        // 409: someone of that name is enrolled (the answer names them)
	CodeTooLarge          = "too_large"          // 413: body over the size limit, or image over the pixel limit
	CodeUnsupportedFormat = "unsupported_format" // 415: the photo is not an image in a supported format
	CodeCorruptImage      = "corrupt_image"      // 422: the photo is truncated or malformed
	CodeNoFace            = "no_face"            // 422: no face in the photo
	CodeMultipleFaces     = "multiple_faces"     // 422: several faces, none clearly in front
	CodePoorQuality       = "poor_quality"       // 422: the enrolment photo is too poor (the reasons in quality)
	CodeRequestTimeout    = "request_timeout"    // 408: the request body stopped arriving
	CodeTooManyRequests   = "too_many_requests"  // 429: too many failed authentications, or a key over its rate limit (with Retry-After)
	CodeUnavailable       = "store_unavailable"  // 503: the gallery cannot be written now (with Retry-After)
	CodeAuditUnavailable  = "audit_unavailable"  // 503: the audit log could not record the decision or change
	CodeInternal          = "internal"           // 500
	CodeBusy              = "busy"               // 503: every recognition slot stayed taken; retry later
	CodeTimeout           = "timeout"            // 503: the request ran out of time
)

// apiError is an error that the API reports to the client as it is. Every
// other error is logged and reported as CodeInternal, so that internal
// details (paths, SQL) never reach a client.
type apiError struct {
	status  int
	code    string
	message string
	// retryAfter, in seconds, is sent as Retry-After when positive.
	retryAfter int
	// Details some codes carry: the person of name_exists, the faces to
	// choose from of multiple_faces, the photo (1 or 2) of a comparison
	// that an error is about.
	person  *personJSON
	faces   []faceBox
	photo   int
	quality *analysis.Quality
}

// faceBox is one face a client may choose (face=N is its index).
type faceBox struct {
	Box [4]float64 `json:"box"`
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error struct {
		Code    string      `json:"code"`
		Message string      `json:"message"`
		Person  *personJSON `json:"person,omitempty"`
		Faces   []faceBox   `json:"faces,omitempty"`
		Photo   int         `json:"photo,omitempty"`
		// Quality is the measures and reasons of a poor_quality photo.
		Quality *analysis.Quality `json:"quality,omitempty"`
	} `json:"error"`
}

// classify maps an error to what the client is told. The bool reports
// whether the error is a server fault worth logging at error level.
func classify(err error) (*apiError, bool) {
	var ae *apiError
	var mbe *http.MaxBytesError
	var pe *recognition.PhotoError
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &pe) && pe.Of > 1:
		// Which photo of a comparison the error is about.
		inner, fault := classify(pe.Err)
		c := *inner
		c.photo = pe.Index + 1
		c.message = fmt.Sprintf("photo %d: %s", c.photo, c.message)
		return &c, fault
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body is over the limit of %d bytes", mbe.Limit), false
	case errors.Is(err, photo.ErrTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the photo is too large (%v)", err), false
	case errors.Is(err, photo.ErrUnknownFormat):
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedFormat,
			"the file is not a photo in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF or PGM)"), false
	case errors.Is(err, photo.ErrCorrupt):
		return errorf(http.StatusUnprocessableEntity, CodeCorruptImage,
			"the photo is damaged or incomplete and cannot be read (%v)", err), false
	case errors.Is(err, recognition.ErrNoFaceAt):
		return errorf(http.StatusUnprocessableEntity, CodeNoFace, "no face found at the chosen place in the photo"), false
	case errors.Is(err, face.ErrNoFace):
		return errorf(http.StatusUnprocessableEntity, CodeNoFace, "no face found in the photo"), false
	case errors.Is(err, face.ErrAmbiguous):
		e := errorf(http.StatusUnprocessableEntity, CodeMultipleFaces,
			"the photo shows several faces and none is clearly the person; send a photo of one person")
		for _, b := range recognition.Choices(err) {
			e.faces = append(e.faces, faceBox{Box: [4]float64{b.X, b.Y, b.W, b.H}})
		}
		if len(e.faces) > 0 {
			e.message = fmt.Sprintf("the photo shows %d faces that could be the person; choose one with face=N "+
				"(0 to %d, left to right, as listed in faces) or box=x,y,w,h, or send a photo of one person", len(e.faces), len(e.faces)-1)
		}
		return e, false
	case errors.As(err, new(*recognition.QualityError)):
		var qe *recognition.QualityError
		errors.As(err, &qe)
		e := errorf(http.StatusUnprocessableEntity, CodePoorQuality,
			"the photo is too poor to enrol (%s); send a sharper, frontal, well-lit photo with the face large enough",
			strings.Join(qe.Quality.Reasons, ", "))
		e.quality = &qe.Quality
		return e, false
	case errors.Is(err, gallery.ErrUnavailable):
		// Logged as a fault: an operator must hear that writes, deletions
		// included, are failing.
		return &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable, retryAfter: 5,
			message: "the gallery's store cannot be reached or written now; retry shortly"}, true
	case errors.Is(err, gallery.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "no such person"), false
	case errors.Is(err, gallery.ErrModelMismatch), errors.Is(err, face.ErrModelMismatch):
		return errorf(http.StatusConflict, CodeModelMismatch,
			"the person was enrolled with another model version; enrol them again"), false
	case errors.Is(err, gallery.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidField, "%v", err), false
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, CodeTimeout, "the request took too long"), false
	case errors.Is(err, context.Canceled):
		// The client went away; the status is for the log only.
		return errorf(499, CodeTimeout, "request canceled"), false
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "internal error"), true
}

// writeError sends err as the API's JSON error.
func writeError(w http.ResponseWriter, ae *apiError) {
	var body errorBody
	body.Error.Code, body.Error.Message = ae.code, ae.message
	body.Error.Person, body.Error.Faces, body.Error.Photo = ae.person, ae.faces, ae.photo
	body.Error.Quality = ae.quality
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="facerec"`)
	}
	writeJSON(w, ae.status, body)
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// An encoding error here means the client went away mid-response;
	// there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
}
