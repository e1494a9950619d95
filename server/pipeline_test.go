package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/server"
)

// The tests in this file run the real face pipeline on real photos; they
// skip when the models or ../shared are missing.

var (
	pipelineOnce sync.Once
	pipeline     *face.Pipeline
	pipelineErr  error
)

// realPipeline loads the default pipeline once, or skips.
func realPipeline(t testing.TB) *face.Pipeline {
	t.Helper()
	pipelineOnce.Do(func() {
		var dir string
		if dir, pipelineErr = registry.Dir(); pipelineErr != nil {
			return
		}
		if pipelineErr = registry.Verify(dir); pipelineErr != nil {
			return
		}
		pipeline, pipelineErr = face.Load(context.Background(), dir, face.Options{}, nil)
	})
	sharedtest.Need(t, "the pretrained models (run `facerec models pull`)", pipelineErr)
	return pipeline
}

// skipShort skips the heavy numeric tests in -short mode, which -race runs
// use: the race detector slows the networks ~10x and they have no
// concurrency of their own to check here.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the real pipeline in short mode")
	}
}

// lfwPeople returns the LFW people in lfw-names.txt order: the first n
// with at least two photos, and the first m with exactly one.
func lfwPeople(t testing.TB, n, m int) (lfw string, twice, once []string) {
	t.Helper()
	root := sharedtest.Path(t, "data", "lfw")
	f, err := os.Open(filepath.Join(root, "lfw-names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() && (len(twice) < n || len(once) < m) {
		name, count, _ := strings.Cut(sc.Text(), "\t")
		c, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil {
			t.Fatalf("lfw-names.txt: bad line %q", sc.Text())
		}
		switch {
		case c >= 2 && len(twice) < n:
			twice = append(twice, name)
		case c == 1 && len(once) < m:
			once = append(once, name)
		}
	}
	return filepath.Join(root, "deepfunneled"), twice, once
}

// lfwPhoto reads the i-th (1-based) photo of an LFW person.
func lfwPhoto(t testing.TB, lfw, name string, i int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lfw, name, fmt.Sprintf("%s_%04d.jpg", name, i)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealPipeline enrols LFW people from their first photo over HTTP and
// identifies them from their second; people never enrolled must come out
// as strangers.
func TestRealPipeline(t *testing.T) {
	skipShort(t)
	p := realPipeline(t)
	lfw, known, strangers := lfwPeople(t, 10, 5)
	h := newHarness(t, harnessOptions{rec: p})
	ids := map[string]string{}
	for _, name := range known {
		r := h.form("/v1/people", field("name", name), file("photo", lfwPhoto(t, lfw, name, 1)))
		if r.status != http.StatusCreated {
			// An LFW photo can show a second face that could as well be
			// the person; that is the multiple_faces rule working, not a
			// failure.
			r.wantError(t, http.StatusUnprocessableEntity, server.CodeMultipleFaces)
			t.Logf("%s_0001 not enrolled: %s", name, r.body)
			continue
		}
		var got person
		r.decode(t, http.StatusCreated, &got)
		ids[name] = got.ID
	}
	if len(ids) < 8 {
		t.Fatalf("only %d of %d LFW people enrolled", len(ids), len(known))
	}
	right := 0
	for name, id := range ids {
		out := h.identify(h.recKey, lfwPhoto(t, lfw, name, 2))
		if len(out.Faces) == 0 {
			t.Errorf("%s_0002: no face found", name)
			continue
		}
		// The person in an LFW photo is the face nearest the centre.
		best := out.Faces[0]
		for _, f := range out.Faces[1:] {
			if centreDist(f.Box) < centreDist(best.Box) {
				best = f
			}
		}
		if best.Match != nil && best.Match.ID == id {
			right++
		} else {
			t.Logf("%s_0002 identified as %+v", name, best.Match)
		}
	}
	if right < len(ids)-1 {
		t.Errorf("%d of %d enrolled people identified from another photo; want all but at most one", right, len(ids))
	}
	falseMatches := 0
	for _, name := range strangers {
		for _, f := range h.identify(h.recKey, lfwPhoto(t, lfw, name, 1)).Faces {
			if f.Match != nil {
				falseMatches++
				t.Logf("stranger %s matched %+v", name, f.Match)
			}
		}
	}
	if falseMatches > 1 {
		t.Errorf("%d faces of %d strangers matched an enrolled person", falseMatches, len(strangers))
	}
	// Verify the first enrolled person with their second photo.
	body, ct := multipartBody(t, field("person_id", ids[known[0]]), file("photo", lfwPhoto(t, lfw, known[0], 2)))
	var v struct {
		Distance float64
		Same     bool
	}
	if r := h.do(http.MethodPost, "/v1/verify", h.recKey, ct, body); r.status == http.StatusOK {
		r.decode(t, http.StatusOK, &v)
		if !v.Same {
			t.Errorf("verify %s with their second photo: %+v", known[0], v)
		}
	} else {
		t.Logf("verify %s: %s", known[0], r.body)
	}
}

// centreDist is the distance of a box's centre from an LFW photo's.
func centreDist(b [4]float64) float64 {
	dx, dy := b[0]+b[2]/2-125, b[1]+b[3]/2-125
	return dx*dx + dy*dy
}

// TestRealPipelinePhotos sends the oracle's camera photos (1920 px, EXIF,
// several people) and a 1×1 image through the server, and checks that
// each answer agrees with the pipeline run directly on the same photo.
func TestRealPipelinePhotos(t *testing.T) {
	skipShort(t)
	p := realPipeline(t)
	dir := sharedtest.Path(t, "oracle", "testdata")
	h := newHarness(t, harnessOptions{rec: p})
	paths, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no photos in %s: %v", dir, err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := photo.Decode(bytes.NewReader(data), photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.Faces(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		out := h.identify(h.recKey, data)
		if len(out.Faces) != len(want) {
			t.Errorf("%s: the server found %d faces, the pipeline %d", filepath.Base(path), len(out.Faces), len(want))
			continue
		}
		for i, f := range out.Faces {
			if w := want[i].Box; f.Box != [4]float64{w.X, w.Y, w.W, w.H} {
				t.Errorf("%s face %d: box %v, want %v", filepath.Base(path), i, f.Box, w)
			}
		}
		r := h.form("/v1/people", field("name", filepath.Base(path)), file("photo", data))
		// The harness enrols with the pipeline itself (no enrolment jitter).
		switch _, err := p.Subject(context.Background(), img); {
		case err == nil:
			r.decode(t, http.StatusCreated, &person{})
		case errors.Is(err, face.ErrNoFace):
			r.wantError(t, http.StatusUnprocessableEntity, server.CodeNoFace)
		default:
			r.wantError(t, http.StatusUnprocessableEntity, server.CodeMultipleFaces)
		}
		t.Logf("%s: %d faces, enrol → %d", filepath.Base(path), len(want), r.status)
	}
	// A 1×1 image is a valid photo without a face.
	var tiny bytes.Buffer
	if err := png.Encode(&tiny, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	h.form("/v1/people", field("name", "tiny"), file("photo", tiny.Bytes())).wantError(t, http.StatusUnprocessableEntity, server.CodeNoFace)
}
