package visualize

import (
	"errors"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/draw"

	"github.com/facerec/facerec/tensor"
)

// background is the colour between tiles.
var background = color.RGBA{32, 32, 32, 255}

// grid lays tiles of one size out in rows of cols with a gap of pad pixels.
func grid(tiles []*image.RGBA, cols, pad int) *image.RGBA {
	if len(tiles) == 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	tw, th := tiles[0].Rect.Dx(), tiles[0].Rect.Dy()
	rows := (len(tiles) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*(tw+pad)+pad, rows*(th+pad)+pad))
	draw.Draw(out, out.Rect, image.NewUniform(background), image.Point{}, draw.Src)
	for i, t := range tiles {
		x, y := pad+(i%cols)*(tw+pad), pad+(i/cols)*(th+pad)
		draw.Draw(out, image.Rect(x, y, x+tw, y+th), t, t.Rect.Min, draw.Src)
	}
	return out
}

// scaleNearest enlarges img k times with square pixels.
func scaleNearest(img *image.RGBA, k int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, img.Rect.Dx()*k, img.Rect.Dy()*k))
	draw.NearestNeighbor.Scale(out, out.Rect, img, img.Rect, draw.Src, nil)
	return out
}

// scaleTo resizes img to w×h (Catmull-Rom).
func scaleTo(img image.Image, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(out, out.Rect, img, img.Bounds(), draw.Src, nil)
	return out
}

// pixelsImage converts pixels [H, W, 3] in [0, 1] to an image.
func pixelsImage(p *tensor.Tensor) *image.RGBA {
	h, w := p.Shape[0], p.Shape[1]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < h*w; i++ {
		for c := 0; c < 3; c++ {
			img.Pix[4*i+c] = uint8(math.Round(float64(min(max(p.Data[3*i+c], 0), 1)) * 255))
		}
		img.Pix[4*i+3] = 255
	}
	return img
}

// Filters draws the stem convolution's kernels [KH, KW, 3, Cout] as a grid
// of colour tiles, one per output channel, each enlarged 8× (at least 40
// pixels a side); all share one scale, symmetric around grey = 0, so that
// their strengths compare.
func (n *Net) Filters() (*image.RGBA, error) {
	c := n.Stem
	if c == nil || c.Cin != 3 {
		return nil, errors.New("visualize: " + n.Name + "'s first layer is not a dense convolution of the RGB image")
	}
	kh, kw, cout := c.KH, c.KW, c.Cout
	amax := 0.0
	for _, v := range c.W.Data {
		amax = math.Max(amax, math.Abs(float64(v)))
	}
	if amax == 0 {
		amax = 1
	}
	k := max(8, (40+kh-1)/kh)
	tiles := make([]*image.RGBA, cout)
	for o := 0; o < cout; o++ {
		t := image.NewRGBA(image.Rect(0, 0, kw, kh))
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				for ch := 0; ch < 3; ch++ {
					v := float64(c.W.Data[((y*kw+x)*3+ch)*cout+o]) / amax
					t.Pix[4*(y*kw+x)+ch] = uint8(math.Round(127.5 + 127.5*v))
				}
				t.Pix[4*(y*kw+x)+3] = 255
			}
		}
		tiles[o] = scaleNearest(t, k)
	}
	return grid(tiles, int(math.Ceil(math.Sqrt(float64(cout)))), 2), nil
}

// mapImage draws one channel of a feature map [1, h, w, C] in grey,
// scaled by lo … hi.
func mapImage(v *tensor.Tensor, ch int, lo, hi float64) *image.RGBA {
	h, w, c := v.Shape[1], v.Shape[2], v.Shape[3]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	for i := 0; i < h*w; i++ {
		g := uint8(math.Round(255 * min(max((float64(v.Data[i*c+ch])-lo)/span, 0), 1)))
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = g, g, g, 255
	}
	return img
}

// Activations draws the feature maps of layer for the image p (pixels
// [S, S, 3] from Prepare) as a mosaic of the first maxMaps channels (0:
// all), each on its own scale (its minimum black, its maximum white) and
// enlarged to at least 48 pixels.
func (n *Net) Activations(p *tensor.Tensor, layerName string, maxMaps int) (*image.RGBA, error) {
	names, vars, err := n.activations(p)
	if err != nil {
		return nil, err
	}
	v, err := layer(vars, names, layerName)
	if err != nil {
		return nil, err
	}
	c := v.Value.Shape[3]
	if maxMaps > 0 {
		c = min(c, maxMaps)
	}
	k := max(1, (48+v.Value.Shape[1]-1)/v.Value.Shape[1])
	tiles := make([]*image.RGBA, c)
	for ch := 0; ch < c; ch++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := ch; i < v.Value.Len(); i += v.Value.Shape[3] {
			lo, hi = math.Min(lo, float64(v.Value.Data[i])), math.Max(hi, float64(v.Value.Data[i]))
		}
		tiles[ch] = scaleNearest(mapImage(v.Value, ch, lo, hi), k)
	}
	return grid(tiles, int(math.Ceil(math.Sqrt(float64(c)))), 2), nil
}

// heat maps t in [0, 1] to a colour (black → red → yellow → white).
func heat(t float64) (r, g, b float64) {
	t = min(max(t, 0), 1)
	return min(1, 3*t), min(1, max(0, 3*t-1)), max(0, 3*t-2)
}

// Overlay draws a heatmap m [h·w] (any scale; normalised by its maximum)
// over img, resized to img's size, half transparent where it is hot.
func Overlay(img *image.RGBA, m []float64, h, w int) *image.RGBA {
	mx := 0.0
	for _, v := range m {
		mx = math.Max(mx, v)
	}
	if mx == 0 {
		mx = 1
	}
	// The map is resized as a grey image, then coloured: colouring first
	// would resize premultiplied colours.
	hm := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, v := range m {
		g := uint8(math.Round(255 * min(max(v/mx, 0), 1)))
		hm.Pix[4*i], hm.Pix[4*i+1], hm.Pix[4*i+2], hm.Pix[4*i+3] = g, g, g, 255
	}
	big := scaleTo(hm, img.Rect.Dx(), img.Rect.Dy())
	out := image.NewRGBA(img.Rect)
	for i := 0; i < len(out.Pix); i += 4 {
		t := float64(big.Pix[i]) / 255
		r, g, b := heat(t)
		a := math.Sqrt(t) * 0.75
		for c, hv := range [3]float64{r, g, b} {
			out.Pix[i+c] = uint8(float64(img.Pix[i+c])*(1-a)*0.85 + 255*hv*a)
		}
		out.Pix[i+3] = 255
	}
	return out
}

// heatImage draws a map m [h·w] (normalised by its maximum) as Overlay's
// colours on a transparent ground: its alpha is Overlay's blending weight.
func heatImage(m []float64, w, h int) *image.NRGBA {
	mx := 0.0
	for _, v := range m {
		mx = math.Max(mx, v)
	}
	if mx == 0 {
		mx = 1
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, v := range m {
		t := min(max(v/mx, 0), 1)
		r, g, b := heat(t)
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2] = uint8(math.Round(255*r)), uint8(math.Round(255*g)), uint8(math.Round(255*b))
		out.Pix[4*i+3] = uint8(math.Round(255 * 0.75 * math.Sqrt(t)))
	}
	return out
}
