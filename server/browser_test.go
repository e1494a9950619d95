package server

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/image/draw"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server/web"
	"github.com/facerec/facerec/server/web/browsertest"
)

// doorScene is what the fake door camera shows: the photo scaled into
// place on a plain 640×480 wall, as a person stands in front of a door
// camera. It returns the frame and where the photo lies in it.
func doorScene(t *testing.T, path string) (*image.RGBA, image.Rectangle) {
	t.Helper()
	src, _, err := photo.DecodeFile(path, photo.Options{})
	if err != nil {
		t.Fatalf("door scene: %v", err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(frame, frame.Bounds(), &image.Uniform{color.RGBA{120, 125, 130, 255}}, image.Point{}, draw.Src)
	where := image.Rect(170, 90, 470, 390)
	draw.CatmullRom.Scale(frame, where, src, src.Bounds(), draw.Over, nil)
	return frame, where
}

// writePair writes the photos a and b side by side, as one photo of two
// people of the same size.
func writePair(t *testing.T, path, a, b string) {
	t.Helper()
	var imgs [2]image.Image
	for i, p := range []string{a, b} {
		img, _, err := photo.DecodeFile(p, photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		imgs[i] = img
	}
	w, h := imgs[0].Bounds().Dx(), imgs[0].Bounds().Dy()
	out := image.NewRGBA(image.Rect(0, 0, 2*w, h))
	draw.CatmullRom.Scale(out, image.Rect(0, 0, w, h), imgs[0], imgs[0].Bounds(), draw.Src, nil)
	draw.CatmullRom.Scale(out, image.Rect(w, 0, 2*w, h), imgs[1], imgs[1].Bounds(), draw.Src, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, out); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeWallPhoto writes a photo with no face in it.
func writeWallPhoto(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{180, 170, 160, 255}}, image.Point{}, draw.Src)
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

// serverWarnings sends the server's warnings (500s, say) to the test log.
type serverWarnings struct{ t *testing.T }

func (w serverWarnings) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// overlayBox is the bounding box of the door overlay's pixels drawn in
// one colour (a face's box and its label), and how many there are.
type overlayBox struct {
	N, X0, Y0, X1, Y1 int
}

// readOverlay finds the pixels of colour rgb on the door overlay canvas,
// whose pixels are those of the frame sent to the server.
func readOverlay(ctx context.Context, rgb [3]int) (overlayBox, error) {
	js := fmt.Sprintf(`(() => {
		const c = document.getElementById("door-overlay");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0, x0 = c.width, y0 = c.height, x1 = -1, y1 = -1;
		for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
			const o = (y * c.width + x) * 4;
			if (d[o+3] > 200 && Math.abs(d[o]-%d) < 8 && Math.abs(d[o+1]-%d) < 8 && Math.abs(d[o+2]-%d) < 8) {
				n++; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
			}
		}
		return {N: n, X0: x0, Y0: y0, X1: x1, Y1: y1};
	})()`, rgb[0], rgb[1], rgb[2])
	return chromedp.Run(ctx, chromedp.Evaluate[overlayBox](js))
}

// The overlay's colours, as in app.js.
var (
	overlayKnown   = [3]int{0x1a, 0x7f, 0x37}
	overlayUnknown = [3]int{0xc4, 0x32, 0x0a}
)

// TestBrowserDoorAccess is the end-to-end test of the door-access page: a
// real headless Chromium, whose fake webcam shows a face, against the real
// server with the real face pipeline and an SQLite gallery. It enrols two
// people from photo files, checks that the door camera names the right
// one from another photo of them, and that after deletion the same face
// is "unknown".
func TestBrowserDoorAccess(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	// Look for the browser before loading the models, which takes a while.
	_, err := browsertest.ExecPath()
	sharedtest.Need(t, "chromium", err)
	lfw := func(name string, n int) string {
		return sharedtest.Path(t, "data", "lfw", "deepfunneled", name, fmt.Sprintf("%s_%04d.jpg", name, n))
	}
	enrolPowell, enrolBush := lfw("Colin_Powell", 1), lfw("George_W_Bush", 1)
	// Another photo of the same man at the door: a real one-shot match, not
	// the enrolment photo again.
	frame, photoRect := doorScene(t, lfw("Colin_Powell", 2))

	pipe := realPipeline(t)
	tmp := t.TempDir()
	g := realGallery(t, tmp, pipe)
	const key = "browser-test-key"
	keys, err := NewKeys(key, "")
	if err != nil {
		t.Fatal(err)
	}
	enroll, err := pipe.ForEnrolment(face.AutoEnrollJitter)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := recognition.New(recognition.Config{Recognizer: pipe, Enroller: enroll, Gallery: g, Decision: face.RuleOf(pipe.Model())})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{
		Service:    svc,
		Keys:       keys,
		Thumbnails: true,
		Web:        web.Handler(),
		Logger:     slog.New(slog.NewTextHandler(serverWarnings{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	cam := filepath.Join(tmp, "door.y4m")
	if err := browsertest.WriteY4MFile(cam, frame, 1); err != nil {
		t.Fatal(err)
	}
	noFace := filepath.Join(tmp, "wall.png")
	writeWallPhoto(t, noFace)

	ctx := browsertest.Start(t, browsertest.Options{Camera: cam})
	browsertest.AcceptDialogs(ctx) // the delete button's confirm
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			browsertest.Screenshot(t, ctx, "door-access-failure")
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitText := func(sel, want string, timeout time.Duration) string {
		t.Helper()
		text, err := browsertest.WaitText(ctx, sel, want, timeout)
		must("waiting for "+want, err)
		return text
	}
	const quick, slow = 10 * time.Second, 30 * time.Second
	click := func(what, id string) {
		t.Helper()
		must(what, chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))))
	}
	// enrol submits the form with a photo file and waits for want in the
	// result.
	enrol := func(name, file, want string) {
		t.Helper()
		must("enrolling "+name, chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("enrol-name"), name),
			chromedp.SetUploadFiles(chromedp.ID("enrol-photo"), []string{file}),
			chromedp.Click(chromedp.ID("enrol-submit"))))
		waitText("#enrol-result", want, slow)
	}
	// doorCheck starts the door check and waits for want in the results.
	doorCheck := func(want string) string {
		t.Helper()
		click("starting the door check", "door-toggle")
		return waitText("#door-results", want, slow)
	}
	stopDoor := func() {
		t.Helper()
		click("stopping the door check", "door-toggle")
		waitText("#door-status", "Stopped.", quick)
	}

	must("opening the page", chromedp.Do(ctx, chromedp.Navigate(ts.URL)))
	// The server has a key: without it the page says what to do.
	waitText("#people-status", "Set the API key", quick)
	must("saving the key", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("api-key"), key),
		chromedp.Click(chromedp.CSS("#key-form button"))))
	waitText("#people-summary", "Nobody is enrolled yet.", quick)

	// A photo without a face is refused with the server's no_face.
	enrol("Nobody", noFace, "Not enrolled: No face was found in the photo.")
	enrol("Colin Powell", enrolPowell, "Enrolled Colin Powell (id ")
	enrol("George W Bush", enrolBush, "Enrolled George W Bush (id ")
	waitText("#people-summary", "2 people enrolled.", quick)
	list := waitText("#people-body", "Colin Powell", quick)
	// Thumbnails are on: each row shows the enrolled face, a real crop
	// (its pixels vary), not a blank square.
	// (They are drawn once decoded: wait until both are.)
	spread, err := chromedp.Run(ctx, chromedp.PollFunction[[]int](`() => {
		const cs = document.querySelectorAll("#people-body td.thumb canvas");
		if (cs.length !== 2 || Array.from(cs).some((c) => c.width !== 96)) return false;
		return Array.from(cs, (c) => {
			const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let lo = 255, hi = 0;
			for (let o = 0; o < d.length; o += 4) { lo = Math.min(lo, d[o+1]); hi = Math.max(hi, d[o+1]); }
			return hi - lo;
		});
	}`, chromedp.WithPollingTimeout(quick)))
	must("reading the thumbnails", err)
	if len(spread) != 2 || spread[0] < 60 || spread[1] < 60 {
		t.Errorf("thumbnails' contrast %v: want two 96-px faces", spread)
	}
	if !strings.Contains(list, "George W Bush") {
		t.Errorf("people list %q lacks George W Bush", list)
	}

	// The door camera shows Colin Powell (another photo of him).
	got := doorCheck("Colin Powell, distance ")
	if strings.Contains(got, "George W Bush") || strings.Contains(got, "unknown") {
		t.Errorf("door results %q: want Colin Powell alone", got)
	}
	d := shownDistance(t, got)
	if d <= 0 || d >= face.DefaultThreshold {
		t.Errorf("match distance %.2f outside (0, %g)", d, face.DefaultThreshold)
	}
	// His box is drawn on the overlay, in the known colour, on his face.
	box, err := readOverlay(ctx, overlayKnown)
	must("reading the overlay", err)
	centre := image.Pt((box.X0+box.X1)/2, (box.Y0+box.Y1)/2)
	if box.N < 200 || box.X1-box.X0 < 50 || box.Y1-box.Y0 < 50 || !centre.In(photoRect) {
		t.Errorf("overlay: %d box pixels spanning (%d,%d)-(%d,%d); want a box around the face in %v",
			box.N, box.X0, box.Y0, box.X1, box.Y1, photoRect)
	}
	browsertest.Screenshot(t, ctx, "door-access-known")
	stopDoor()

	// Without the camera: the same check from a photo file.
	must("checking a photo", chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("door-photo"), []string{lfw("Colin_Powell", 3)}, chromedp.NodeReady)))
	waitText("#door-status", "Checked Colin_Powell_0003.jpg: 1 face.", slow)
	got = waitText("#door-results", "Colin Powell, distance ", quick)
	// The threshold in force is the calibrated one for this gallery's size,
	// at most the one for a gallery of one (shown to two decimals).
	if d, tau := shownDistance(t, got), shownThreshold(t, got); d <= 0 || d >= tau || tau <= 0 || tau > face.RuleOf(pipe.Model()).ThresholdFor(1)+0.005 {
		t.Errorf("photo check %q: want Colin Powell within the threshold, shown", got)
	}
	browsertest.Screenshot(t, ctx, "door-access-photo")
	// The history lists the decisions, newest first.
	hist := waitText("#history-list", "Colin Powell (", quick)
	if strings.Contains(hist, "George W Bush (") {
		t.Errorf("history %q names George W Bush, who never came", hist)
	}

	// Enrolling his name again asks first, then adds the face to him.
	must("enrolling Colin Powell again", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("enrol-name"), "colin  powell"),
		chromedp.SetUploadFiles(chromedp.ID("enrol-photo"), []string{lfw("Colin_Powell", 4)}),
		chromedp.Click(chromedp.ID("enrol-submit"))))
	waitText("#enrol-exists-text", "Colin Powell is already enrolled (1 face, id ", slow)
	click("adding the photo to him", "enrol-add")
	waitText("#enrol-result", "Added the photo to Colin Powell (2 faces).", slow)
	waitText("#people-summary", "2 people enrolled.", quick)

	// Are these the same person?
	compare := func(a, b, want string) string {
		t.Helper()
		must("comparing", chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("compare-photo1"), []string{a}),
			chromedp.SetUploadFiles(chromedp.ID("compare-photo2"), []string{b}),
			chromedp.Click(chromedp.ID("compare-submit"))))
		return waitText("#compare-result", want, slow)
	}
	compare(lfw("Colin_Powell", 1), lfw("Colin_Powell", 2), "Same person (distance ")
	compare(lfw("Colin_Powell", 1), enrolBush, "Not the same person (distance ")
	browsertest.Screenshot(t, ctx, "door-access-compare")

	// A photo of two people side by side: the page asks which face is
	// the person, and enrols that one.
	pair := filepath.Join(tmp, "pair.png")
	writePair(t, pair, enrolBush, lfw("Tony_Blair", 1))
	must("enrolling from a photo of two", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("enrol-name"), "Tony Blair"),
		chromedp.SetUploadFiles(chromedp.ID("enrol-photo"), []string{pair}),
		chromedp.Click(chromedp.ID("enrol-submit"))))
	// (Tony_Blair_0001 has someone behind him too: three faces, his the
	// rightmost.)
	waitText("#enrol-choose-text", "faces. Which one is Tony Blair?", slow)
	waitText("#enrol-choose-faces", "(rightmost)", quick)
	browsertest.Screenshot(t, ctx, "door-access-choose")
	must("choosing the right face", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#enrol-choose-faces button:last-child"))))
	waitText("#enrol-result", "Enrolled Tony Blair (id ", slow)
	must("checking his photo", chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("door-photo"), []string{lfw("Tony_Blair", 2)}, chromedp.NodeReady)))
	waitText("#door-status", "Checked Tony_Blair_0002.jpg", slow)
	got = waitText("#door-results", "Tony Blair, distance ", quick)
	if strings.Contains(got, "George W Bush") {
		t.Errorf("door results %q: the wrong face of the pair was enrolled", got)
	}
	// His person view deletes him.
	must("opening Tony Blair", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#people-body button[aria-label="Open Tony Blair"]`))))
	waitText("#person-facts", "1 face", quick)
	click("deleting Tony Blair", "person-delete")
	waitText("#people-status", "Deleted Tony Blair.", quick)
	waitText("#people-summary", "2 people enrolled.", quick)

	// Delete him: the same face is now a stranger, whose nearest person
	// (George W Bush) is beyond the threshold.
	must("deleting Colin Powell", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#people-body button[aria-label="Delete Colin Powell"]`))))
	waitText("#people-status", "Deleted Colin Powell.", quick)
	waitText("#people-summary", "1 person enrolled.", quick)
	got = doorCheck("unknown")
	if strings.Contains(got, "Colin Powell") || !strings.Contains(got, "nearest distance") {
		t.Errorf("door results %q: want unknown, with the nearest distance", got)
	}
	if d, tau := shownDistance(t, got), shownThreshold(t, got); d < tau {
		t.Errorf("unknown face's nearest distance %.2f is under the threshold %g", d, tau)
	}
	stopDoor()

	// Delete the last one: the list is empty, and the door sees a stranger.
	must("deleting George W Bush", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#people-body button[aria-label="Delete George W Bush"]`))))
	waitText("#people-summary", "Nobody is enrolled yet.", quick)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#people-body tr").length`))
	must("counting the rows", err)
	if rows != 0 {
		t.Errorf("%d rows in the people list after deleting everyone", rows)
	}
	got = doorCheck("unknown")
	if strings.TrimSpace(got) != "unknown" {
		t.Errorf("door results %q with nobody enrolled: want unknown", got)
	}
	box, err = readOverlay(ctx, overlayUnknown)
	must("reading the overlay", err)
	if centre := image.Pt((box.X0+box.X1)/2, (box.Y0+box.Y1)/2); box.N < 200 || !centre.In(photoRect) {
		t.Errorf("overlay: %d unknown-box pixels around (%d,%d); want a box around the face in %v",
			box.N, centre.X, centre.Y, photoRect)
	}
	shot := browsertest.Screenshot(t, ctx, "door-access")
	t.Logf("screenshot: %s", shot)
}

var shownDistanceRE = regexp.MustCompile(`distance (\d+\.\d+)`)

// shownDistance reads the distance shown in a door result.
var shownThresholdRE = regexp.MustCompile(`threshold ([0-9.]+)`)

// shownThreshold is the threshold a result text states.
func shownThreshold(t *testing.T, text string) float64 {
	t.Helper()
	m := shownThresholdRE.FindStringSubmatch(text)
	if m == nil {
		t.Errorf("no threshold in %q", text)
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func shownDistance(t *testing.T, text string) float64 {
	t.Helper()
	m := shownDistanceRE.FindStringSubmatch(text)
	if m == nil {
		t.Errorf("no distance in %q", text)
		return -1
	}
	d, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Errorf("distance in %q: %v", text, err)
		return -1
	}
	return d
}
