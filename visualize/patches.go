package visualize

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"sort"

	"github.com/facerec/facerec/tensor"
)

// Patch is one image region that excites a unit: the unit's receptive
// field around its strongest position in one image.
type Patch struct {
	Image int             `json:"image"` // index into the images given
	Value float64         `json:"value"` // the activation there
	Rect  image.Rectangle `json:"rect"`  // in the prepared input's pixels (may reach past its edges)
}

// TopPatches finds, for each of the channels units of a layer, the k
// images (of the prepared pixels in images) where the channel's strongest
// activation is highest, as Zeiler & Fergus show what a unit detects: the
// patch is the receptive field of that position, from the layer's
// geometry (nn.Var.Field). Each image gives a unit at most one patch.
func (n *Net) TopPatches(images []*tensor.Tensor, layerName string, units []int, k int) ([][]Patch, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("visualize: top patches: no images")
	}
	all := make([][]Patch, len(units))
	for i, img := range images {
		names, vars, err := n.activations(img)
		if err != nil {
			return nil, err
		}
		v, err := layer(vars, names, layerName)
		if err != nil {
			return nil, err
		}
		_, h, w, c := v.Value.Shape[0], v.Value.Shape[1], v.Value.Shape[2], v.Value.Shape[3]
		f := v.Field()
		for u, ch := range units {
			if ch < 0 || ch >= c {
				return nil, fmt.Errorf("visualize: layer %s has channels 0 … %d, not %d", layerName, c-1, ch)
			}
			best, at := math.Inf(-1), 0
			for p := 0; p < h*w; p++ {
				if a := float64(v.Value.Data[p*c+ch]); a > best {
					best, at = a, p
				}
			}
			cy := f.Start[0] + float64(at/w*f.Jump[0])
			cx := f.Start[1] + float64(at%w*f.Jump[1])
			y0 := int(math.Floor(cy - float64(f.Size[0]-1)/2))
			x0 := int(math.Floor(cx - float64(f.Size[1]-1)/2))
			all[u] = append(all[u], Patch{Image: i, Value: best, Rect: image.Rect(x0, y0, x0+f.Size[1], y0+f.Size[0])})
		}
	}
	for u := range all {
		sort.SliceStable(all[u], func(a, b int) bool { return all[u][a].Value > all[u][b].Value })
		all[u] = all[u][:min(k, len(all[u]))]
	}
	return all, nil
}

// PatchGrid draws the patches, one row per unit, each cut from its image
// (the part outside the image dark) and scaled to side×side.
func PatchGrid(images []*tensor.Tensor, patches [][]Patch, side int) *image.RGBA {
	cols := 0
	for _, row := range patches {
		cols = max(cols, len(row))
	}
	var tiles []*image.RGBA
	for _, row := range patches {
		for j := 0; j < cols; j++ {
			if j >= len(row) {
				tiles = append(tiles, image.NewRGBA(image.Rect(0, 0, side, side)))
				continue
			}
			p := row[j]
			src := pixelsImage(images[p.Image])
			cut := image.NewRGBA(p.Rect) // in the image's coordinates
			draw.Draw(cut, cut.Rect, image.NewUniform(background), image.Point{}, draw.Src)
			in := src.Rect.Intersect(p.Rect)
			draw.Draw(cut, in, src, in.Min, draw.Src)
			tiles = append(tiles, scaleTo(cut, side, side))
		}
	}
	return grid(tiles, max(cols, 1), 2)
}
