package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/recognition"
)

// realPipeline is the default pipeline on the installed models; the test
// skips (fails under FACEREC_REQUIRE_SHARED) when they are not installed.
func realPipeline(t *testing.T) *face.Pipeline {
	t.Helper()
	dir, err := registry.Dir()
	sharedtest.Need(t, "the face models", err)
	sharedtest.Need(t, "the face models in "+dir, registry.Verify(dir))
	pipe, err := face.Load(context.Background(), dir, face.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pipe
}

// realGallery is a new SQLite gallery in dir for pipe's descriptor model,
// closed when the test ends.
func realGallery(t *testing.T, dir string, pipe *face.Pipeline) *gallery.Gallery {
	t.Helper()
	store, err := gallery.OpenSQLite(filepath.Join(dir, "gallery.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := recognition.OpenGallery(context.Background(), store, pipe.Model(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
