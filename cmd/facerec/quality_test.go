package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
)

// enroll --quality refuses a poor photo with its reason, --quality warn
// enrols it with quality_warnings; identify and verify --quality refuse
// answer a poor probe poor_quality. "Poor" is forced with a threshold no
// LFW face meets (an eye distance of 500 px), so the real measures decide.
func TestQualityFlags(t *testing.T) {
	realModels(t)
	aaron := filepath.Join(sharedtest.Path(t, "data", "lfw", "deepfunneled"), "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg")
	aaron2 := strings.Replace(aaron, "_0001", "_0002", 1)
	db := []string{"--db", filepath.Join(t.TempDir(), "g.db")}
	small := "--quality-thresholds=min_eye_distance=500"

	if _, err := runCommand(t, enrollCmd(), "", append(db, small, "--name", "Aaron", aaron)...); err == nil {
		t.Fatal("enroll of a poor photo succeeded with --quality refuse (the default)")
	}
	out, err := runCommand(t, enrollCmd(), "", append(db, small, "--quality", "warn", "--name", "Aaron", aaron)...)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ID       string
		Warnings []qualityWarning `json:"quality_warnings"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Warnings) != 1 || p.Warnings[0].Reasons[0] != "small_face" {
		t.Fatalf("enroll --quality warn printed %q (%v)", out, err)
	}
	// The real thresholds: a good LFW photo is enrolled without a warning.
	if out, err = runCommand(t, enrollCmd(), "", append(db, "--name", "Aaron2", aaron2)...); err != nil || strings.Contains(out, "quality_warnings") {
		t.Fatalf("enroll of a good photo: %q, %v", out, err)
	}

	out, err = runCommand(t, identifyCmd(), "", append(db, small, "--quality", "refuse", aaron2)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"refused":"poor_quality"`) || !strings.Contains(out, `"match":null`) || !strings.Contains(out, `"small_face"`) {
		t.Fatalf("identify --quality refuse of a poor photo: %s", out)
	}
	out, err = runCommand(t, identifyCmd(), "", append(db, aaron2)...)
	if err != nil || !strings.Contains(out, `"quality":{"ok":true`) || strings.Contains(out, "poor_quality") {
		t.Fatalf("identify (warn, the default) of a good photo: %s, %v", out, err)
	}
	out, err = runCommand(t, verifyCmd(), "", small, "--quality", "refuse", aaron, aaron2)
	if err != nil || !strings.Contains(out, `"refused":"poor_quality"`) || !strings.Contains(out, `"same":false`) {
		t.Fatalf("verify --quality refuse: %s, %v", out, err)
	}
	if _, err := runCommand(t, verifyCmd(), "", "--quality", "strict", aaron, aaron2); err == nil || !strings.Contains(err.Error(), "strict") {
		t.Fatalf("verify --quality strict: %v", err)
	}
}
