package server

import (
	"context"
	"image"
	"net/http"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
)

// Analysis enables POST /v1/analyze: the faces of a photo described by an
// analysis.Analyzer (liveness, age, gender, expression, eyes, pose,
// quality). Nothing it computes is stored.
type Analysis struct {
	Analyzer *analysis.Analyzer
	// Detect finds the faces to describe: boxes and landmarks, no
	// descriptors (face.Pipeline.Detect).
	Detect func(ctx context.Context, img image.Image) ([]face.Face, error)
}

// analyzedFace is one face of /v1/analyze's answer.
type analyzedFace struct {
	Box   [4]float64 `json:"box"` // x, y, w, h in pixels
	Score float64    `json:"score"`
	analysis.Result
}

// analyze answers POST /v1/analyze (multipart "photo"): {"faces": [...]},
// one entry per face found, possibly none.
func (s *Server) analyze(w http.ResponseWriter, r *http.Request) error {
	a := s.cfg.Analysis
	if a == nil || a.Analyzer == nil || a.Detect == nil {
		return errorf(http.StatusNotFound, CodeNotFound, "analysis is not enabled on this server (facerec serve --analysis)")
	}
	f, err := readForm(r, []string{photoFile})
	if err != nil {
		return err
	}
	data, err := f.requirePhoto()
	if err != nil {
		return err
	}
	out := []analyzedFace{}
	err = s.recognize(r.Context(), data, func(ctx context.Context, img image.Image) error {
		faces, err := a.Detect(ctx, img)
		if err != nil {
			return err
		}
		rs, err := a.Analyzer.Analyze(ctx, img, faces)
		if err != nil {
			return err
		}
		for i, fc := range faces {
			out = append(out, analyzedFace{Box: [4]float64{fc.Box.X, fc.Box.Y, fc.Box.W, fc.Box.H}, Score: fc.Score, Result: rs[i]})
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Faces []analyzedFace `json:"faces"`
	}{out})
	return nil
}
