package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/visualize"
)

// ExplainMaxSide is the longest side of the heatmaps a request with
// ?explain=1 gets: photo A scaled down to fit, so that the extra work and
// the answer's size do not grow with the photo (a 320 px map is what the
// web page shows).
const ExplainMaxSide = 320

// NewExplainer returns the explainer of a server's decisions for
// Config.Explainer: p must be the pipeline of the service's recognitions
// (a differentiable descriptor model: dlib's ResNet or MobileFaceNet).
func NewExplainer(p *face.Pipeline) (*visualize.Explainer, error) {
	return visualize.NewExplainer(p, visualize.ExplainOptions{MaxSide: ExplainMaxSide})
}

// explanationJSON is the explanation of a decision in an answer: the two
// heatmaps over photo A as PNG data URLs (colours with their strength as
// alpha, photo A's pixels not included: lay them over the photo, scaled to
// its size), and what the maps measured.
type explanationJSON struct {
	// Saliency is |∂d/∂A|, GradCAM the Grad-CAM map of −d at CAMLayer.
	Saliency string `json:"saliency"`
	GradCAM  string `json:"gradcam"`
	CAMLayer string `json:"cam_layer"`
	// Width×Height is the maps' size: photo A's times Scale (at most
	// ExplainMaxSide on the longer side).
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Scale  float64 `json:"scale"`
	// Box is photo A's face, [x, y, w, h] in photo A's pixels.
	Box [4]float64 `json:"box"`
	// Distance is d(A, B) of the maps (the decision's, unless a head
	// decided or the server averages flips or jitter).
	Distance      float64 `json:"distance"`
	SaliencyInBox float64 `json:"saliency_in_box"`
	GradCAMInBox  float64 `json:"gradcam_in_box"`
}

// decisionAnswer is a verify or compare answer: the decision, and its
// explanation when asked for.
type decisionAnswer struct {
	face.Decision
	Explanation *explanationJSON `json:"explanation,omitempty"`
}

// wantExplain reads ?explain= (1/true or 0/false); asking for it on a
// server without an explainer is an invalid field.
func (s *Server) wantExplain(r *http.Request) (bool, error) {
	f := form{text: map[string]string{"explain": r.URL.Query().Get("explain")}}
	on, err := f.flag("explain")
	if err != nil || !on {
		return false, err
	}
	if s.cfg.Explainer == nil {
		return false, errorf(http.StatusBadRequest, CodeInvalidField, "explain: this server does not explain its decisions (started with --explain=false)")
	}
	return true, nil
}

// explanation turns an Explanation into its answer.
func explanation(e *visualize.Explanation) (*explanationJSON, error) {
	sal, err := pngDataURL(e.SaliencyHeat())
	if err != nil {
		return nil, err
	}
	cam, err := pngDataURL(e.GradCAMHeat())
	if err != nil {
		return nil, err
	}
	return &explanationJSON{
		Saliency: sal, GradCAM: cam, CAMLayer: e.CAMLayer, Width: e.W, Height: e.H, Scale: round(e.Scale, 4),
		Box:      [4]float64{round(e.Box.X, 1), round(e.Box.Y, 1), round(e.Box.W, 1), round(e.Box.H, 1)},
		Distance: round(e.Distance, 4), SaliencyInBox: round(e.SaliencyInBox, 3), GradCAMInBox: round(e.GradCAMInBox, 3),
	}, nil
}

func pngDataURL(img image.Image) (string, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return "", fmt.Errorf("encoding a heatmap: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// explainPair explains a comparison of photos a and b (in the request's
// recognition slot).
func (s *Server) explainPair(ctx context.Context, a, b image.Image) (*explanationJSON, error) {
	e, err := s.cfg.Explainer.Pair(ctx, a, b)
	if err != nil {
		return nil, fmt.Errorf("explaining the comparison: %w", err)
	}
	return explanation(e)
}

// explainVerify explains a verification of photo a against the person's
// nearest enrolled face.
func (s *Server) explainVerify(ctx context.Context, personID string, a image.Image) (*explanationJSON, error) {
	vs, err := s.gal.Descriptors(ctx, personID)
	if err != nil {
		return nil, err
	}
	ds := make([]face.Descriptor, len(vs))
	for i, v := range vs {
		ds[i] = face.Descriptor{Model: s.gal.Model(), Vector: v}
	}
	e, err := s.cfg.Explainer.Against(ctx, a, ds)
	if err != nil {
		return nil, fmt.Errorf("explaining the verification: %w", err)
	}
	return explanation(e)
}

// round rounds v to n decimals, as the API's other numbers are.
func round(v float64, n int) float64 {
	k := math.Pow(10, float64(n))
	return math.Round(v*k) / k
}
