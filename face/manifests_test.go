package face

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
)

func TestOptionsManifests(t *testing.T) {
	names := func(o Options) []string {
		o, err := o.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, m := range o.manifests() {
			ns = append(ns, m.Name)
		}
		return ns
	}
	if got, want := names(Options{}), []string{"tiny_face_detector", "face_landmark_68", "fr_feature"}; !slices.Equal(got, want) {
		t.Errorf("default options use %v, want %v", got, want)
	}
	if got, want := names(Options{Detector: DetectorSSD, TinyLandmarks: true, Descriptor: DescriptorDlib}), []string{"ssd_mobilenetv1", "face_landmark_68_tiny", "face_recognition"}; !slices.Equal(got, want) {
		t.Errorf("SSD with tiny landmarks uses %v, want %v", got, want)
	}
}

// TestLoadNeedsOnlyItsModels loads the default pipeline from a folder
// without the SSD detector and without npm: Load must not try to fetch a
// model it does not run.
func TestLoadNeedsOnlyItsModels(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the real networks")
	}
	src, err := registry.Dir()
	if err == nil {
		err = registry.Verify(src)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	dir := t.TempDir()
	for _, m := range registry.All() {
		if m.Name == registry.SSDMobilenetV1.Name {
			continue
		}
		for _, f := range m.Files {
			b, err := os.ReadFile(m.Path(src, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", t.TempDir()) // no npm
	if _, err := Load(context.Background(), dir, Options{}, nil); err != nil {
		t.Fatalf("Load without the SSD files: %v", err)
	}
	if _, err := Load(context.Background(), dir, Options{Detector: DetectorSSD}, nil); err == nil {
		t.Fatal("Load of the SSD pipeline without its files and npm succeeded")
	}
}
