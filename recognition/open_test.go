package recognition_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/recognition"
)

// TestOpenGalleryAdoptsLegacyNames: faces that an older facerec stored
// under the pretrained model's old tag are taken as that model's; faces of
// another model still make the open fail, naming both models.
func TestOpenGalleryAdoptsLegacyNames(t *testing.T) {
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.FaceRecognition)
	}
	sharedtest.Need(t, "the pretrained descriptor", err)
	ctx := context.Background()
	m, err := face.LoadPretrained(ctx, dir, face.DescriptorDlib, nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy := face.LegacyIDs(m)
	if len(legacy) != 1 || legacy[0] != "face_recognition_model@@vladmandic/face-api@1.7.15" {
		t.Fatalf("legacy IDs %v", legacy)
	}
	store, err := gallery.OpenSQLite(filepath.Join(t.TempDir(), "g.db"), gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v := make([]float32, m.Dim())
	v[3] = 1
	old, _, err := store.Enroll(ctx, "Old", nil, gallery.Face{Descriptors: map[string][]float32{legacy[0]: v}, Score: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	g, err := recognition.OpenGallery(ctx, store, m, &log)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if people, faces := g.Size(); people != 1 || faces != 1 || !strings.Contains(log.String(), "1 faces") {
		t.Fatalf("after adoption: %d people, %d faces; log %q", people, faces, log.String())
	}
	if ms, err := g.Search(v, 1); err != nil || len(ms) != 1 || ms[0].PersonID != old.ID || ms[0].Distance != 0 {
		t.Errorf("search for the adopted face: %+v, %v", ms, err)
	}
	// Opening again adopts nothing more.
	log.Reset()
	if _, err := recognition.OpenGallery(ctx, store, m, &log); err != nil || log.Len() != 0 {
		t.Errorf("second open: %v, log %q", err, log.String())
	}
	// A face of an unrelated model is refused, naming both.
	if _, _, err := store.Enroll(ctx, "Other", nil, gallery.Face{Descriptors: map[string][]float32{"other@1": v}, Score: 0.9}); err != nil {
		t.Fatal(err)
	}
	_, err = recognition.OpenGallery(ctx, store, m, nil)
	if !errors.Is(err, gallery.ErrModelMismatch) || !strings.Contains(err.Error(), `"other@1"`) || !strings.Contains(err.Error(), m.ID()) {
		t.Errorf("open with a face of another model: %v", err)
	}
}
