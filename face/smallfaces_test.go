package face

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/facerec/facerec/model"
	"golang.org/x/image/draw"
)

// pasteFace returns a w×h frame of coloured noise with LFW's name_000n
// pasted so that its face box (the detector's box on the photo alone) is
// size pixels wide at (x, y), and that box in the frame. (The full
// synthetic benchmark, with feathered edges and many faces, is eval's
// SynthesizeFrame: eval imports face, so its tests cannot be used here.)
func pasteFace(t testing.TB, p *Pipeline, name string, n, w, h, size, x, y int) (*image.RGBA, Rect) {
	t.Helper()
	src := readLFW(t, name, n)
	f, err := p.DetectSubject(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < len(frame.Pix); i += 4 {
		frame.Pix[i], frame.Pix[i+1], frame.Pix[i+2], frame.Pix[i+3] = uint8(90+rng.IntN(60)), uint8(100+rng.IntN(60)), uint8(80+rng.IntN(60)), 255
	}
	k := float64(size) / f.Box.W
	// The whole photo, scaled, with the face box landing at (x, y).
	b := src.Bounds()
	ox, oy := float64(x)-f.Box.X*k, float64(y)-f.Box.Y*k
	dst := image.Rect(int(ox), int(oy), int(ox+float64(b.Dx())*k), int(oy+float64(b.Dy())*k))
	draw.CatmullRom.Scale(frame, dst, src, b, draw.Src, nil)
	return frame, Rect{X: float64(dst.Min.X) + f.Box.X*k, Y: float64(dst.Min.Y) + f.Box.Y*k, W: f.Box.W * k, H: f.Box.H * k}
}

// foundAt reports whether one of faces overlaps want by IoU ≥ 0.3, the
// rule of eval small-faces.
func foundAt(faces []Face, want Rect) bool {
	return slices.ContainsFunc(faces, func(f Face) bool { return model.IoU(f.Box, want) >= 0.3 })
}

// TestSmallFaceInLargeFrame: a 60-pixel face in a 1920×1080 frame (a
// person across the room from a 1080p webcam) is below what the
// whole-frame pass at 416 sees (13 input pixels); the small-face search
// finds it, and the old policy (SmallFaceSize < 0) does not.
func TestSmallFaceInLargeFrame(t *testing.T) {
	p := testPipeline(t, Options{})
	frame, want := pasteFace(t, p, "Aaron_Eckhart", 1, 1920, 1080, 60, 1400, 700)
	faces, err := p.Detect(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	if !foundAt(faces, want) {
		t.Errorf("face at %+v not found; got %d faces: %+v", want, len(faces), faces)
	}
	faces, err = testPipeline(t, Options{SmallFaceSize: -1}).Detect(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	if foundAt(faces, want) {
		t.Errorf("the whole-frame pass alone found the 60-pixel face: the test shows nothing")
	}
}

// TestSmallFaceSubject: a labelled 1920×1080 photo whose only face is 60
// pixels wide has a subject (the search runs when the whole-frame pass
// finds nothing); cancelling stops the search with the context's error.
func TestSmallFaceSubject(t *testing.T) {
	p := testPipeline(t, Options{})
	frame, want := pasteFace(t, p, "Aaron_Eckhart", 1, 1920, 1080, 60, 930, 500)
	f, err := p.DetectSubject(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	if model.IoU(f.Box, want) < 0.3 {
		t.Errorf("subject %+v, want the face at %+v", f.Box, want)
	}
	big, _ := pasteFace(t, p, "Aaron_Eckhart", 1, 3840, 2160, 60, 930, 500)
	c, cancel := context.WithTimeout(ctx, 200*time.Millisecond) // the search takes seconds
	defer cancel()
	if _, err := p.Detect(c, big); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Detect past its deadline: %v, want %v", err, context.DeadlineExceeded)
	}
}

// TestSmallFaceOnTileSeam: a face centred on the seam of two tiles is found
// once, not twice (each tile keeps the faces centred in its share of the
// overlap).
func TestSmallFaceOnTileSeam(t *testing.T) {
	p := testPipeline(t, Options{})
	passes := p.smallFacePasses(1920, 1080)
	var seam float64
	for _, ps := range passes {
		if ps.core.x0 > 0 && ps.size == tileInput && ps.region.w < 1000 {
			seam = ps.core.x0 // the first level's first seam
			break
		}
	}
	if seam == 0 {
		t.Fatal("no tiled level in the plan of a 1920×1080 frame")
	}
	frame, want := pasteFace(t, p, "Aaron_Eckhart", 1, 1920, 1080, 70, int(seam)-35, 300)
	faces, err := p.Detect(ctx, frame)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range faces {
		if model.IoU(f.Box, want) >= 0.3 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("face on the seam at x=%.0f found %d times, want once: %+v", seam, n, faces)
	}
}

// TestSmallFacePlan: frames the whole-frame pass covers, LFW's 250×250
// among them, get no search, so their detections are those of before; a
// larger frame's levels tile it completely, each point in exactly one
// tile's share per level.
func TestSmallFacePlan(t *testing.T) {
	p := &Pipeline{det: tinyDetector{}}
	var err error
	if p.opt, err = (Options{}).withDefaults(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []image.Point{{250, 250}, {320, 240}, {520, 390}, {480, 520}} {
		if ps := p.smallFacePasses(r.X, r.Y); len(ps) != 0 {
			t.Errorf("%v: %d small-face passes, want none", r, len(ps))
		}
	}
	off := *p
	off.opt.SmallFaceSize = -1
	if ps := off.smallFacePasses(3840, 2160); len(ps) != 0 {
		t.Errorf("SmallFaceSize -1: %d passes, want none", len(ps))
	}
	ssd := *p
	ssd.det = ssdDetector{}
	if ps := ssd.smallFacePasses(3840, 2160); len(ps) != 0 {
		t.Errorf("SSD: %d passes, want none", len(ps))
	}
	for _, r := range []image.Point{{640, 480}, {1280, 720}, {1920, 1080}, {3840, 2160}, {1080, 1920}} {
		ps := p.smallFacePasses(r.X, r.Y)
		if len(ps) == 0 {
			t.Errorf("%v: no small-face passes", r)
			continue
		}
		for _, pt := range []image.Point{{0, 0}, {r.X - 1, r.Y - 1}, {r.X / 3, r.Y / 2}, {r.X / 2, r.Y / 7}} {
			x, y := float64(pt.X)+0.5, float64(pt.Y)+0.5
			levels := map[int]int{} // level → passes keeping (x, y)
			for _, q := range ps {
				if !q.core.contains(x, y) {
					continue
				}
				levels[q.level]++
				in := q.region.x <= pt.X && pt.X < q.region.x+q.region.w && q.region.y <= pt.Y && pt.Y < q.region.y+q.region.h
				if !in {
					t.Errorf("%v: point %v kept by a pass whose region %+v misses it", r, pt, q.region)
				}
				if q.size%32 != 0 || q.size > max(tileInput, maxWholeInput) {
					t.Errorf("%v: pass input size %d", r, q.size)
				}
			}
			for k, n := range levels {
				if n != 1 {
					t.Errorf("%v: point %v kept by %d passes of one level (%d)", r, pt, n, k)
				}
			}
		}
	}
}

// TestSmallFaceSearchCost: a frame above 4K costs about what a 4K frame
// does (its smallest face grows instead).
func TestSmallFaceSearchCost(t *testing.T) {
	p := &Pipeline{det: tinyDetector{}}
	var err error
	if p.opt, err = (Options{}).withDefaults(); err != nil {
		t.Fatal(err)
	}
	cost := func(w, h int) (c int) {
		for _, q := range p.smallFacePasses(w, h) {
			c += q.size * q.size
		}
		return c
	}
	k4 := cost(3840, 2160)
	for _, r := range []image.Point{{4000, 3000}, {8000, 5000}, {2160, 3840}} {
		if c := cost(r.X, r.Y); c > 3*k4/2 {
			t.Errorf("%v: search costs %.1f× a 4K frame's", r, float64(c)/float64(k4))
		}
	}
}

// TestSmallFaceSizeOption: bad sizes are refused, and the zero value is
// the default.
func TestSmallFaceSizeOption(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil || o.SmallFaceSize != DefaultSmallFaceSize {
		t.Fatalf("zero Options: SmallFaceSize %d, %v", o.SmallFaceSize, err)
	}
	if _, err := (Options{SmallFaceSize: 8}).withDefaults(); err == nil {
		t.Error("SmallFaceSize 8 accepted")
	}
	if _, err := (Options{SmallFaceSize: -1}).withDefaults(); err != nil {
		t.Errorf("SmallFaceSize -1 (off): %v", err)
	}
}

// BenchmarkDetectFrame times Detect (detector and landmarks) on a frame of
// noise with one 120-pixel LFW face pasted in, at the frame sizes of eval
// small-faces, with the small-face search on (default) and off. (A frame
// without a face would time the retry tiers instead.)
func BenchmarkDetectFrame(b *testing.B) {
	on, off := testPipeline(b, Options{}), testPipeline(b, Options{SmallFaceSize: -1})
	for _, r := range []image.Point{{250, 250}, {640, 480}, {1280, 720}, {1920, 1080}, {3840, 2160}} {
		frame, _ := pasteFace(b, on, "Aaron_Eckhart", 1, r.X, r.Y, 120, r.X/2-60, r.Y/2-60)
		for _, c := range []struct {
			name string
			p    *Pipeline
		}{{"default", on}, {"off", off}} {
			b.Run(fmt.Sprintf("%dx%d/%s", r.X, r.Y, c.name), func(b *testing.B) {
				for b.Loop() {
					if faces, err := c.p.Detect(ctx, frame); err != nil || len(faces) == 0 {
						b.Fatal(err, len(faces))
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
			})
		}
	}
}

// TestSmallFaceSearchLeavesLFWAlone: on LFW's 250×250 images the default
// pipeline detects exactly what it did without the small-face search (the
// same boxes, scores and landmarks, bit for bit), so descriptors and LFW
// figures do not move.
func TestSmallFaceSearchLeavesLFWAlone(t *testing.T) {
	on, off := testPipeline(t, Options{}), testPipeline(t, Options{SmallFaceSize: -1})
	for _, c := range []struct {
		name string
		n    int
	}{{"Woody_Allen", 4}, {"Mesut_Yilmaz", 1}, {"George_HW_Bush", 6}, {"Jiang_Zemin", 7}, {"Aaron_Eckhart", 1}, {"Sandra_Bullock", 1}} {
		img := readLFW(t, c.name, c.n)
		a, err := on.Detect(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		b, err := off.Detect(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s_%04d: detections differ with the small-face search:\n%+v\n%+v", c.name, c.n, a, b)
		}
		sa, errA := on.Subject(ctx, img)
		sb, errB := off.Subject(ctx, img)
		if !reflect.DeepEqual(sa, sb) || fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Errorf("%s_%04d: subject differs with the small-face search", c.name, c.n)
		}
	}
}
