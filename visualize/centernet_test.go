package visualize

import (
	"testing"

	"github.com/facerec/facerec/model/registry"
)

// TestCenterNetLayers: the compiled tfjs graph lists its layers with the
// shapes and receptive fields of the backbone at 256×256, worked by hand
// for the first ones (rows and columns alike): the stem, 3×3 stride 2 SAME
// (TensorFlow pads 0 before, 1 after at an even size): size 3, jump 2,
// start 1; block 0's 3×3 depthwise (stride 1) adds 2·2: 7; e1 (1×1) keeps
// 7; block 1's 3×3 stride-2 depthwise adds 2·2: 11, jump 4, start 1 + 1·2
// = 3. From block 3 on, the squeeze-and-excitation's spatial mean makes
// every unit see the whole input.
func TestCenterNetLayers(t *testing.T) {
	dir, err := registry.Dir()
	if err == nil {
		err = registry.Verify(dir, registry.CenterNet)
	}
	if err != nil {
		t.Skipf("needs centernet in the model directory (facerec models pull centernet): %v", err)
	}
	n, err := LoadNet(dir, "centernet")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := n.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 30 || ls[0].Name != "conv" || ls[29].Name != "b14" {
		t.Fatalf("%d layers from %v", len(ls), ls[0].Name)
	}
	for i, want := range []struct {
		name              string
		h, c              int
		size, jump, start int
	}{
		{"conv", 128, 16, 3, 2, 1},
		{"b0", 128, 16, 7, 2, 1},
		{"e1", 128, 64, 7, 2, 1},
		{"b1", 64, 24, 11, 4, 3},
	} {
		l := ls[i]
		f := l.Field
		if l.Name != want.name || l.Shape[1] != want.h || l.Shape[3] != want.c ||
			f.Size[0] != want.size || f.Jump[0] != want.jump || f.Start[0] != float64(want.start) {
			t.Errorf("layer %d: %s %v field %+v, want %s h=%d c=%d size %d jump %d start %d",
				i, l.Name, l.Shape, f, want.name, want.h, want.c, want.size, want.jump, want.start)
		}
	}
	if ls[7].Name != "b3" || ls[7].Field.Size[0] < 256 {
		t.Errorf("%s: field %+v, want the whole 256-pixel input (SE)", ls[7].Name, ls[7].Field)
	}
	if n.Stem == nil || n.Stem.Cout != 16 {
		t.Errorf("stem %v", n.Stem)
	}
}
