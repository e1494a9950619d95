package gallery

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestRenameAndPeopleNamed(t *testing.T) {
	forEachStore(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		g := openGallery(t, open(t, Options{}))
		rng := rand.New(rand.NewPCG(1, 2))
		enrol := func(name string) Person {
			t.Helper()
			p, _, err := g.Enroll(ctx, name, map[string]string{"k": "v"}, modelFace(testModel, randDescriptor(rng)))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		ann, bo, ann2 := enrol("Ann Lee"), enrol("Bo"), enrol("ann  LEE")
		got, err := g.PeopleNamed(ctx, " ANN lee")
		if err != nil || len(got) != 2 || got[0].ID != ann.ID || got[1].ID != ann2.ID {
			t.Fatalf("PeopleNamed(ANN lee) = %+v, %v; want both Anns in creation order", got, err)
		}
		if got, err := g.PeopleNamed(ctx, "Nobody"); err != nil || len(got) != 0 {
			t.Errorf("PeopleNamed(Nobody) = %+v, %v", got, err)
		}
		p, err := g.Rename(ctx, bo.ID, "  Bo Diddley ")
		if err != nil || p.Name != "Bo Diddley" || p.ID != bo.ID || p.Faces != 1 || p.Metadata["k"] != "v" {
			t.Errorf("Rename = %+v, %v", p, err)
		}
		if got, _ := g.PeopleNamed(ctx, "bo diddley"); len(got) != 1 || got[0].ID != bo.ID {
			t.Errorf("after the rename: %+v", got)
		}
		if _, err := g.Rename(ctx, "nobody", "X"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Rename of nobody: %v, want ErrNotFound", err)
		}
		if _, err := g.Rename(ctx, bo.ID, " "); !errors.Is(err, ErrInvalid) {
			t.Errorf("Rename to an empty name: %v, want ErrInvalid", err)
		}
		// The search still finds the renamed person under their ID.
		if m, err := g.Search(randDescriptor(rng), 3); err != nil || len(m) != 3 {
			t.Errorf("Search after the rename: %v, %v", m, err)
		}
	})
}
