package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/server/web/browsertest"
)

// writeCard writes a w×h PNG of one colour, a stand-in photo whose bytes
// differ by colour (the fake's compare tells photos apart by their bytes).
func writeCard(t *testing.T, path string, w, h int, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// thumbnailJPEG is a 96×96 JPEG, base64, as the server keeps thumbnails.
func thumbnailJPEG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			c := color.RGBA{70, 90, 120, 255}
			if dx, dy := x-48, y-50; dx*dx*9+dy*dy*5 < 30*30*9 {
				c = color.RGBA{220, 180, 150, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// dropFile drops a file made in the page (a PNG drawn on a canvas, or
// text) on the drop zone with the given id, as a person dragging it from
// their desktop would.
func dropFile(ctx context.Context, zone, name string, photo bool) error {
	js := fmt.Sprintf(`(async () => {
		let blob;
		if (%t) {
			const c = document.createElement("canvas");
			c.width = 160; c.height = 120;
			const g = c.getContext("2d");
			g.fillStyle = "#8a8f96"; g.fillRect(0, 0, 160, 120);
			g.fillStyle = "#d9b38c"; g.beginPath(); g.ellipse(80, 60, 28, 36, 0, 0, 7); g.fill();
			blob = await new Promise((r) => c.toBlob(r, "image/png"));
		} else {
			blob = new Blob(["name,photo\nAda,ada.jpg\n"], { type: "text/csv" });
		}
		const dt = new DataTransfer();
		dt.items.add(new File([blob], %q, { type: blob.type }));
		const el = document.getElementById(%q);
		const opts = { dataTransfer: dt, bubbles: true, cancelable: true };
		el.dispatchEvent(new DragEvent("dragenter", opts));
		el.dispatchEvent(new DragEvent("dragover", opts));
		return el.dispatchEvent(new DragEvent("drop", opts)) === false; // the page took it
	})()`, photo, name, zone)
	taken, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if !taken {
		return fmt.Errorf("the drop on #%s was not taken by the page", zone)
	}
	return nil
}

// TestDoorFeaturesAgainstFakeAPI drives the page's new states against
// fakeAPI on a server without keys, in a browser without a camera: the
// door check from an uploaded and a dropped photo with a match, a close
// call and a stranger; the history; enrolling a name already enrolled
// (add the face, or a new person); choosing among faces; the person view
// (rename, add a face, delete); and the two-photo comparison.
func TestDoorFeaturesAgainstFakeAPI(t *testing.T) {
	api := &fakeAPI{} // no key: the server has none
	api.add("Ada")
	api.add("Bob")
	api.people[0].Thumbnail = thumbnailJPEG(t)
	api.identifyFaces = func() []any {
		ada := map[string]any{"id": "p0001", "name": "Ada", "distance": 0.42}
		bob := map[string]any{"id": "p0002", "name": "Bob", "distance": 0.63}
		far := map[string]any{"id": "p0002", "name": "Bob", "distance": 0.95}
		return []any{
			// The fields the server may add: the threshold in force, a
			// calibrated confidence and the margin to the runner-up.
			map[string]any{"box": []float64{10, 20, 40, 48}, "score": 0.9, "match": ada, "candidates": []any{ada},
				"threshold": 0.61, "confidence": 0.97, "margin": 0.33},
			map[string]any{"box": []float64{60, 24, 36, 44}, "score": 0.8, "match": nil, "candidates": []any{bob}},
			map[string]any{"box": []float64{110, 30, 30, 36}, "score": 0.7, "match": nil, "candidates": []any{far}},
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	photoA, photoB := filepath.Join(dir, "ada.png"), filepath.Join(dir, "bob.png")
	writeCard(t, photoA, 160, 120, color.RGBA{200, 170, 140, 255})
	writeCard(t, photoB, 160, 120, color.RGBA{90, 110, 140, 255})
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a photo\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 900}) // no camera
	browsertest.AcceptDialogs(ctx)
	const wait = 10 * time.Second
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			browsertest.Screenshot(t, ctx, "door-features-failure")
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitText := func(sel, want string) string {
		t.Helper()
		got, err := browsertest.WaitText(ctx, sel, want, wait)
		must("waiting for "+want, err)
		return got
	}
	upload := func(what, id, file string) {
		t.Helper()
		must(what, chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID(id), []string{file}, chromedp.NodeReady)))
	}
	click := func(what, id string) {
		t.Helper()
		must(what, chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))))
	}
	isHidden := func(id string) bool {
		t.Helper()
		h, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("`+id+`").hidden`))
		must("reading #"+id, err)
		return h
	}

	must("opening the page", chromedp.Do(ctx, chromedp.Navigate(srv.URL)))
	waitText("#people-summary", "2 people enrolled.")
	// No keys on this server: no key box.
	if !isHidden("key-form") {
		t.Error("the API key box is shown on a server without keys")
	}
	waitText("#history-status", "No door decisions yet.")
	// Ada has a thumbnail: the list gets a face column, her face drawn.
	// (Drawn once decoded: wait for it.)
	drawn, err := chromedp.Run(ctx, chromedp.PollFunction[[]int](`() => {
		const t = document.getElementById("people-table");
		const c = document.querySelectorAll("#people-body td.thumb canvas");
		if (c.length && c[0].width !== 96) return false;
		return [t.classList.contains("with-thumbs") ? 1 : 0, c.length, c.length ? c[0].width : 0];
	}`, chromedp.WithPollingTimeout(wait)))
	must("reading the thumbnails", err)
	if len(drawn) != 3 || drawn[0] != 1 || drawn[1] != 1 || drawn[2] != 96 {
		t.Errorf("thumbnails: face column %v, %v canvases, the first %v px wide; want a column and Ada's 96 px face", drawn[0], drawn[1], drawn[2])
	}

	// Door check from an uploaded photo: a match, a close call, a stranger.
	upload("choosing a photo to check", "door-photo", photoA)
	waitText("#door-status", "Checked ada.png: 3 faces.")
	got := waitText("#door-results", "Ada, distance 0.42 (threshold 0.61), confidence 97%, 0.33 ahead of the next person")
	for _, want := range []string{"unknown — close call: nearest is Bob, distance 0.63 (threshold 0.61)", "unknown, nearest distance 0.95 (threshold 0.61)"} {
		if !strings.Contains(got, want) {
			t.Errorf("door results %q lack %q", got, want)
		}
	}
	if isHidden("door-still") || isHidden("door-media") {
		t.Error("the checked photo is not shown")
	}
	// Each face's box is drawn in its colour over the photo.
	for _, c := range []struct {
		what string
		rgb  [3]int
	}{{"known", [3]int{0x1a, 0x7f, 0x37}}, {"close call", [3]int{0x9a, 0x67, 0x00}}, {"unknown", [3]int{0xc4, 0x32, 0x0a}}} {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`(() => {
			const c = document.getElementById("door-overlay");
			const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0;
			for (let o = 0; o < d.length; o += 4)
				if (d[o+3] > 200 && Math.abs(d[o]-%d) < 8 && Math.abs(d[o+1]-%d) < 8 && Math.abs(d[o+2]-%d) < 8) n++;
			return n;
		})()`, c.rgb[0], c.rgb[1], c.rgb[2])))
		must("reading the overlay", err)
		if n < 100 {
			t.Errorf("%s box: %d pixels on the overlay, want a box", c.what, n)
		}
	}
	waitText("#history-list", "close call")
	browsertest.Screenshot(t, ctx, "door-photo-check")
	browsertest.ScreenshotOf(t, ctx, "web-door-photo", "#door")
	browsertest.ScreenshotOf(t, ctx, "web-history", "#history")

	// The same by drag and drop; a dropped file that is not a photo is
	// answered in words.
	must("dropping a photo", dropFile(ctx, "door-drop", "dropped.png", true))
	waitText("#door-status", "Checked dropped.png: 3 faces.")
	must("dropping a text file", dropFile(ctx, "door-drop", "people.csv", false))
	waitText("#door-status", "Not checked: This file is not a photo. Use a JPEG, PNG or WebP photo.")
	if !isHidden("door-media") {
		t.Error("the previous photo stays shown after a file that is not one")
	}
	browsertest.ScreenshotOf(t, ctx, "web-door-not-a-photo", "#door")
	hist := waitText("#history-list", "Ada (0.42 / 0.61)")
	if !strings.Contains(hist, "unknown, close call: nearest Bob (0.63 / 0.61)") {
		t.Errorf("history %q lacks the close call", hist)
	}

	// Enrolling a name already enrolled asks first.
	enrol := func(name, file string) {
		t.Helper()
		must("enrolling "+name, chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("enrol-name"), name),
			chromedp.SetUploadFiles(chromedp.ID("enrol-photo"), []string{file}),
			chromedp.Click(chromedp.ID("enrol-submit"))))
	}
	enrol("ada", photoA)
	waitText("#enrol-exists-text", "Ada is already enrolled (1 face, id p0001). Is this photo of the same person?")
	if isHidden("enrol-exists") {
		t.Fatal("the question about the existing name is hidden")
	}
	browsertest.ScreenshotOf(t, ctx, "web-enrol-existing-name", "#enrol")
	click("adding the photo to Ada", "enrol-add")
	waitText("#enrol-result", "Added the photo to Ada (2 faces).")
	waitText("#people-body", "2") // Ada's faces
	if len(api.people) != 2 {
		t.Errorf("%d people after adding a face, want 2", len(api.people))
	}
	enrol("Ada", photoB)
	waitText("#enrol-exists-text", "Ada is already enrolled (2 faces")
	click("enrolling another Ada", "enrol-new")
	waitText("#enrol-result", "Enrolled Ada (id p0003).")
	waitText("#people-summary", "3 people enrolled.")
	enrol("Ada", photoB)
	waitText("#enrol-exists-text", "Ada is already enrolled")
	click("cancelling", "enrol-cancel")
	waitText("#enrol-result", "Not enrolled.")
	if len(api.people) != 3 {
		t.Errorf("%d people after the cancel, want 3", len(api.people))
	}

	// A photo of two people: the page asks which face.
	enrol("Crowd", photoA)
	waitText("#enrol-choose-text", "The photo shows 2 faces. Which one is Crowd?")
	waitText("#enrol-choose-faces", "Face 2 (rightmost)")
	browsertest.ScreenshotOf(t, ctx, "web-enrol-choose-face", "#enrol")
	must("choosing face 2", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#enrol-choose-faces button:last-child"))))
	waitText("#enrol-result", "Enrolled Crowd (id p0004).")
	if len(api.chosen) != 1 || api.chosen[0] != "1" {
		t.Errorf("faces chosen: %q, want [1] (the second, counted from 0)", api.chosen)
	}

	// The person view: rename, add a face, delete.
	must("opening Ada", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#people-body button[aria-label="Open Ada"]`))))
	waitText("#person-title", "Ada")
	waitText("#person-facts", "2 faces")
	must("renaming", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("rename-name"), "Ada Lovelace"),
		chromedp.Click(chromedp.ID("rename-submit"))))
	waitText("#person-result", "Renamed Ada to Ada Lovelace.")
	waitText("#people-body", "Ada Lovelace")
	upload("adding a face", "addface-photo", photoB)
	waitText("#person-result", "Added a face to Ada Lovelace (3 faces).")
	waitText("#person-facts", "3 faces")
	upload("adding a text file", "addface-photo", text)
	waitText("#person-result", "Not added: This file is not a photo.")
	upload("adding a face", "addface-photo", photoB)
	waitText("#person-result", "Added a face to Ada Lovelace (4 faces).")
	browsertest.ScreenshotOf(t, ctx, "web-person-view", "#people")
	click("deleting", "person-delete")
	waitText("#people-status", "Deleted Ada Lovelace.")
	waitText("#people-summary", "3 people enrolled.")
	if !isHidden("person") {
		t.Error("the deleted person's view stays open")
	}

	// Are these the same person?
	compare := func(a, b, want string) {
		t.Helper()
		must("comparing", chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("compare-photo1"), []string{a}),
			chromedp.SetUploadFiles(chromedp.ID("compare-photo2"), []string{b}),
			chromedp.Click(chromedp.ID("compare-submit"))))
		waitText("#compare-result", want)
	}
	compare(photoA, photoA, "Same person (distance 0.31, threshold 0.61).")
	compare(photoA, photoB, "Not the same person (distance 0.64, threshold 0.61) — close call, take a look.")
	browsertest.ScreenshotOf(t, ctx, "web-compare", "#compare")
	browsertest.Screenshot(t, ctx, "web-page")
	compare(photoA, text, "Not compared: Second photo: This file is not a photo.")
}

// TestKeyBoxShownWithKeys: on a server with keys the box is there from the
// start, before any request failed.
func TestKeyBoxShownWithKeys(t *testing.T) {
	api := &fakeAPI{key: "k"}
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := browsertest.Start(t, browsertest.Options{})
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitText(ctx, "#people-status", "An API key is needed. Set the API key at the top of the page.", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("key-form").hidden`))
	if err != nil || hidden {
		t.Errorf("key box hidden=%v (%v) on a server with keys", hidden, err)
	}
	if _, err := browsertest.WaitText(ctx, "#history-status", "Cannot read the history: An API key is needed.", 10*time.Second); err != nil {
		t.Error(err)
	}
}
