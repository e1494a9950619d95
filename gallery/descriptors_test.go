package gallery

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDescriptors(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) { testDescriptors(t, open) })
}

func testDescriptors(t *testing.T, open openFunc) {
	ctx := context.Background()
	g := openGallery(t, open(t, Options{}))
	rng := rand.New(rand.NewPCG(5, 6))
	d1, d2 := randDescriptor(rng), randDescriptor(rng)
	p, _, err := g.Enroll(ctx, "Ada", nil, modelFace(testModel, d1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddFace(ctx, p.ID, modelFace(testModel, d2)); err != nil {
		t.Fatal(err)
	}
	ds, err := g.Descriptors(ctx, p.ID)
	if err != nil || len(ds) != 2 || !slices.Equal(ds[0], d1) || !slices.Equal(ds[1], d2) {
		t.Fatalf("Descriptors = %v, %v; want the two enrolled", len(ds), err)
	}
	ds[0][0] = 42 // a copy: the index is untouched
	if again, _ := g.Descriptors(ctx, p.ID); again[0][0] == 42 {
		t.Error("Descriptors returned the index's own memory")
	}
	if _, err := g.Descriptors(ctx, "0000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Descriptors of an unknown person: %v", err)
	}
}
