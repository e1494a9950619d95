package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/tensor"
)

// writeToyFaces makes ids identities of n 20×20 images each: a per-identity
// colour pattern with per-image noise, easy to tell apart.
func writeToyFaces(t *testing.T, ids, n int) string {
	t.Helper()
	root := t.TempDir()
	for id := 0; id < ids; id++ {
		dir := filepath.Join(root, fmt.Sprintf("p%d", id))
		os.MkdirAll(dir, 0o755)
		for k := 0; k < n; k++ {
			img := image.NewRGBA(image.Rect(0, 0, 20, 20))
			for y := 0; y < 20; y++ {
				for x := 0; x < 20; x++ {
					v := uint8((x*(id+1)*13 + y*(3-id%3)*17 + k*5) % 256)
					img.Set(x, y, color.RGBA{v, uint8(id * 60), 255 - v, 255})
				}
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.png", k)))
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, img)
			f.Close()
		}
	}
	return root
}

// TestRunWritesCheckpointsAndLearns trains a tiny net for a few epochs on
// toy identities and checks the outputs a run promises, and that the loss
// went down.
func TestRunWritesCheckpointsAndLearns(t *testing.T) {
	root := writeToyFaces(t, 4, 4)
	ds, err := OpenDataset(DatasetConfig{Root: root, Size: 16, Aligned: true})
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewEmbedNet(model.EmbedNetConfig{Kind: "embednet", Input: 16, Channels: 3, Widths: []int{8, 16}, Blocks: 1, Dim: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	steps := 0
	logs, err := Run(context.Background(), net, ds, Config{P: 4, K: 2, Epochs: 12, Out: out, Mining: BatchAll, LR: 3e-3,
		Progress: func(done, planned int) { steps = done }})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 12 || steps != logs[len(logs)-1].Step {
		t.Fatalf("%d epochs logged, %d steps reported", len(logs), steps)
	}
	if l := logs[len(logs)-1]; l.PosDist <= 0 || l.NegDist <= 0 {
		t.Errorf("no triplet distances logged: %+v", l)
	}
	if logs[len(logs)-1].Loss >= logs[0].Loss {
		t.Errorf("loss did not go down: %v → %v", logs[0].Loss, logs[len(logs)-1].Loss)
	}
	for _, f := range []string{"metrics.jsonl", "best.safetensors", "last.safetensors", "loss.png", "active.png", "dist.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := model.LoadEmbedNet(filepath.Join(out, "best.safetensors"), nil); err != nil {
		t.Fatal(err)
	}

	// Resuming continues the step count and appends to the metrics.
	more, err := Run(context.Background(), net, ds, Config{P: 4, K: 2, Epochs: 2, Out: out, Mining: BatchAll, LR: 3e-3,
		Resume: filepath.Join(out, "last.safetensors")})
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 2 || more[0].Step <= logs[len(logs)-1].Step {
		t.Fatalf("resumed run: %d epochs, first step %d after %d", len(more), more[0].Step, logs[len(logs)-1].Step)
	}
	raw, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n != 14 {
		t.Fatalf("metrics.jsonl has %d lines after resuming, want 12 + 2", n)
	}

	// A cancelled context stops before the first step, cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	logs, err = Run(ctx, net, ds, Config{P: 4, K: 2, Epochs: 3, Out: t.TempDir()})
	if err != nil || len(logs) != 0 {
		t.Fatalf("cancelled run: %d epochs, %v", len(logs), err)
	}
}

// TestTimeBudgetAnnealsTheRate: with only a time budget the cosine
// schedule is re-aimed at the budget's end, so the rate has come down by
// the time the run stops (instead of staying near its peak, as with a
// fixed guess at the run's length).
func TestTimeBudgetAnnealsTheRate(t *testing.T) {
	root := writeToyFaces(t, 4, 4)
	ds, err := OpenDataset(DatasetConfig{Root: root, Size: 16, Aligned: true})
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewEmbedNet(model.EmbedNetConfig{Kind: "embednet", Input: 16, Channels: 3, Widths: []int{4}, Blocks: 0, Dim: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 1e-3
	logs, err := Run(context.Background(), net, ds, Config{P: 4, K: 2, TimeBudget: 1500 * time.Millisecond, Out: t.TempDir(), LR: lr})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 10 {
		t.Skipf("only %d epochs in the budget: machine too busy to tell", len(logs))
	}
	if last := logs[len(logs)-1]; last.LR > lr/3 {
		t.Errorf("rate %g at the end of the budget (epoch %d), want ≤ %g", last.LR, last.Epoch, lr/3)
	}
}

// TestPruneDropsImagesThatFailToAlign checks that Prune removes the images
// the aligner rejects and the identities left too small.
func TestPruneDropsImagesThatFailToAlign(t *testing.T) {
	root := writeToyFaces(t, 3, 3)
	align := func(path string) (*tensor.Tensor, error) {
		if strings.HasSuffix(path, "p1/0.png") || strings.HasSuffix(path, "p2/0.png") || strings.HasSuffix(path, "p2/1.png") {
			return nil, errors.New("no face found")
		}
		return tensor.New(20, 20, 3), nil
	}
	ds, err := OpenDataset(DatasetConfig{Root: root, Size: 8, Align: align, MinImages: 2})
	if err != nil {
		t.Fatal(err)
	}
	dropped := ds.Prune()
	if len(dropped) != 3 {
		t.Fatalf("dropped %v, want 3 images", dropped)
	}
	// p2 keeps one image, under MinImages: gone. p0 keeps 3, p1 keeps 2.
	if ds.Len() != 2 || fmt.Sprint(ds.Counts()) != "[3 2]" {
		t.Fatalf("after pruning: %d identities, counts %v", ds.Len(), ds.Counts())
	}
	if _, err := ds.Raw(1, 1); err != nil {
		t.Fatal(err)
	}
}

// TestFeatureBatchKeepsMaps: precomputed activation maps (a fine-tuned
// tail's input) are stacked as maps, not flattened.
func TestFeatureBatchKeepsMaps(t *testing.T) {
	feats := [][]*tensor.Tensor{{tensor.New(1, 3, 3, 2), tensor.New(1, 3, 3, 2)}}
	feats[0][1].Data[17] = 5
	x, labels := featureBatch(feats, []Sample{{Identity: 0, Image: 1}, {Identity: 0, Image: 0}})
	if want := []int{2, 3, 3, 2}; !slices.Equal(x.Shape, want) || x.Data[17] != 5 || len(labels) != 2 {
		t.Fatalf("batch of shape %v (want %v), value %v, labels %v", x.Shape, want, x.Data[17], labels)
	}
}
