package visualize

import (
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/model/registry"
)

func testNet(t testing.TB, name string) *Net {
	t.Helper()
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir)
	}
	sharedtest.Need(t, "pretrained models (run `facerec models pull`)", err)
	n, err := LoadNet(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDescriptorReceptiveFields: the descriptor's first layers worked by
// hand (rows and columns alike; start is the centre of unit 0's field):
// conv32_down 7×7 stride 2 valid: size 7, jump 2, start 3; maxpool 3×3
// stride 2 valid: 7 + 2·2 = 11, jump 4, start 3 + 1·2 = 5; each 3×3 SAME
// conv of the three conv32 blocks adds 2·4: 19, 27 (conv32_1), 35, 43, 51,
// 59 (conv32_3, start stays 5); conv64_down/conv1, 3×3 stride 2 valid:
// 59 + 2·4 = 67, jump 8, start 5 + 1·4 = 9; its conv2 (SAME): 67 + 2·8 = 83.
func TestDescriptorReceptiveFields(t *testing.T) {
	n := testNet(t, "descriptor")
	ls, err := n.Layers()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]float64{ // size, jump, start
		"conv32_down":       {7, 2, 3},
		"maxpool":           {11, 4, 5},
		"conv32_1/conv1":    {19, 4, 5},
		"conv32_1/conv2":    {27, 4, 5},
		"conv32_1/out":      {27, 4, 5},
		"conv32_3/out":      {59, 4, 5},
		"conv64_down/conv1": {67, 8, 9},
		"conv64_down/conv2": {83, 8, 9},
	}
	found := 0
	for _, l := range ls {
		w, ok := want[l.Name]
		if !ok {
			continue
		}
		found++
		f := l.Field
		for a := 0; a < 2; a++ {
			if float64(f.Size[a]) != w[0] || float64(f.Jump[a]) != w[1] || f.Start[a] != w[2] {
				t.Errorf("%s: field %+v, want size %v, jump %v, start %v", l.Name, f, w[0], w[1], w[2])
				break
			}
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the %d layers in %d", found, len(want), len(ls))
	}
	if ls[0].Shape[1] != 72 || ls[0].Shape[3] != 32 {
		t.Errorf("conv32_down shape %v, want [1 72 72 32]", ls[0].Shape)
	}
}
