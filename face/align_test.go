package face

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/tensor"
)

func TestFitSimilarityRecoversATransform(t *testing.T) {
	// 30° rotation, scale 2, shift (5, −3), applied to four points.
	want := similarity{a: 2 * math.Cos(math.Pi/6), b: 2 * math.Sin(math.Pi/6), tx: 5, ty: -3}
	from := [][2]float64{{0, 0}, {10, 0}, {0, 7}, {4, 9}}
	to := make([][2]float64, len(from))
	for i, p := range from {
		x, y := want.apply(p[0], p[1])
		to[i] = [2]float64{x, y}
	}
	got := fitSimilarity(from, to)
	for _, d := range []float64{got.a - want.a, got.b - want.b, got.tx - want.tx, got.ty - want.ty} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("fit %+v, want %+v", got, want)
		}
	}
}

// templateLandmarks puts the 68 points where dlib's mean face has them in
// a size×size chip (the jaw, 0..16, is not in the template and unused).
func templateLandmarks(size int, m similarity) *[68]model.Point {
	var pts [68]model.Point
	for i := 17; i < 68; i++ {
		f := dlibMeanFace[i-17]
		x := (chipPadding + f[0]) / (2*chipPadding + 1) * float64(size)
		y := (chipPadding + f[1]) / (2*chipPadding + 1) * float64(size)
		x, y = m.apply(x, y)
		pts[i] = model.Point{X: x, Y: y}
	}
	return &pts
}

func TestAlignedChip(t *testing.T) {
	// Landmarks exactly on the template of a 150 chip: the chip is the
	// image itself, pixel for pixel.
	img := tensor.New(150, 150, 3) // smooth, so that resampling is accurate
	for y := range 150 {
		for x := range 150 {
			for c := range 3 {
				img.Data[(y*150+x)*3+c] = float32(128 + 100*math.Sin(float64(x)/9+float64(c))*math.Cos(float64(y)/13))
			}
		}
	}
	chip := alignedChip(nil, img, templateLandmarks(150, similarity{a: 1}))
	if d := tensor.MaxAbsDiff(chip.Data, img.Data); d > 1e-3 {
		t.Fatalf("identity alignment changed pixels by up to %v", d)
	}
	// A face twice as big, rotated and shifted in a bigger photo comes out
	// as the same chip: draw the pattern through the same transform.
	m := similarity{a: 2 * math.Cos(0.3), b: 2 * math.Sin(0.3), tx: 150, ty: 20}
	big := tensor.New(500, 500, 3)
	inv := invert(m)
	for y := range 500 {
		for x := range 500 {
			u, v := inv.apply(float64(x), float64(y))
			var acc [3]float64
			bilinearAdd(&acc, img.Data, 150, 150, u, v)
			for c := range 3 {
				big.Data[(y*500+x)*3+c] = float32(acc[c])
			}
		}
	}
	chip = alignedChip(nil, big, templateLandmarks(150, m))
	// Compare away from the border, where resampling twice blurs a little.
	worst := 0.0
	for y := 10; y < 140; y++ {
		for x := 10; x < 140; x++ {
			for c := range 3 {
				i := (y*150+x)*3 + c
				worst = math.Max(worst, math.Abs(float64(chip.Data[i]-img.Data[i])))
			}
		}
	}
	if worst > 3 {
		t.Errorf("rotated, scaled face aligned back with pixel errors up to %v", worst)
	}
}

func invert(m similarity) similarity {
	d := m.a*m.a + m.b*m.b
	r := similarity{a: m.a / d, b: -m.b / d}
	x, y := r.apply(m.tx, m.ty)
	r.tx, r.ty = -x, -y
	return r
}

func TestWarpAveragesWhenShrinking(t *testing.T) {
	// A one-pixel checkerboard shrunk 4× must come out grey, not aliased.
	img := tensor.New(64, 64, 3)
	for y := range 64 {
		for x := range 64 {
			for c := range 3 {
				img.Data[(y*64+x)*3+c] = float32(255 * ((x + y) % 2))
			}
		}
	}
	// Chip pixel (x, y) covers image pixels 4x..4x+3 (and the same in y).
	out := warp(nil, img, similarity{a: 4, tx: 1.5, ty: 1.5}, 16)
	for i, v := range out.Data {
		if math.Abs(float64(v)-127.5) > 1 {
			t.Fatalf("pixel %d = %v, want about 127.5", i/3, v)
		}
	}
}

func TestJitterChip(t *testing.T) {
	chip := pattern(150, 150, 5)
	a := jitterChip(nil, chip, rand.New(rand.NewPCG(1, 2)))
	b := jitterChip(nil, chip, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(a.Shape, chip.Shape) || !slices.Equal(a.Data, b.Data) {
		t.Fatal("jitter: wrong shape or not reproducible for a seed")
	}
	// On a constant image every jitter keeps the middle and changes
	// nothing but (at most) black corners; on a pattern it moves pixels.
	flat := tensor.New(150, 150, 3)
	for i := range flat.Data {
		flat.Data[i] = 200
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range 20 {
		j := jitterChip(nil, flat, rng)
		for y := 20; y < 130; y++ {
			for x := 20; x < 130; x++ {
				if v := j.Data[(y*150+x)*3]; math.Abs(float64(v)-200) > 1e-3 {
					t.Fatalf("jitter %d: inner pixel (%d,%d) = %v, want 200", k, x, y, v)
				}
			}
		}
		if d := tensor.MaxAbsDiff(jitterChip(nil, chip, rng).Data, chip.Data); d == 0 {
			t.Errorf("jitter %d left the chip unchanged", k)
		}
	}
}

func TestFlipTwiceIsIdentity(t *testing.T) {
	img := pattern(7, 5, 1)
	if d := tensor.MaxAbsDiff(flip(nil, flip(nil, img)).Data, img.Data); d != 0 {
		t.Fatal("flipping twice changed the image")
	}
	if d := tensor.MaxAbsDiff(flip(nil, img).Data, img.Data); d == 0 {
		t.Fatal("flip changed nothing")
	}
}

func TestJitterOption(t *testing.T) {
	for _, bad := range []Options{{Jitter: -1}, {Jitter: 5000}, {Jitter: 2, Align: AlignFaceAPI}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	// With the models: jittered copies move the descriptor a little (they
	// are the same face), and the same photo gives the same descriptor.
	img := readPNG(t, sharedtest.Path(t, "oracle", "testdata", "crops", "sample1_face0_250.png"))
	plain := testPipeline(t, Options{Descriptor: DescriptorDlib})
	jit := testPipeline(t, Options{Descriptor: DescriptorDlib, Jitter: 4})
	f0, err := plain.Faces(ctx, img)
	if err != nil || len(f0) != 1 {
		t.Fatalf("%d faces, %v", len(f0), err)
	}
	f1, _ := jit.Faces(ctx, img)
	f2, _ := jit.Faces(ctx, img)
	d := Euclidean.Distance(f0[0].Descriptor.Vector, f1[0].Descriptor.Vector)
	if d == 0 || d > 0.15 {
		t.Errorf("jittered descriptor at distance %v from the plain one, want small but non-zero", d)
	}
	if !slices.Equal(f1[0].Descriptor.Vector, f2[0].Descriptor.Vector) {
		t.Error("jittered descriptors differ between two runs")
	}
	// WithJitter shares the networks and gives what a pipeline loaded with
	// the jitter gives, leaving the original plain; both may run at once
	// (a server enrols and identifies concurrently).
	shared, err := plain.WithJitter(4)
	if err != nil {
		t.Fatal(err)
	}
	var f3, f4 []Face
	var wg sync.WaitGroup
	wg.Go(func() { f3, _ = shared.Faces(ctx, img) })
	wg.Go(func() { f4, _ = plain.Faces(ctx, img) })
	wg.Wait()
	if len(f3) != 1 || !slices.Equal(f3[0].Descriptor.Vector, f1[0].Descriptor.Vector) {
		t.Error("WithJitter(4) differs from a pipeline loaded with Jitter 4")
	}
	if len(f4) != 1 || !slices.Equal(f4[0].Descriptor.Vector, f0[0].Descriptor.Vector) {
		t.Error("WithJitter changed the original pipeline")
	}
	if _, err := plain.WithJitter(-1); err == nil {
		t.Error("WithJitter(-1) accepted")
	}
}

func TestShapeError(t *testing.T) {
	// The mean face, turned, scaled and moved: no error.
	pts := templateLandmarks(150, similarity{a: 1.2 * math.Cos(0.5), b: 1.2 * math.Sin(0.5), tx: 40, ty: -7})
	if e := ShapeError(pts); e > 1e-9 {
		t.Errorf("mean face: shape error %v, want 0", e)
	}
	// Each point off by 3 px in x on a face 150/1.5 = 100 px wide: the fit
	// can absorb a common shift, so alternate the sign. The error is the
	// rms offset in face widths.
	moved := *pts
	for i := 17; i < 68; i++ {
		moved[i].X += float64(3 - 6*(i%2))
	}
	// The fit scales the points onto the unit face by about 1/(1.2×100).
	if e, want := ShapeError(&moved), 3/120.0; math.Abs(e-want) > 0.2*want {
		t.Errorf("3 px noise: shape error %.4f, want about %.4f", e, want)
	}
	// The eyes' 12 points in the mouth and the mouth's in the eyes: not a face.
	swapped := *pts
	for i := 0; i < 12; i++ {
		swapped[36+i], swapped[48+i] = pts[48+i], pts[36+i]
	}
	if e := ShapeError(&swapped); e <= DefaultMaxShapeError {
		t.Errorf("eyes and mouth swapped: shape error %.3f, want above %v", e, DefaultMaxShapeError)
	}
	var one [68]model.Point
	if e := ShapeError(&one); !math.IsInf(e, 1) {
		t.Errorf("every point in one place: shape error %v, want +Inf", e)
	}
}

// TestArcFaceChip: the five points the ArcFace chip uses come from the right
// landmarks, and the chip puts them on the template: a bright dot at the
// left eye's centre in the photo lands at the template's left eye.
func TestArcFaceChip(t *testing.T) {
	// The template moved into a 400×300 photo by a known similarity.
	s := similarity{a: 2.1 * math.Cos(0.3), b: 2.1 * math.Sin(0.3), tx: 120, ty: 40}
	var pts [68]model.Point
	at := func(i int, p [2]float64) {
		x, y := s.apply(p[0], p[1])
		pts[i] = model.Point{X: x, Y: y}
	}
	for i := 36; i < 42; i++ {
		at(i, [2]float64{arcFaceTemplate[0][0] + float64(i-38), arcFaceTemplate[0][1]}) // mean: the template's
	}
	for i := 42; i < 48; i++ {
		at(i, [2]float64{arcFaceTemplate[1][0] + float64(i-44), arcFaceTemplate[1][1]})
	}
	at(30, arcFaceTemplate[2])
	at(48, arcFaceTemplate[3])
	at(54, arcFaceTemplate[4])
	five := fivePoints(&pts)
	for i, p := range arcFaceTemplate {
		x, y := s.apply(p[0], p[1])
		if i < 2 {
			x, y = s.apply(p[0]+0.5, p[1]) // the six points' offsets (−2..3) average to +0.5
		}
		if math.Hypot(five[i][0]-x, five[i][1]-y) > 1e-9 {
			t.Fatalf("point %d = %v, want (%v, %v)", i, five[i], x, y)
		}
	}
	img := tensor.New(300, 400, 3)
	ex, ey := s.apply(arcFaceTemplate[0][0]+0.5, arcFaceTemplate[0][1])
	for dy := -2; dy <= 2; dy++ {
		for dx := -2; dx <= 2; dx++ {
			o := ((int(ey)+dy)*400 + int(ex) + dx) * 3
			img.Data[o], img.Data[o+1], img.Data[o+2] = 255, 255, 255
		}
	}
	chip := arcFaceChip(nil, img, &pts)
	if chip.Shape[0] != 112 || chip.Shape[1] != 112 {
		t.Fatalf("chip shape %v", chip.Shape)
	}
	bx, by, best := 0, 0, float32(-1)
	for y := 0; y < 112; y++ {
		for x := 0; x < 112; x++ {
			if v := chip.Data[(y*112+x)*3]; v > best {
				bx, by, best = x, y, v
			}
		}
	}
	if math.Hypot(float64(bx)-(arcFaceTemplate[0][0]+0.5), float64(by)-arcFaceTemplate[0][1]) > 2 {
		t.Errorf("the left eye's dot is at (%d, %d) in the chip, want near (%.1f, %.1f)", bx, by, arcFaceTemplate[0][0]+0.5, arcFaceTemplate[0][1])
	}
}
