package gallery

import (
	"context"
	"fmt"
	"slices"
)

// Descriptors returns copies of the descriptors the gallery's model holds
// for a person's faces (explaining a verification needs the face it was
// decided against, not only its distance). It fails with ErrNotFound for
// an unknown person and ErrModelMismatch when none of their faces was
// described by the gallery's model.
func (g *Gallery) Descriptors(ctx context.Context, personID string) ([][]float32, error) {
	ds, ok := g.index.vectors(personID)
	if !ok {
		if _, err := g.store.Person(ctx, personID); err != nil {
			return nil, fmt.Errorf("gallery: descriptors: %w", err)
		}
		return nil, fmt.Errorf("gallery: descriptors of %s: %w: the person has no face described by %q", personID, ErrModelMismatch, g.model)
	}
	return ds, nil
}

// vectors copies out the descriptors of a person's faces.
func (x *searchIndex) vectors(personID string) ([][]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	slot, ok := x.slots[personID]
	if !ok {
		return nil, false
	}
	out := make([][]float32, 0, len(x.people[slot].rows))
	for _, r := range x.people[slot].rows {
		out = append(out, slices.Clone(x.data[int(r)*x.dim:int(r+1)*x.dim]))
	}
	return out, true
}
