package eval

import (
	"context"
	"encoding/csv"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
)

// testSource is a 200×200 photo with a bright square "face" at 60..140.
func testSource() SourceFace {
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			c := color.RGBA{40, 40, 40, 255}
			if x >= 60 && x < 140 && y >= 60 && y < 140 {
				c = color.RGBA{250, 250, 250, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return SourceFace{Image: img, Box: face.Rect{X: 60, Y: 60, W: 80, H: 80}}
}

func TestSynthesizeFrame(t *testing.T) {
	src := []SourceFace{testSource()}
	sizes := []int{300, 120, 40, 40}
	a, err := SynthesizeFrame(1280, 720, src, sizes, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := SynthesizeFrame(1280, 720, src, sizes, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different frames")
	}
	if len(a.Faces) != len(sizes) {
		t.Fatalf("%d faces pasted, want %d", len(a.Faces), len(sizes))
	}
	for i, f := range a.Faces {
		if f.Size != sizes[i] || f.Box.W < float64(f.Size)-1 || f.Box.W > float64(f.Size)+1 {
			t.Errorf("face %d: size %d, box %+v", i, f.Size, f.Box)
		}
		// The middle of the pasted box is the source's bright square.
		c := a.Image.RGBAAt(int(f.Box.X+f.Box.W/2), int(f.Box.Y+f.Box.H/2))
		if c.R < 200 {
			t.Errorf("face %d: centre of its box %+v is %v, not the pasted face", i, f.Box, c)
		}
		for j, g := range a.Faces[:i] {
			if rectIoU(f.Box, g.Box) > 0 {
				t.Errorf("faces %d and %d overlap", j, i)
			}
		}
	}
	if _, err := SynthesizeFrame(0, 10, src, sizes, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("empty frame accepted")
	}
	if _, err := SynthesizeFrame(100, 100, nil, sizes, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("no sources accepted")
	}
	// A face too large for the frame is left out, not an error.
	fr, err := SynthesizeFrame(200, 200, src, []int{400}, rand.New(rand.NewPCG(1, 2)))
	if err != nil || len(fr.Faces) != 0 {
		t.Errorf("oversized face: %v, %d faces", err, len(fr.Faces))
	}
}

func TestScoreFrames(t *testing.T) {
	fr := &SyntheticFrame{
		Image: image.NewRGBA(image.Rect(0, 0, 640, 480)),
		Faces: []PastedFace{
			{Box: face.Rect{X: 10, Y: 10, W: 40, H: 40}, Size: 40},
			{Box: face.Rect{X: 100, Y: 100, W: 40, H: 40}, Size: 40},
			{Box: face.Rect{X: 300, Y: 300, W: 100, H: 100}, Size: 100},
		},
	}
	detect := func(context.Context, image.Image) ([]face.Rect, error) {
		return []face.Rect{
			{X: 12, Y: 12, W: 40, H: 40},     // the first face
			{X: 14, Y: 10, W: 40, H: 40},     // the first face again: one box per face
			{X: 330, Y: 330, W: 100, H: 100}, // IoU 0.33 with the third face
			{X: 500, Y: 10, W: 50, H: 50},    // nothing
		}, nil
	}
	s, err := ScoreFrames(context.Background(), []*SyntheticFrame{fr, fr}, detect, ScoreOptions{MinIoU: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	want := []SizeRate{{Size: 40, Faces: 4, Found: 2, Rate: 0.5}, {Size: 100, Faces: 2, Found: 2, Rate: 1}}
	if !reflect.DeepEqual(s.Sizes, want) || s.FalsePositives != 4 || s.Frames != 2 || s.Width != 640 {
		t.Errorf("got %+v", s)
	}
	s, err = ScoreFrames(context.Background(), []*SyntheticFrame{fr}, detect, ScoreOptions{MinIoU: 0.5})
	if err != nil || s.Sizes[1].Found != 0 {
		t.Errorf("IoU 0.33 counted at min IoU 0.5: %+v %v", s, err)
	}
	if _, err := ScoreFrames(context.Background(), nil, detect, ScoreOptions{MinIoU: 0.3}); err == nil {
		t.Error("no frames accepted")
	}
	if _, err := ScoreFrames(context.Background(), []*SyntheticFrame{fr}, detect, ScoreOptions{}); err == nil {
		t.Error("min IoU 0 accepted")
	}
}

// TestLFWView2SampleUnchanged: the default pipeline, small-face search
// included, gives 30 pairs of LFW View 2 (every 200th row of the committed
// docs/lfw-view2/pairs.csv) the distances recorded there, to their six
// decimals. It fails when a change moves LFW's figures: then either the
// change is wrong or docs/lfw-view2 must be made again (`facerec eval lfw
// ... --out docs/lfw-view2`, README).
func TestLFWView2SampleUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face pipeline over 60 photos")
	}
	lfw := sharedtest.Path(t, "data", "lfw", "deepfunneled")
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models", err)
	f, err := os.Open(filepath.Join("..", "docs", "lfw-view2", "pairs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The table was made with dlib's ResNet (docs/lfw.md).
	p, err := face.Load(context.Background(), dir, face.Options{Descriptor: face.DescriptorDlib}, nil)
	if err != nil {
		t.Fatal(err)
	}
	embed := CentredFace(p)
	for i := 1; i < len(rows); i += 200 {
		r := rows[i] // fold, a, b, same, distance, threshold, correct
		want, err := strconv.ParseFloat(r[4], 64)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		a, okA, errA := embed(context.Background(), filepath.Join(lfw, r[1]))
		b, okB, errB := embed(context.Background(), filepath.Join(lfw, r[2]))
		if errA != nil || errB != nil || !okA || !okB {
			t.Fatalf("%s / %s: %v %v (faces %v %v)", r[1], r[2], errA, errB, okA, okB)
		}
		if d := p.Model().Metric().Distance(a, b); math.Abs(d-want) > 1e-6 {
			t.Errorf("%s / %s: distance %.7f, docs/lfw-view2/pairs.csv has %s", r[1], r[2], d, r[4])
		}
	}
}
