// Package sharedtest finds the read-only material that tests use but the
// repository does not hold: the data sets and the face-api oracle in
// ../shared (beside the module root), and the pretrained models.
//
// On a machine without them, tests skip with a message saying what is
// missing. CI sets FACEREC_REQUIRE_SHARED=1 so that a wrong path fails
// loudly instead of turning those tests into silent skips.
package sharedtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// RequireEnv is the environment variable that turns skips into failures.
const RequireEnv = "FACEREC_REQUIRE_SHARED"

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// moduleRoot walks up from the working directory (a test's package folder)
// to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Root returns the shared folder (../shared from the module root), or skips
// the test (fails it under FACEREC_REQUIRE_SHARED=1) when it is absent.
func Root(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		var mod string
		if mod, rootErr = moduleRoot(); rootErr != nil {
			return
		}
		root = filepath.Join(filepath.Dir(mod), "shared")
		if _, err := os.Stat(filepath.Join(root, "oracle", "ARCH.md")); err != nil {
			rootErr = fmt.Errorf("shared folder not found at %s", root)
		}
	})
	Need(t, "../shared", rootErr)
	return root
}

// Path returns a path below the shared folder, which must exist.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Root(t)}, elem...)...)
	_, err := os.Stat(p)
	Need(t, p, err)
	return p
}

// Need skips the test when err is not nil (fails it when RequireEnv is set),
// naming what is missing.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but unavailable: %v", what, RequireEnv, err)
	}
	t.Skipf("skipping: %s unavailable: %v", what, err)
}
