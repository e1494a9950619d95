package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/color"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// patches is a test card: flat colour patches (so chroma subsampling and
// the camera's scaling only blur their borders), from black to white.
func patches(w, h int) *image.RGBA {
	cols := []color.RGBA{
		{0, 0, 0, 255}, {255, 255, 255, 255}, {128, 128, 128, 255}, {200, 40, 30, 255},
		{30, 160, 60, 255}, {40, 60, 200, 255}, {230, 190, 150, 255}, {90, 60, 40, 255},
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, cols[(y*2/h)*4+x*4/w])
		}
	}
	return img
}

func TestWriteY4M(t *testing.T) {
	img := patches(8, 4)
	var buf bytes.Buffer
	if err := WriteY4M(&buf, img, 2); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(&buf)
	header, _ := r.ReadString('\n')
	if want := "YUV4MPEG2 W8 H4 F25:1 Ip A1:1 C420jpeg\n"; header != want {
		t.Fatalf("header %q, want %q", header, want)
	}
	frameSize := 8*4 + 2*(4*2)
	for f := range 2 {
		tag, _ := r.ReadString('\n')
		if tag != "FRAME\n" {
			t.Fatalf("frame %d: tag %q", f, tag)
		}
		data := make([]byte, frameSize)
		if n, _ := r.Read(data); n != frameSize {
			t.Fatalf("frame %d: %d bytes, want %d", f, n, frameSize)
		}
		// Black is Y 16 and white Y 235 in limited range; chroma of greys
		// is 128.
		if data[0] != 16 || data[2] != 235 || data[4] != 126 && data[4] != 127 && data[4] != 128 {
			t.Errorf("frame %d: Y of black, white, grey = %d, %d, %d; want 16, 235, ~126", f, data[0], data[2], data[4])
		}
		cb, cr := data[32:40], data[40:48]
		if cb[0] != 128 || cr[0] != 128 || cb[1] != 128 || cr[1] != 128 {
			t.Errorf("frame %d: chroma of black and white = (%d,%d), (%d,%d); want 128", f, cb[0], cr[0], cb[1], cr[1])
		}
	}
	if rest, _ := r.ReadByte(); rest != 0 || buf.Len() != 0 {
		t.Errorf("bytes left after the frames")
	}
}

func TestWriteY4MRejectsBadInput(t *testing.T) {
	var buf bytes.Buffer
	for _, tc := range []struct {
		w, h, frames int
	}{{7, 4, 1}, {8, 5, 1}, {0, 0, 1}, {8, 4, 0}} {
		err := WriteY4M(&buf, image.NewRGBA(image.Rect(0, 0, tc.w, tc.h)), tc.frames)
		if err == nil || !strings.Contains(err.Error(), "y4m") {
			t.Errorf("%d×%d, %d frames: error %v, want a y4m error", tc.w, tc.h, tc.frames, err)
		}
	}
}

// TestFakeCameraShowsTheImage checks the whole camera path the page tests
// rely on: a frame grabbed in the page from getUserMedia must show the
// image given to WriteY4M, in the right colours.
func TestFakeCameraShowsTheImage(t *testing.T) {
	const w, h = 320, 240
	src := patches(w, h)
	cam := filepath.Join(t.TempDir(), "cam.y4m")
	if err := WriteY4MFile(cam, src, 1); err != nil {
		t.Fatal(err)
	}
	ctx := Start(t, Options{Camera: cam})
	// getUserMedia needs a secure context: http://127.0.0.1 is one.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>camera</title>"))
	}))
	defer srv.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	const grab = `(async () => {
		const s = await navigator.mediaDevices.getUserMedia({video: true});
		const v = document.createElement("video");
		v.muted = true;
		v.srcObject = s;
		await v.play();
		// Wait for a decoded frame of the file, not the first black one.
		await new Promise((ok) => v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => ok()) : setTimeout(ok, 500));
		await new Promise((ok) => setTimeout(ok, 300));
		const c = document.createElement("canvas");
		c.width = v.videoWidth; c.height = v.videoHeight;
		const g = c.getContext("2d");
		g.drawImage(v, 0, 0);
		s.getTracks().forEach((t) => t.stop());
		return {w: c.width, h: c.height, px: Array.from(g.getImageData(0, 0, c.width, c.height).data)};
	})()`
	type frame struct {
		W, H int
		Px   []int
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := chromedp.Run(tctx, chromedp.Evaluate[frame](grab, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got.W != w || got.H != h || len(got.Px) != w*h*4 {
		t.Fatalf("camera frame is %d×%d with %d values, want %d×%d", got.W, got.H, len(got.Px), w, h)
	}
	// Compare each patch's centre: a colour error under 6/255 means the
	// range and the matrix are right (full-range data read as limited
	// range is off by up to 19 in black and white).
	worst := 0.0
	for py := range 2 {
		for px := range 4 {
			x, y := px*w/4+w/8, py*h/2+h/4
			want := src.RGBAAt(x, y)
			o := (y*w + x) * 4
			for c, v := range []uint8{want.R, want.G, want.B} {
				d := math.Abs(float64(got.Px[o+c]) - float64(v))
				worst = max(worst, d)
				if d > 6 {
					t.Errorf("patch (%d,%d) channel %d: camera %d, image %d", px, py, c, got.Px[o+c], v)
				}
			}
		}
	}
	t.Logf("largest colour error over the patches: %.0f/255", worst)
}
