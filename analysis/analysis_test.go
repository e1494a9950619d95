package analysis

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

func TestEnlarged(t *testing.T) {
	for _, c := range []struct {
		box   face.Rect
		scale float64
		w, h  int
		want  rectInt
	}{
		// Inside: 50×50 about (125, 125) becomes 135×135.
		{face.Rect{X: 100, Y: 100, W: 50, H: 50}, 2.7, 640, 480, rectInt{57, 57, 135, 135}},
		// Truncated corners: 100.9 and 150.9 are 100 and 150.
		{face.Rect{X: 100.9, Y: 100.9, W: 50, H: 50}, 2.7, 640, 480, rectInt{57, 57, 135, 135}},
		// Near the top-left corner: shifted inside.
		{face.Rect{X: 10, Y: 10, W: 50, H: 50}, 2.7, 640, 480, rectInt{0, 0, 135, 135}},
		// Near the bottom-right corner: shifted back.
		{face.Rect{X: 600, Y: 440, W: 30, H: 30}, 2, 640, 480, rectInt{579, 419, 60, 60}},
		// Larger than the image allows: the scale shrinks to fit.
		{face.Rect{X: 50, Y: 50, W: 150, H: 150}, 2.7, 250, 250, rectInt{0, 0, 249, 249}},
	} {
		if got := enlarged(c.box, c.scale, c.w, c.h); got != c.want {
			t.Errorf("enlarged(%+v, %g, %d×%d) = %+v, want %+v", c.box, c.scale, c.w, c.h, got, c.want)
		}
	}
}

func TestResizeLinearSamplesAsOpenCV(t *testing.T) {
	// INTER_LINEAR's positions for 2 → 4: rows and columns 0, 25%, 75%
	// and 100% of the way (the outer ones clamped to the edge), e.g.
	// (1, 2) = 0.75·(0.25·0 + 0.75·100) + 0.25·(0.25·200 + 0.75·255).
	img := tensor.From([]float32{0, 100, 200, 255}, 2, 2, 1)
	got := resizeLinear(img, rectInt{0, 0, 2, 2}, 4)
	want := []uint8{0, 25, 75, 100, 50, 72, 117, 139, 150, 167, 200, 216, 200, 214, 241, 255}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("resize = %v, want %v", got, want)
		}
	}
	// A crop of a constant image is that constant; a crop reads only its
	// rectangle.
	img = tensor.New(6, 6, 3)
	for i := range img.Data {
		img.Data[i] = 255
	}
	for y := 2; y < 4; y++ {
		for x := 2; x < 4; x++ {
			for c := 0; c < 3; c++ {
				img.Data[(y*6+x)*3+c] = 40
			}
		}
	}
	for _, v := range resizeLinear(img, rectInt{2, 2, 2, 2}, 5) {
		if v != 40 {
			t.Fatalf("a crop of the constant square: %d", v)
		}
	}
}

func TestEyeRectsAndAspect(t *testing.T) {
	var pts [face.NumLandmarks]face.Point
	// An eye 20 px wide, lids 6 px apart, at (50, 40); the other at (90, 40).
	eye := func(from int, cx float64) {
		pts[from] = face.Point{X: cx - 10, Y: 40}
		pts[from+1] = face.Point{X: cx - 4, Y: 37}
		pts[from+2] = face.Point{X: cx + 4, Y: 37}
		pts[from+3] = face.Point{X: cx + 10, Y: 40}
		pts[from+4] = face.Point{X: cx + 4, Y: 43}
		pts[from+5] = face.Point{X: cx - 4, Y: 43}
	}
	eye(36, 50)
	eye(42, 90)
	rs := eyeRects(&pts, 200, 200)
	// 1.6 × 20 = 32 px about the lids' centre.
	if rs[0] != (rectInt{34, 24, 32, 32}) || rs[1] != (rectInt{74, 24, 32, 32}) {
		t.Errorf("eye rectangles %+v", rs)
	}
	if got := eyeAspect(&pts, 36); math.Abs(got-0.3) > 1e-9 {
		t.Errorf("eye aspect %g, want 0.3", got)
	}
}

func TestBadInput(t *testing.T) {
	a, err := Load(context.Background(), t.TempDir(), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	good := face.Face{Box: face.Rect{X: 30, Y: 30, W: 40, H: 40}}
	for i := range good.Landmarks {
		good.Landmarks[i] = face.Point{X: 30 + float64(i%10)*4, Y: 30 + float64(i/10)*5}
	}
	if _, err := a.Analyze(context.Background(), img, []face.Face{good}); err != nil {
		t.Errorf("a blank image with a face's geometry: %v", err)
	}
	nan := good
	nan.Box.X = math.NaN()
	outside := good
	outside.Box.X = 500
	lm := good
	lm.Landmarks[3].Y = math.Inf(1)
	for name, c := range map[string]struct {
		img image.Image
		f   face.Face
	}{
		"nil image":         {nil, good},
		"tiny image":        {image.NewRGBA(image.Rect(0, 0, 1, 1)), good},
		"NaN box":           {img, nan},
		"box outside":       {img, outside},
		"infinite landmark": {img, lm},
	} {
		if _, err := a.Analyze(context.Background(), c.img, []face.Face{c.f}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := a.Liveness(context.Background(), img, good); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("Liveness without the network: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Analyze(ctx, img, []face.Face{good}); err == nil {
		t.Error("a cancelled context: no error")
	}
}

// analyzer returns an Analyzer with every network and the pipeline, or
// skips where the models or LFW are missing.
func analyzer(t testing.TB) (*Analyzer, *face.Pipeline) {
	t.Helper()
	dir, err := registry.Dir()
	if err != nil {
		t.Skip(err)
	}
	if err := registry.Verify(dir, append(registry.All(), registry.Analysis()...)...); err != nil {
		t.Skipf("needs the default and analysis models (facerec models pull; facerec models pull fr_liveness fr_age fr_gender fr_expression fr_eye): %v", err)
	}
	ctx := context.Background()
	p, err := face.Load(ctx, dir, face.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Load(ctx, dir, All(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func lfwPhoto(t testing.TB, name string) *image.RGBA {
	t.Helper()
	img, _, err := photo.DecodeFile(filepath.Join("..", "..", "shared", "data", "lfw", "deepfunneled", name, name+"_0001.jpg"), photo.Options{})
	if err != nil {
		t.Skipf("needs LFW under ../shared/data: %v", err)
	}
	return img
}

func mirror(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(b.Max.X-1-(x-b.Min.X), y, img.At(x, y))
		}
	}
	return out
}

// TestAnalyzeLFWFace: every part on a real face is in its range, and the
// mirror image of a turned face turns the other way.
func TestAnalyzeLFWFace(t *testing.T) {
	a, p := analyzer(t)
	ctx := context.Background()
	img := lfwPhoto(t, "Colin_Powell")
	var yaws, rolls, netYaws [2]float64
	for i, im := range []*image.RGBA{img, mirror(img)} {
		f, err := p.DetectSubject(ctx, im)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := a.Analyze(ctx, im, []face.Face{f})
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if r.Liveness == nil || r.Age == nil || r.Gender == nil || r.Expression == nil || r.Eyes == nil || r.PoseModel == nil {
			t.Fatalf("a part is missing: %+v", r)
		}
		if s := r.Liveness.Score; !(s >= 0 && s <= 1) || math.Abs(r.Liveness.Probs[0]+r.Liveness.Probs[1]+r.Liveness.Probs[2]-1) > 1e-9 {
			t.Errorf("liveness %+v", r.Liveness)
		}
		if !(*r.Age > 1 && *r.Age < 101) || !(r.Gender.Value >= 0 && r.Gender.Value <= 1) {
			t.Errorf("age %g, gender %+v", *r.Age, r.Gender)
		}
		if r.Quality.EyeDistance < 20 || r.Quality.Sharpness <= 0 || r.Quality.Brightness <= 0 {
			t.Errorf("quality %+v", r.Quality)
		}
		yaws[i], rolls[i], netYaws[i] = r.Pose.Yaw, r.Pose.Roll, r.PoseModel.Yaw
		// The network and the landmarks agree on which way a clearly
		// turned face turns (not on how much: the network is not
		// symmetric, 12.7° for this photo and −4.0° for its mirror image).
		if math.Abs(r.Pose.Yaw) > 10 && r.PoseModel.Yaw*r.Pose.Yaw <= 0 {
			t.Errorf("yaw %.1f from the network, %.1f from the landmarks", r.PoseModel.Yaw, r.Pose.Yaw)
		}
		t.Logf("%+v", r)
	}
	if math.Abs(yaws[0]+yaws[1]) > 5 || math.Abs(rolls[0]+rolls[1]) > 3 || netYaws[0] <= netYaws[1] {
		t.Errorf("yaw %v (network %v) and roll %v of a photo and its mirror image are not opposite", yaws, netYaws, rolls)
	}
	// A blurred copy is called blurred; the original is not.
	blurred, err := photo.FromTensor(blur(photo.ImageTensor(img), 2.5))
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range []*image.RGBA{img, blurred} {
		f, err := p.DetectSubject(ctx, im)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := a.Analyze(ctx, im, []face.Face{f})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(strings.Join(rs[0].Quality.Reasons, " "), ReasonBlurred); got != (i == 1) {
			t.Errorf("image %d (blurred: %v): reasons %v, sharpness %.1f", i, i == 1, rs[0].Quality.Reasons, rs[0].Quality.Sharpness)
		}
	}
}

// BenchmarkAnalyze is one face through each part on one goroutine (run
// with -cpu 1 for one thread): the networks and the landmark measures.
func BenchmarkAnalyze(b *testing.B) {
	full, p := analyzer(b)
	img := lfwPhoto(b, "Colin_Powell")
	ctx := context.Background()
	f, err := p.DetectSubject(ctx, img)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"quality+pose", Options{}}, {"liveness", Options{Liveness: true}}, {"age+gender", Options{AgeGender: true}},
		{"expression", Options{Expression: true}}, {"eyes", Options{Eyes: true}}, {"pose", Options{Pose: true}}, {"all", All()},
	} {
		a := &Analyzer{opt: Options{Quality: DefaultQuality}}
		if c.opt.Liveness {
			a.live = full.live
		}
		if c.opt.AgeGender {
			a.age, a.gender = full.age, full.gender
		}
		if c.opt.Expression {
			a.expr = full.expr
		}
		if c.opt.Eyes {
			a.eyesNet = full.eyesNet
		}
		if c.opt.Pose {
			a.poseNet = full.poseNet
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Analyze(ctx, img, []face.Face{f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
