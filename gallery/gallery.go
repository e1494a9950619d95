// Package gallery stores enrolled people and their face descriptors (never
// the photos, unless asked to) and answers 1:N searches over them from an
// in-memory index that is kept in step with every change.
//
// Store is the persistence interface; OpenSQLite gives the embedded
// default and OpenPostgres a store several API nodes can share.
package gallery

import (
	"context"
	"errors"
	"time"
)

// DescriptorSize is the length of a stored descriptor.
const DescriptorSize = 128

// Errors returned by stores; match them with errors.Is.
var (
	ErrNotFound      = errors.New("gallery: not found")
	ErrModelMismatch = errors.New("gallery: descriptor made by another model version")
)

// Person is an enrolled identity.
type Person struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Faces    int               `json:"faces"`
	Created  time.Time         `json:"created"`
}

// Face is one stored descriptor of a person.
type Face struct {
	ID         int64     `json:"id"`
	PersonID   string    `json:"person_id"`
	Descriptor []float32 `json:"descriptor"`
	// Model names the network (and its version) that made Descriptor, e.g.
	// "face_recognition_model@face-api-1.7.15". Descriptors of different
	// models are never compared.
	Model   string    `json:"model"`
	Score   float64   `json:"score"` // detector confidence at enrolment
	Created time.Time `json:"created"`
	// Photo is the enrolment photo, kept only when the store was opened
	// with KeepPhotos.
	Photo []byte `json:"photo,omitempty"`
}

// Store persists people and faces. Implementations are safe for concurrent
// use, and a write that returned nil survives a crash of the process.
type Store interface {
	// Enroll creates a person with their first face in one transaction.
	Enroll(ctx context.Context, name string, meta map[string]string, f Face) (Person, Face, error)
	// AddFace adds a face to an existing person (ErrNotFound otherwise).
	AddFace(ctx context.Context, personID string, f Face) (Face, error)
	// Person returns one person (ErrNotFound when absent).
	Person(ctx context.Context, id string) (Person, error)
	// People lists people ordered by creation, and the total count.
	People(ctx context.Context, limit, offset int) ([]Person, int, error)
	// DeletePerson removes a person and every face and photo of theirs.
	DeletePerson(ctx context.Context, id string) error
	// Faces calls fn for every stored face (photos not loaded), e.g. to
	// build the search index at start.
	Faces(ctx context.Context, fn func(Face) error) error
	// Close releases the store.
	Close() error
}
