package train

import (
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
