package gallery

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// renamer is a store that can rename a person; the SQL stores are.
type renamer interface {
	rename(ctx context.Context, id, name string) error
}

// ErrCannotRename is returned by Rename on a store that cannot rename.
var ErrCannotRename = errors.New("gallery: this store cannot rename people")

// Rename gives a person a new name (checked with CleanName) and returns
// them as now stored (ErrNotFound when absent).
func (g *Gallery) Rename(ctx context.Context, id, name string) (Person, error) {
	name, err := CleanName(name)
	if err != nil {
		return Person{}, fmt.Errorf("gallery: rename %s: %w", id, err)
	}
	r, ok := g.store.(renamer)
	if !ok {
		return Person{}, ErrCannotRename
	}
	if err := r.rename(ctx, id, name); err != nil {
		return Person{}, err
	}
	return g.store.Person(ctx, id)
}

// SameName reports whether two names name the same person to a person
// reading them: equal once cleaned (CleanName), up to case and runs of
// spaces.
func SameName(a, b string) bool {
	norm := func(s string) string {
		if c, err := CleanName(s); err == nil {
			s = c
		}
		return strings.Join(strings.Fields(s), " ")
	}
	return strings.EqualFold(norm(a), norm(b))
}

// PeopleNamed returns the people whose name is SameName as name, in
// creation order. It reads the whole list: a door's gallery is small, and
// the comparison (Unicode case folding) is not one SQL does alike
// everywhere.
func (g *Gallery) PeopleNamed(ctx context.Context, name string) ([]Person, error) {
	var out []Person
	for offset := 0; ; offset += maxPage {
		page, total, err := g.store.People(ctx, maxPage, offset)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			if SameName(p.Name, name) {
				out = append(out, p)
			}
		}
		if len(page) == 0 || offset+len(page) >= total {
			return out, nil
		}
	}
}

const qRename = `UPDATE people SET name = ? WHERE id = ?`

// rename implements renamer.
func (s *sqlStore) rename(ctx context.Context, id, name string) error {
	res, err := s.w.ExecContext(ctx, s.d.rebind(qRename), name, id)
	if err != nil {
		return fmt.Errorf("gallery: rename %s: %w", id, s.classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("gallery: rename %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("gallery: rename %s: %w", id, ErrNotFound)
	}
	return nil
}
