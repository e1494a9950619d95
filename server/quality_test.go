package server_test

import (
	"context"
	"fmt"
	"image"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
)

// allBlurred calls every photo blurred.
type allBlurred struct{}

func (allBlurred) Quality(context.Context, image.Image, face.Face) (analysis.Quality, error) {
	return analysis.Quality{Reasons: []string{analysis.ReasonBlurred}, Sharpness: 3}, nil
}

// A poor enrolment photo is refused 422 poor_quality with its measures
// (--quality refuse) or enrolled with quality_warnings (warn); at the door
// a poor probe is refused poor_quality, not called a stranger.
func TestPoorQuality(t *testing.T) {
	refuse := newHarness(t, harnessOptions{svc: func(c *recognition.Config) {
		c.Quality, c.EnrolQuality, c.DoorQuality = allBlurred{}, recognition.QualityRefuse, recognition.QualityRefuse
	}})
	var body struct {
		Error struct {
			Code    string           `json:"code"`
			Message string           `json:"message"`
			Quality analysis.Quality `json:"quality"`
		} `json:"error"`
	}
	refuse.form("/v1/people", field("name", "Ada"), file("photo", onePerson(t, 1))).decode(t, http.StatusUnprocessableEntity, &body)
	if body.Error.Code != server.CodePoorQuality || len(body.Error.Quality.Reasons) != 1 || body.Error.Quality.Sharpness != 3 {
		t.Fatalf("refused enrolment: %+v", body)
	}

	warn := newHarness(t, harnessOptions{svc: func(c *recognition.Config) {
		c.Quality, c.EnrolQuality, c.DoorQuality = allBlurred{}, recognition.QualityWarn, recognition.QualityRefuse
	}})
	var p struct {
		ID       string   `json:"id"`
		Warnings []string `json:"quality_warnings"`
	}
	warn.form("/v1/people", field("name", "Ada"), file("photo", onePerson(t, 1))).decode(t, http.StatusCreated, &p)
	if p.ID == "" || len(p.Warnings) != 1 || p.Warnings[0] != analysis.ReasonBlurred {
		t.Fatalf("enrolled with a warning: %+v", p)
	}
	var id struct {
		Faces []struct {
			Match   *struct{ Name string } `json:"match"`
			Refused string                 `json:"refused"`
			Quality *analysis.Quality      `json:"quality"`
		} `json:"faces"`
	}
	warn.form("/v1/identify", file("photo", onePerson(t, 1))).decode(t, http.StatusOK, &id)
	if len(id.Faces) != 1 || id.Faces[0].Match != nil || id.Faces[0].Refused != recognition.RefusedPoorQuality || id.Faces[0].Quality == nil {
		t.Fatalf("identify of a poor photo: %+v", id)
	}
	var v struct {
		Same    bool     `json:"same"`
		Refused string   `json:"refused"`
		Reasons []string `json:"quality_reasons"`
	}
	warn.form("/v1/verify", field("person_id", p.ID), file("photo", onePerson(t, 1))).decode(t, http.StatusOK, &v)
	if v.Same || v.Refused != recognition.RefusedPoorQuality || len(v.Reasons) != 1 {
		t.Fatalf("verify of a poor photo: %+v", v)
	}
}

// The active liveness challenge on real faces: the frames of a still photo
// (the same photo again and again, what a printed photo held still gives)
// fail the turn and the blink; ten photos of an AT&T person turning their
// head pass the turn.
func TestChallenge(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the face models")
	}
	dir, err := registry.Dir()
	sharedtest.Need(t, "the face models", err)
	sharedtest.Need(t, "the face models in "+dir, registry.Verify(dir))
	pipe, err := face.Load(context.Background(), dir, face.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func(elem ...string) []byte {
		b, err := os.ReadFile(sharedtest.Path(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	still := read("data", "lfw", "deepfunneled", "Colin_Powell", "Colin_Powell_0001.jpg")
	h := newHarness(t, harnessOptions{rec: pipe, svc: func(c *recognition.Config) { c.Decision = face.RuleOf(pipe.Model()) }})
	type answer struct {
		Passed bool    `json:"passed"`
		Reason string  `json:"reason"`
		YawMin float64 `json:"yaw_min"`
		YawMax float64 `json:"yaw_max"`
		Faces  int     `json:"faces"`
	}
	frames := func(kind string, photos ...[]byte) []part {
		ps := []part{field("kind", kind)}
		for i, b := range photos {
			ps = append(ps, file(fmt.Sprintf("frame%d", i+1), b))
		}
		return ps
	}
	for _, kind := range []string{"turn", "blink"} {
		var a answer
		h.form("/v1/challenge", frames(kind, still, still, still, still, still)...).decode(t, http.StatusOK, &a)
		if a.Passed || a.Reason == "" || a.Faces != 5 {
			t.Errorf("%s, a still photo: %+v", kind, a)
		}
	}
	var turned [][]byte
	for i := 1; i <= 10; i++ {
		turned = append(turned, read("data", "att", "s1", fmt.Sprintf("%d.pgm", i)))
	}
	var a answer
	h.form("/v1/challenge", frames("turn", turned...)...).decode(t, http.StatusOK, &a)
	if !a.Passed || a.YawMin > -10 || a.YawMax < 10 {
		t.Errorf("a head turning: %+v", a)
	}
	// Two people: refused whatever the motion. (Another AT&T person
	// would not do: at the LFW-calibrated threshold for one claim, 10-16%
	// of AT&T's stranger pairs pass as the same person, docs/door.md.)
	a = answer{}
	h.form("/v1/challenge", frames("turn", append(turned[:5:5], still)...)...).decode(t, http.StatusOK, &a)
	if a.Passed || !strings.Contains(a.Reason, "another person") {
		t.Errorf("frames of two people: %+v", a)
	}
	h.form("/v1/challenge", frames("nod", still, still, still)...).wantError(t, http.StatusBadRequest, server.CodeInvalidField)
	h.form("/v1/challenge", frames("turn", still, still)...).wantError(t, http.StatusBadRequest, server.CodeMissingField)
	h.form("/v1/challenge", field("kind", "turn"), file("frame1", still), file("frame3", still), file("frame4", still)).
		wantError(t, http.StatusBadRequest, server.CodeInvalidField)
}
