package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/facerec/facerec/tensor"
)

// randImage returns an [h, w, c] image of random values in 0..255.
func randImage(rng *rand.Rand, h, w, c int) *tensor.Tensor {
	t := tensor.New(h, w, c)
	for i := range t.Data {
		t.Data[i] = float32(rng.IntN(256))
	}
	return t
}

func TestWarpIdentityExact(t *testing.T) {
	img := randImage(rand.New(rand.NewPCG(1, 1)), 7, 9, 3)
	dst := make([]float32, len(img.Data))
	warp(dst, img.Data, 7, 9, 3, affine{1, 0, 0, 0, 1, 0})
	if !slices.Equal(dst, img.Data) {
		t.Error("warp through the identity changed the image")
	}
	// A whole-pixel shift moves pixels exactly and replicates the edge.
	warp(dst, img.Data, 7, 9, 3, affine{1, 0, 1, 0, 1, 0})
	for y := 0; y < 7; y++ {
		for x := 0; x < 9; x++ {
			sx := min(x+1, 8)
			for k := 0; k < 3; k++ {
				if got, want := dst[(y*9+x)*3+k], img.Data[(y*9+sx)*3+k]; got != want {
					t.Fatalf("shifted pixel (%d,%d,%d) = %v, want %v", x, y, k, got, want)
				}
			}
		}
	}
	// Half-way between two pixels is their mean.
	warp(dst, img.Data, 7, 9, 3, affine{1, 0, 0.5, 0, 1, 0})
	if got, want := dst[0], (img.Data[0]+img.Data[3])/2; got != want {
		t.Errorf("half-pixel sample %v, want %v", got, want)
	}
}

func TestMirror(t *testing.T) {
	img := randImage(rand.New(rand.NewPCG(2, 2)), 4, 5, 3)
	p := slices.Clone(img.Data)
	mirrorInPlace(p, 4, 5, 3)
	if p[0] != img.Data[4*3] || p[4*3+2] != img.Data[2] {
		t.Error("mirror did not swap the first and last column")
	}
	if slices.Equal(p, img.Data) {
		t.Error("mirror left the image unchanged")
	}
	mirrorInPlace(p, 4, 5, 3)
	if !slices.Equal(p, img.Data) {
		t.Error("mirroring twice is not the identity")
	}
}

func TestAugmentApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	img := randImage(rng, 16, 12, 3)
	keep := slices.Clone(img.Data)

	// The zero Augment is the identity.
	out, err := Augment{}.Apply(img, rng)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Data, img.Data) {
		t.Error("the zero Augment changed the image")
	}

	// Mirror alone gives the image or its mirror, both over enough draws.
	mirrored := slices.Clone(img.Data)
	mirrorInPlace(mirrored, 16, 12, 3)
	var plain, flipped int
	for i := 0; i < 40; i++ {
		out, err := Augment{Mirror: true}.Apply(img, rng)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case slices.Equal(out.Data, img.Data):
			plain++
		case slices.Equal(out.Data, mirrored):
			flipped++
		default:
			t.Fatal("Mirror produced neither the image nor its mirror")
		}
	}
	if plain == 0 || flipped == 0 {
		t.Errorf("40 draws: %d plain, %d mirrored", plain, flipped)
	}

	// Strong settings on an image at the extremes stay in range, change
	// the image, and repeat for the same seed.
	for i := range img.Data {
		img.Data[i] = float32(255 * (i % 2))
	}
	keep = slices.Clone(img.Data)
	strong := Augment{Mirror: true, Scale: 0.3, Shift: 0.2, Brightness: 0.5, Contrast: 0.9}
	for seed := uint64(0); seed < 20; seed++ {
		a, err := strong.Apply(img, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := strong.Apply(img, rand.New(rand.NewPCG(seed, 0)))
		if !slices.Equal(a.Data, b.Data) {
			t.Fatalf("seed %d: two different results", seed)
		}
		if slices.Equal(a.Data, img.Data) {
			t.Errorf("seed %d: strong augmentation left the image unchanged", seed)
		}
		for _, v := range a.Data {
			if !(v >= 0 && v <= 255) {
				t.Fatalf("seed %d: value %v outside 0..255", seed, v)
			}
		}
	}
	if !slices.Equal(img.Data, keep) {
		t.Error("Apply modified its input")
	}

	for _, bad := range []Augment{{Scale: -0.1}, {Shift: 0.9}, {Brightness: 2}, {Contrast: -1}} {
		if _, err := bad.Apply(img, rng); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := strong.Apply(tensor.New(4, 4), rng); err == nil {
		t.Error("a 2-D image was accepted")
	}
	if _, err := strong.Apply(img, nil); err == nil {
		t.Error("a nil rng was accepted")
	}
}

func TestAugmentRotateAndErase(t *testing.T) {
	// A 9×9 image with one bright pixel 3 px right of the centre: rotations
	// of up to 45° move it along a circle about the centre.
	img := tensor.New(9, 9, 1)
	img.Data[4*9+7] = 255
	rot := Augment{Rotate: 45}
	moved := false
	for seed := uint64(0); seed < 10; seed++ {
		out, err := rot.Apply(img, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		// The centre of mass stays at distance 3 from the centre.
		var sx, sy, sum float64
		for y := 0; y < 9; y++ {
			for x := 0; x < 9; x++ {
				v := float64(out.Data[y*9+x])
				sx, sy, sum = sx+v*float64(x), sy+v*float64(y), sum+v
			}
		}
		cx, cy := sx/sum-4, sy/sum-4
		if r := math.Hypot(cx, cy); math.Abs(r-3) > 0.35 {
			t.Errorf("seed %d: bright spot at radius %.2f, want 3", seed, r)
		}
		if math.Abs(cy) > 0.3 {
			moved = true
		}
	}
	if !moved {
		t.Error("rotation never moved the spot off its row")
	}

	// Erase with probability 1 blanks a rectangle with the image mean:
	// some pixels of a ramp image become the mean, the rest stay.
	ramp := tensor.New(8, 8, 1)
	for i := range ramp.Data {
		ramp.Data[i] = float32(4 * i)
	}
	var mean float64
	for _, v := range ramp.Data {
		mean += float64(v)
	}
	mean /= 64
	out, err := Augment{Erase: 1}.Apply(ramp, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	blank, kept := 0, 0
	for i, v := range out.Data {
		switch {
		case math.Abs(float64(v)-mean) < 1e-3:
			blank++
		case v == ramp.Data[i]:
			kept++
		}
	}
	if blank == 0 || blank > 16 || blank+kept != 64 {
		t.Errorf("erase: %d blanked (want 1..16: at most a quarter), %d kept, of 64", blank, kept)
	}
	if _, err := (Augment{Rotate: 90}).Apply(ramp, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("rotate 90 accepted")
	}
}

func TestParseAugment(t *testing.T) {
	a, err := ParseAugment("mirror, scale=0.1,rotate=10,erase=0.5")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Augment{Mirror: true, Scale: 0.1, Rotate: 10, Erase: 0.5}); *a != want {
		t.Errorf("got %+v, want %+v", *a, want)
	}
	if a, err := ParseAugment("none"); a != nil || err != nil {
		t.Errorf("none: %v, %v", a, err)
	}
	if a, err := ParseAugment(DefaultAugment); err != nil || !a.Mirror || a.Scale != 0.05 {
		t.Errorf("default: %+v, %v", a, err)
	}
	for _, bad := range []string{"mirror=1", "scale", "blur=2", "scale=x", "scale=0.9", "erase=2"} {
		if _, err := ParseAugment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
