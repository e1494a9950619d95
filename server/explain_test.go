package server_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/draw"

	"github.com/facerec/facerec/server"
)

// explainReply is a verify or compare answer with its explanation.
type explainReply struct {
	Distance    float64 `json:"distance"`
	Same        bool    `json:"same"`
	Explanation *struct {
		Saliency      string     `json:"saliency"`
		GradCAM       string     `json:"gradcam"`
		CAMLayer      string     `json:"cam_layer"`
		Width         int        `json:"width"`
		Height        int        `json:"height"`
		Scale         float64    `json:"scale"`
		Box           [4]float64 `json:"box"`
		Distance      float64    `json:"distance"`
		SaliencyInBox float64    `json:"saliency_in_box"`
		GradCAMInBox  float64    `json:"gradcam_in_box"`
	} `json:"explanation"`
}

// heatPNG decodes a heatmap data URL.
func heatPNG(t *testing.T, url string) image.Image {
	t.Helper()
	b64, ok := strings.CutPrefix(url, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URL: %.40q", url)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// heatInBox is the share of a heatmap's strength inside a box of photo
// pixels (the map's pixels are photo pixels times scale): the strength
// is recovered from the alpha, 0.75·√t·255.
func heatInBox(img image.Image, box [4]float64, scale float64) float64 {
	in, all := 0.0, 0.0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			_, _, _, a := img.At(x, y).RGBA()
			v := math.Pow(float64(a>>8)/(0.75*255), 2)
			all += v
			px, py := (float64(x)+0.5)/scale, (float64(y)+0.5)/scale
			if px >= box[0] && px < box[0]+box[2] && py >= box[1] && py < box[1]+box[3] {
				in += v
			}
		}
	}
	return in / all
}

// enlarged re-encodes a JPEG photo at k times its size.
func enlarged(t *testing.T, b []byte, k int) []byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	big := image.NewRGBA(image.Rect(0, 0, k*img.Bounds().Dx(), k*img.Bounds().Dy()))
	draw.CatmullRom.Scale(big, big.Rect, img, img.Bounds(), draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, big, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestExplainLFW: ?explain=1 on real LFW pairs returns both heatmaps as
// PNGs of photo A's size (bounded by server.ExplainMaxSide), for the
// decision's distance, with most of the saliency inside A's face box, in
// the PNG itself as well as in the reported fraction.
func TestExplainLFW(t *testing.T) {
	skipShort(t)
	p := realPipeline(t)
	x, err := server.NewExplainer(p)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{rec: p, cfg: func(c *server.Config) { c.Explainer = x }})
	lfw, _, _ := lfwPeople(t, 0, 0)
	aaron := h.enroll("Aaron Peirsol", lfwPhoto(t, lfw, "Aaron_Peirsol", 1))
	check := func(what string, r reply, side int, scale float64) {
		t.Helper()
		var out explainReply
		r.decode(t, http.StatusOK, &out)
		e := out.Explanation
		if e == nil {
			t.Fatalf("%s: no explanation in %s", what, r.body)
		}
		if e.Width != side || e.Height != side || math.Abs(e.Scale-scale) > 1e-3 {
			t.Errorf("%s: maps %d×%d at scale %g, want %d×%d at %g", what, e.Width, e.Height, e.Scale, side, side, scale)
		}
		if math.Abs(e.Distance-out.Distance) > 2e-4 {
			t.Errorf("%s: explained distance %.4f, decided %.4f", what, e.Distance, out.Distance)
		}
		for name, url := range map[string]string{"saliency": e.Saliency, "gradcam": e.GradCAM} {
			img := heatPNG(t, url)
			if b := img.Bounds(); b.Dx() != e.Width || b.Dy() != e.Height {
				t.Errorf("%s: the %s PNG is %v, want %d×%d", what, name, b, e.Width, e.Height)
			}
			if name == "saliency" {
				in := heatInBox(img, e.Box, e.Scale)
				t.Logf("%s: d %.3f (same %v), saliency in the face box %.0f%% (PNG %.0f%%), Grad-CAM %.0f%%, %d+%d bytes of PNG",
					what, out.Distance, out.Same, 100*e.SaliencyInBox, 100*in, 100*e.GradCAMInBox, len(e.Saliency), len(e.GradCAM))
				if in <= 0.5 || e.SaliencyInBox <= 0.5 {
					t.Errorf("%s: %.0f%% of the saliency PNG (%.0f%% of the map) inside the face box", what, 100*in, 100*e.SaliencyInBox)
				}
			}
		}
	}
	// Verify against the enrolled face (a full key).
	check("verify", h.form("/v1/verify?explain=1", field("person_id", aaron.ID), file("photo", lfwPhoto(t, lfw, "Aaron_Peirsol", 2))), 250, 1)
	// Compare two people; photo A enlarged past the bound.
	check("compare", h.form("/v1/compare?explain=1", file("photo1", enlarged(t, lfwPhoto(t, lfw, "Aaron_Peirsol", 3), 2)),
		file("photo2", lfwPhoto(t, lfw, "Abdullah_Gul", 2))), server.ExplainMaxSide, float64(server.ExplainMaxSide)/500)

	// Two explanations at once (the server runs them in parallel slots;
	// -race checks that they share nothing unguarded) agree.
	var wg sync.WaitGroup
	answers := make([][]byte, 2)
	p1, p2 := lfwPhoto(t, lfw, "Aaron_Peirsol", 3), lfwPhoto(t, lfw, "Abdullah_Gul", 2)
	for i := range answers {
		body, ct := multipartBody(t, file("photo1", p1), file("photo2", p2))
		wg.Go(func() {
			r := h.do(http.MethodPost, "/v1/compare?explain=1", h.recKey, ct, body)
			if r.status != http.StatusOK {
				t.Errorf("concurrent compare: %d %s", r.status, r.body)
			}
			answers[i] = r.body
		})
	}
	wg.Wait()
	if !bytes.Equal(answers[0], answers[1]) {
		t.Error("two explanations of the same comparison differ")
	}

	// A recognize key may explain a comparison of its own photos, not a
	// verification against an enrolled face.
	body, ct := multipartBody(t, field("person_id", aaron.ID), file("photo", lfwPhoto(t, lfw, "Aaron_Peirsol", 2)))
	h.do(http.MethodPost, "/v1/verify?explain=1", h.recKey, ct, body).wantError(t, http.StatusForbidden, server.CodeForbidden)
	// Without explain=1 nothing changes.
	var plain explainReply
	h.form("/v1/verify", field("person_id", aaron.ID), file("photo", lfwPhoto(t, lfw, "Aaron_Peirsol", 2))).decode(t, http.StatusOK, &plain)
	if plain.Explanation != nil {
		t.Error("an explanation nobody asked for")
	}
}

// TestExplainOff: a server without an explainer refuses explain=1 with a
// clear error, and a bad value is an invalid field either way.
func TestExplainOff(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	p := h.enroll("Ada", onePerson(t, 1))
	for _, q := range []string{"explain=1", "explain=maybe"} {
		h.form("/v1/verify?"+q, field("person_id", p.ID), file("photo", onePerson(t, 1))).wantError(t, http.StatusBadRequest, server.CodeInvalidField)
		h.form("/v1/compare?"+q, file("photo1", onePerson(t, 1)), file("photo2", onePerson(t, 2))).wantError(t, http.StatusBadRequest, server.CodeInvalidField)
	}
	var out explainReply
	h.form("/v1/compare?explain=0", file("photo1", onePerson(t, 1)), file("photo2", onePerson(t, 2))).decode(t, http.StatusOK, &out)
	if out.Explanation != nil {
		t.Error("explain=0 explained")
	}
}

// BenchmarkCompareExplain: one /v1/compare of two LFW photos, plain and
// with ?explain=1 (the extra cost of an explanation).
func BenchmarkCompareExplain(b *testing.B) {
	p := realPipeline(b)
	x, err := server.NewExplainer(p)
	if err != nil {
		b.Fatal(err)
	}
	h := newHarness(b, harnessOptions{rec: p, cfg: func(c *server.Config) { c.Explainer = x }})
	lfw, _, _ := lfwPeople(b, 0, 0)
	a, c := lfwPhoto(b, lfw, "Aaron_Peirsol", 1), lfwPhoto(b, lfw, "Aaron_Peirsol", 2)
	for _, q := range []string{"", "?explain=1"} {
		b.Run("query="+q, func(b *testing.B) {
			for b.Loop() {
				r := h.form("/v1/compare"+q, file("photo1", a), file("photo2", c))
				if r.status != http.StatusOK {
					b.Fatalf("status %d: %s", r.status, r.body)
				}
			}
		})
	}
}
