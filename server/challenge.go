package server

import (
	"context"
	"fmt"
	"image"
	"net/http"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/recognition"
)

// The frames of POST /v1/challenge: frame1..frame<maxChallengeFrames>.
const (
	minChallengeFrames = 3
	maxChallengeFrames = 12
)

var challengeFiles = func() []string {
	var out []string
	for i := 1; i <= maxChallengeFrames; i++ {
		out = append(out, fmt.Sprintf("frame%d", i))
	}
	return out
}()

// challengeAnswer is /v1/challenge's answer.
type challengeAnswer struct {
	Kind string `json:"kind"`
	analysis.ChallengeResult
	// Frames counts the frames sent, Faces those with a face.
	Frames int `json:"frames"`
	Faces  int `json:"faces"`
}

// challenge is POST /v1/challenge: an active liveness check over a few
// camera frames (multipart frame1, frame2, ... in order, and kind=turn or
// blink), checked from the landmarks of the largest face of each frame
// (analysis.CheckTurn, analysis.CheckBlink). The faces must be of one
// person: each is compared with the first by the service's rule. Nothing
// is stored, and the answer binds nothing: a client must not take it as
// the door's decision (docs/security.md).
func (s *Server) challenge(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, challengeFiles, "kind")
	if err != nil {
		return err
	}
	kind, err := f.field("kind")
	if err != nil {
		return err
	}
	if kind != "turn" && kind != "blink" {
		return errorf(http.StatusBadRequest, CodeInvalidField, `kind must be "turn" or "blink", not %q`, kind)
	}
	var frames [][]byte
	for _, name := range challengeFiles {
		b, ok := f.files[name]
		if !ok {
			break
		}
		frames = append(frames, b)
	}
	if len(frames) != len(f.files) {
		return errorf(http.StatusBadRequest, CodeInvalidField, "send the frames as frame1, frame2, ... without a gap")
	}
	if len(frames) < minChallengeFrames {
		return errorf(http.StatusBadRequest, CodeMissingField, "a challenge needs at least %d frames (frame1..frame%d), got %d",
			minChallengeFrames, maxChallengeFrames, len(frames))
	}
	ans := challengeAnswer{Kind: kind, Frames: len(frames)}
	// Every frame inside one slot: one challenge is one piece of work.
	err = s.recognize(r.Context(), frames[0], func(ctx context.Context, first image.Image) error {
		var faces []face.Face
		for i, data := range frames {
			img := first
			if i > 0 {
				var err error
				if img, err = s.decode(data); err != nil {
					return &recognition.PhotoError{Index: i, Of: len(frames), Err: err}
				}
			}
			fs, err := s.svc.Faces(ctx, img)
			if err != nil {
				return err
			}
			if len(fs) == 0 {
				continue
			}
			big := fs[0]
			for _, c := range fs[1:] {
				if c.Box.W*c.Box.H > big.Box.W*big.Box.H {
					big = c
				}
			}
			if len(faces) > 0 {
				d, err := s.svc.Rule().Decide(faces[0].Descriptor, big.Descriptor)
				if err != nil {
					return err
				}
				if !d.Same {
					ans.Reason = fmt.Sprintf("frame %d shows another person than the first", i+1)
					return nil
				}
			}
			faces = append(faces, big)
		}
		ans.Faces = len(faces)
		reason := ""
		if kind == "turn" {
			ans.ChallengeResult = analysis.CheckTurn(faces, analysis.ChallengeThresholds{})
		} else {
			ans.ChallengeResult = analysis.CheckBlink(faces, analysis.ChallengeThresholds{})
		}
		if len(faces) < len(frames) && !ans.Passed {
			reason = fmt.Sprintf(" (%d of %d frames had no face)", len(frames)-len(faces), len(frames))
		}
		ans.Reason += reason
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}
