package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
)

// TestEvalDoorTrainedNet scores a network of facerec train at the door
// beside a pretrained descriptor: --descriptors takes its checkpoint path
// and scores the net on the same attempts.
func TestEvalDoorTrainedNet(t *testing.T) {
	realModels(t)
	att := sharedtest.Path(t, "data", "att")
	root := t.TempDir()
	for _, s := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		if err := os.Symlink(filepath.Join(att, s), filepath.Join(root, s)); err != nil {
			t.Fatal(err)
		}
	}
	run := t.TempDir()
	if _, err := runCommand(t, trainCmd(), "", "--data", root, "--size", "32", "--widths", "4,8", "--dim", "16",
		"--p", "4", "--k", "2", "--epochs", "1", "--out", run); err != nil {
		t.Fatal(err)
	}
	net := filepath.Join(run, "last.safetensors")
	out, err := runCommand(t, evalDoorCmd(), "", "--root", root, "--descriptors", "mobilefacenet,"+net)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Results []struct {
			Config  string `json:"config"`
			Genuine int    `json:"genuine_attempts"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("door output is not JSON: %v\n%s", err, out)
	}
	var trained, pretrained bool
	for _, m := range rep.Results {
		trained = trained || strings.HasPrefix(m.Config, net) && m.Genuine > 0
		pretrained = pretrained || m.Config == "mobilefacenet" && m.Genuine > 0
	}
	if !trained || !pretrained {
		t.Errorf("the trained net scored: %v, the pretrained one: %v; want both in %s", trained, pretrained, out)
	}
}
