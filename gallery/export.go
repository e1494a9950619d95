package gallery

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// exportPerson is one line of an export: a person with their faces.
// Face.Photo is base64 (encoding/json's []byte) and present only when the
// store kept it; descriptors are JSON numbers, which round-trip float32
// exactly. Face IDs are informative: Import gives new ones.
type exportPerson struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Created  time.Time         `json:"created"`
	Faces    []exportFace      `json:"faces"`
}

// exportFace is a Face as exported. Exports written before faces held a
// descriptor per model have one "descriptor" with its "model" instead of
// "descriptors"; Import still reads them.
type exportFace struct {
	Face
	Descriptor []float32 `json:"descriptor,omitempty"`
	Model      string    `json:"model,omitempty"`
}

// face returns the stored form of an exported face.
func (e exportFace) face() (Face, error) {
	f := e.Face
	if e.Descriptor != nil || e.Model != "" {
		if f.Descriptors != nil {
			return f, fmt.Errorf("%w: a face has both descriptors and an old-style descriptor", ErrInvalid)
		}
		f.Descriptors = map[string][]float32{e.Model: e.Descriptor}
	}
	return f, nil
}

// Export writes every person of the store, with all their faces (of any
// model) and kept photos, as JSON lines: one JSON object per person, in
// enrolment order. It is the backup format, and how a gallery moves
// between SQLite and PostgreSQL (see Import). People deleted while Export
// runs are left out.
func (g *Gallery) Export(ctx context.Context, w io.Writer) error {
	// List people through Faces rather than by pages of People, which
	// would skip someone when an earlier person is deleted meanwhile.
	// Every person has a face, and their first face ID gives enrolment
	// order.
	first := map[string]int64{}
	err := g.store.Faces(ctx, func(f Face) error {
		if id, ok := first[f.PersonID]; !ok || f.ID < id {
			first[f.PersonID] = f.ID
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gallery: export: %w", err)
	}
	ids := make([]string, 0, len(first))
	for id := range first {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(first[a], first[b]) })

	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode ends each object with a newline
	for _, id := range ids {
		p, err := g.store.Person(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("gallery: export: %w", err)
		}
		faces, err := g.store.PersonFaces(ctx, id, true)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("gallery: export: %w", err)
		}
		rec := exportPerson{ID: p.ID, Name: p.Name, Metadata: p.Metadata, Created: p.Created}
		for _, f := range faces {
			rec.Faces = append(rec.Faces, exportFace{Face: f})
		}
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("gallery: export person %s: %w", id, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gallery: export: %w", err)
	}
	return nil
}

// Import reads an Export and restores every person in it, with their IDs,
// names, metadata, times, descriptors and (when the store keeps them)
// photos, and indexes their faces; faces get new IDs. It returns how many
// people it imported.
//
// Each person is restored in its own transaction. Import stops at the first
// error: a line that does not parse (ErrInvalid), a face without a
// descriptor of the gallery's model (ErrModelMismatch), or a person ID already stored
// (ErrExists); the people before it stay imported.
func (g *Gallery) Import(ctx context.Context, r io.Reader) (int, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	n := 0
	for line := 1; ; line++ {
		var rec exportPerson
		err := dec.Decode(&rec)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("gallery: import record %d: %w: %v", line, ErrInvalid, err)
		}
		if err := g.importPerson(ctx, rec); err != nil {
			return n, fmt.Errorf("gallery: import record %d (person %s): %w", line, rec.ID, err)
		}
		n++
	}
}

// importPerson restores one exported person and indexes their faces.
func (g *Gallery) importPerson(ctx context.Context, rec exportPerson) error {
	if rec.ID == "" {
		return fmt.Errorf("%w: no person id", ErrInvalid)
	}
	faces := make([]Face, len(rec.Faces))
	for i, e := range rec.Faces {
		f, err := e.face()
		if err != nil {
			return err
		}
		if err := g.checkModel(f); err != nil {
			return err
		}
		faces[i] = f
	}
	mu := g.lock(rec.ID)
	mu.Lock()
	defer mu.Unlock()
	p := Person{ID: rec.ID, Name: rec.Name, Metadata: rec.Metadata, Created: rec.Created}
	_, faces, err := g.store.Restore(ctx, p, faces)
	if err != nil {
		return err
	}
	for _, f := range faces {
		if err := g.indexDescriptor(f, f.Descriptors[g.model]); err != nil {
			return fmt.Errorf("stored, but not indexed: %w", err)
		}
	}
	return nil
}
