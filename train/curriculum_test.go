package train

import (
	"context"
	"testing"

	"github.com/facerec/facerec/model"
)

func TestParseCurriculum(t *testing.T) {
	st, err := ParseCurriculum("batch-all, semi-hard@0.3,batch-hard@0.6")
	if err != nil {
		t.Fatal(err)
	}
	want := []Stage{{BatchAll, 0}, {SemiHard, 0.3}, {BatchHard, 0.6}}
	if len(st) != len(want) {
		t.Fatalf("got %v, want %v", st, want)
	}
	for i := range want {
		if st[i] != want[i] {
			t.Fatalf("got %v, want %v", st, want)
		}
	}
	if s := CurriculumString(st); s != "batch-all,semi-hard@0.3,batch-hard@0.6" {
		t.Errorf("written back as %q", s)
	}
	for p, m := range map[float64]Mining{0: BatchAll, 0.29: BatchAll, 0.3: SemiHard, 0.59: SemiHard, 0.6: BatchHard, 1: BatchHard} {
		if got := miningAt(st, p); got != m {
			t.Errorf("at %v: %v, want %v", p, got, m)
		}
	}
	if st, err := ParseCurriculum("batch-hard"); err != nil || len(st) != 1 || st[0].Mining != BatchHard {
		t.Errorf("one strategy: %v, %v", st, err)
	}
	for _, bad := range []string{"", "batch-all@0.1", "batch-all,batch-hard", "batch-all,batch-hard@x",
		"batch-all,batch-hard@0", "batch-all,batch-hard@1", "batch-all,semi-hard@0.5,batch-hard@0.4", "batch-all,hardest@0.5"} {
		if _, err := ParseCurriculum(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRunFollowsTheCurriculum checks that the logged mining switches at
// the planned share of the run.
func TestRunFollowsTheCurriculum(t *testing.T) {
	ds, err := OpenDataset(DatasetConfig{Root: writeToyFaces(t, 4, 4), Size: 16, Aligned: true})
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewEmbedNet(model.EmbedNetConfig{Kind: "embednet", Input: 16, Channels: 3, Widths: []int{8}, Blocks: 1, Dim: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := Run(context.Background(), net, ds, Config{P: 4, K: 2, Epochs: 4, Out: t.TempDir(),
		Curriculum: []Stage{{BatchAll, 0}, {BatchHard, 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, l := range logs {
		got = append(got, l.Mining)
	}
	if len(got) != 4 || got[0] != "batch-all" || got[1] != "batch-all" || got[2] != "batch-hard" || got[3] != "batch-hard" {
		t.Errorf("mining per epoch %v, want batch-all twice then batch-hard", got)
	}
}
