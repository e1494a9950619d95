package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/recognition"
)

// Key ids of the audit records that are not a stored key's.
const (
	auditMasterKey = "master" // FACEREC_API_KEY
	auditNoKeys    = "none"   // a server without keys
)

// keyID names the key of a request for the audit log: the stored key's id
// (its hash's first 12 hex digits, as `facerec keys list` shows), "master",
// or "none" on a server without keys. It is called only for requests that
// authorize let through.
func (s *Server) keyID(r *http.Request) string {
	if !s.auth {
		return auditNoKeys
	}
	_, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	h := sha256.Sum256([]byte(strings.TrimSpace(key)))
	if k := s.cfg.Keys; k != nil && k.hasMaster && subtle.ConstantTimeCompare(h[:], k.master[:]) == 1 {
		return auditMasterKey
	}
	return hex.EncodeToString(h[:])[:12]
}

// record counts a decision and appends it to the audit log (when there is
// one); an error means the client must not get the decision.
func (s *Server) record(r *http.Request, evs []audit.Event) error {
	for _, ev := range evs {
		if ev.Kind == audit.KindDecision { // a change is logged, not counted
			s.metrics.decision(ev.Result, ev.Reason)
		}
	}
	if s.cfg.Audit == nil {
		return nil
	}
	key := s.keyID(r)
	for _, ev := range evs {
		ev.Source, ev.Key, ev.Endpoint = "server", key, r.Method+" "+r.URL.Path
		if err := s.cfg.Audit.Append(ev); err != nil {
			s.log.ErrorContext(r.Context(), "audit record not written", "err", err, "kind", ev.Kind, "result", ev.Result,
				"action", ev.Action, "person", ev.Person, "key", key)
			return &apiError{status: http.StatusServiceUnavailable, code: CodeAuditUnavailable, retryAfter: 5,
				message: auditLost(ev)}
		}
	}
	return nil
}

// auditLost is the message of a record the log did not take.
func auditLost(ev audit.Event) string {
	if ev.Kind == audit.KindChange {
		return fmt.Sprintf("the %s of %s was made, but the audit log could not record it (the server's log has it); "+
			"the operator must mend the audit log", ev.Action, ev.Person)
	}
	return "the decision could not be written to the audit log, so it is not given; retry shortly"
}

// change audits a change to the gallery made by the request.
func (s *Server) change(r *http.Request, action, person string) error {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.record(r, []audit.Event{{Kind: audit.KindChange, Action: action, Person: person}})
}

// identifyEvents are the decisions of an identified photo: one per face,
// or one refusal (no_face) for a photo without any.
func (s *Server) identifyEvents(results []recognition.FaceResult, threshold float64) []audit.Event {
	model := s.svc.Rule().Model
	if len(results) == 0 {
		return []audit.Event{{Kind: audit.KindDecision, Result: audit.Refused, Reason: CodeNoFace,
			Threshold: &threshold, Model: model}}
	}
	evs := make([]audit.Event, 0, len(results))
	for i, fr := range results {
		ev := audit.Event{Kind: audit.KindDecision, Result: audit.Unknown, Face: ptr(i), Liveness: fr.Liveness,
			Threshold: ptr(threshold), Model: model}
		if len(fr.Candidates) > 0 {
			ev.Distance = ptr(fr.Candidates[0].Distance)
		}
		if v := fr.Verdict; v != nil {
			ev.Threshold = ptr(v.Threshold)
			if v.Refused != "" {
				ev.Result, ev.Reason = audit.Refused, v.Refused
			}
		}
		if fr.Match != nil {
			ev.Result, ev.Person, ev.Distance = audit.Known, fr.Match.ID, ptr(fr.Match.Distance)
		}
		evs = append(evs, ev)
	}
	return evs
}

// verifyEvent is the decision of a verification of the claim id.
func (s *Server) verifyEvent(id string, d face.Decision) audit.Event {
	ev := audit.Event{Kind: audit.KindDecision, Result: audit.Unknown, Claimed: id, Distance: ptr(d.Distance),
		Threshold: ptr(d.Threshold), Liveness: d.Liveness, Model: s.svc.Rule().Model}
	switch {
	case d.Refused != "":
		ev.Result, ev.Reason = audit.Refused, d.Refused
	case d.Same:
		ev.Result, ev.Person = audit.Known, id
	}
	return ev
}

// refusal is the decision of a photo recognition turned down (no face,
// several, damaged), or nil when err is not about the photo.
func (s *Server) refusal(err error, claimed string) []audit.Event {
	ae, _ := classify(err)
	switch ae.code {
	case CodeNoFace, CodeMultipleFaces, CodeCorruptImage, CodeUnsupportedFormat, CodeTooLarge:
		return []audit.Event{{Kind: audit.KindDecision, Result: audit.Refused, Reason: ae.code, Claimed: claimed,
			Model: s.svc.Rule().Model}}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// maxEvents is the most records GET /v1/events returns.
const maxEvents = audit.DefaultRecent

// serveEvents is GET /v1/events?since=&limit=&kind=: the latest audit
// records, newest first.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Audit == nil {
		return errorf(http.StatusNotFound, CodeNotFound, "the audit log is off: start the server with --audit FILE")
	}
	limit, err := intParam(r, "limit", defaultLimit, 1, maxEvents)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f audit.Filter
	if f.Since, err = audit.ParseSince(q.Get("since"), time.Now()); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidField, "%v", err)
	}
	if f.Kind, err = audit.ParseKind(q.Get("kind")); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidField, "kind: %v", err)
	}
	events := s.cfg.Audit.Recent(f, limit)
	if events == nil {
		events = []audit.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "limit": limit})
	return nil
}
