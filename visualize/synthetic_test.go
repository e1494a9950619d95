package visualize

import (
	"bytes"
	"context"
	"image"
	"strings"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// brightNet is a two-layer net without pretrained weights: "a" is a 3×3
// box filter of the red channel (ReLU), "b" a 3×3 stride-2 box filter of
// "a": unit activations peak where the image is red.
func brightNet(t *testing.T) *Net {
	w1 := tensor.New(3, 3, 3, 2)
	for k := 0; k < 9; k++ {
		w1.Data[k*6+0] = 1 // red → channel 0
		w1.Data[k*6+5] = 1 // blue → channel 1
	}
	c1, err := nn.NewConv2D(w1, 1, nn.Same)
	if err != nil {
		t.Fatal(err)
	}
	w2 := tensor.New(3, 3, 2, 2)
	for k := 0; k < 9; k++ {
		w2.Data[k*4+0], w2.Data[k*4+3] = 1, 1
	}
	c2, err := nn.NewConv2D(w2, 2, nn.Same)
	if err != nil {
		t.Fatal(err)
	}
	c1.Act, c1.Frozen, c2.Frozen = nn.ReLU, true, true
	return &Net{Name: "bright", Input: 32, Scale: [3]float32{1, 1, 1}, Stem: c1,
		Graph: func(g *nn.Graph, x *nn.Var) { g.Named("b", g.Conv2D(g.Named("a", g.Conv2D(x, c1)), c2)) }}
}

// spot is a black 32×32 image with a red 4×4 square at (x, y).
func spot(x, y int) *tensor.Tensor {
	p := tensor.New(32, 32, 3)
	for yy := y; yy < y+4; yy++ {
		for xx := x; xx < x+4; xx++ {
			p.Data[(yy*32+xx)*3] = 1
		}
	}
	return p
}

// TestSyntheticNet: the layer table, the filters and feature-map
// mosaics, top patches that contain the red square that excites the unit,
// and a report that holds every image, on a net whose answers are known.
func TestSyntheticNet(t *testing.T) {
	n := brightNet(t)
	ls, err := n.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// a: 3×3 SAME → size 3; b: 3×3 stride 2 SAME (pad 0 before on 32) → 5, jump 2.
	if len(ls) != 2 || ls[0].Field.Size[0] != 3 || ls[1].Field.Size[0] != 5 || ls[1].Field.Jump[0] != 2 || ls[1].Shape[1] != 16 {
		t.Fatalf("layers %+v", ls)
	}
	f, err := n.Filters()
	if err != nil {
		t.Fatal(err)
	}
	if f.Rect.Dx() < 2*40 {
		t.Errorf("filters image %v too small for 2 tiles", f.Rect)
	}
	imgs := []*tensor.Tensor{spot(3, 20), spot(12, 5), tensor.New(32, 32, 3), spot(25, 25)}
	if _, err := n.Activations(imgs[0], "b", 0); err != nil {
		t.Fatal(err)
	}
	ps, err := n.TopPatches(imgs, "b", []int{0, 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps[0]) != 3 {
		t.Fatalf("%d patches, want 3", len(ps[0]))
	}
	at := map[int]image.Point{0: {3, 20}, 1: {12, 5}, 3: {25, 25}} // the squares' corners
	for _, p := range ps[0] {
		if p.Image == 2 {
			t.Errorf("the black image is among the red unit's top patches: %+v", ps[0])
		}
		if c := at[p.Image]; !c.Add(image.Pt(1, 1)).In(p.Rect) && !c.Add(image.Pt(2, 2)).In(p.Rect) {
			t.Errorf("patch %v of image %d misses the red square at %v", p.Rect, p.Image, c)
		}
		if p.Rect.Dx() != 5 || p.Rect.Dy() != 5 {
			t.Errorf("patch %v is not the 5×5 receptive field", p.Rect)
		}
	}
	if g := PatchGrid(imgs, ps, 16); g.Rect.Dx() < 3*16 {
		t.Errorf("patch grid %v", g.Rect)
	}
	var html bytes.Buffer
	if err := n.Report(context.Background(), &html, imgs, []string{"a", "b", "c", "d"}, ReportOptions{Layers: []string{"a", "b"}, Units: 2, Maximize: 1, MaximizeSteps: 3}); err != nil {
		t.Fatal(err)
	}
	// 4 images, the filters, and per layer maps, patches, one maximised.
	if got := strings.Count(html.String(), `<img `); got != 4+1+2*3 {
		t.Errorf("report has %d images, want %d", got, 4+1+2*3)
	}
	if _, err := n.TopPatches(imgs, "b", []int{7}, 3); err == nil {
		t.Error("unit 7 of 2 accepted")
	}
}

// TestPrepareCentres: a wide image is shown by its centred square.
func TestPrepareCentres(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 96, 32))
	for y := 0; y < 32; y++ {
		for x := 32; x < 64; x++ {
			img.Pix[img.PixOffset(x, y)] = 255 // the middle third is red
		}
		for x := 0; x < 96; x++ {
			img.Pix[img.PixOffset(x, y)+3] = 255
		}
	}
	p, err := brightNet(t).Prepare(img)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < p.Len(); i += 3 {
		if p.Data[i] < 0.99 {
			t.Fatalf("pixel %d of the prepared square is not red (%v): not the centre", i/3, p.Data[i])
		}
	}
}
