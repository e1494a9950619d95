package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/facerec/facerec/tensor"
)

// Augment describes the random per-image augmentation of [Dataset.Batch].
// The zero value changes nothing. Each transform is cheap (one pass over
// the pixels) so that augmenting costs little next to the network.
type Augment struct {
	// Mirror flips the image horizontally with probability ½. Faces are
	// close to symmetric, so this doubles the data for free.
	Mirror bool
	// Scale is the largest relative zoom: the image is scaled about its
	// centre by a factor drawn uniformly from [1−Scale, 1+Scale].
	Scale float64
	// Shift is the largest translation as a fraction of the image width
	// and height, drawn independently for x and y.
	Shift float64
	// Brightness is the largest additive change as a fraction of the full
	// 0..255 range.
	Brightness float64
	// Contrast is the largest relative change of contrast: pixels move
	// away from (or toward) the image mean by a factor drawn from
	// [1−Contrast, 1+Contrast].
	Contrast float64
	// Rotate is the largest in-plane rotation in degrees, about the centre
	// (heads tilt; alignment leaves a few degrees).
	Rotate float64
	// Erase is the probability of blanking one random rectangle (up to a
	// quarter of the image, filled with the image mean): occlusion by
	// hands, glasses or hair, and a strong regulariser on small datasets.
	Erase float64
}

// validate rejects parameters that would turn images inside out.
func (a Augment) validate() error {
	for _, p := range []struct {
		name string
		v    float64
		max  float64
	}{{"scale", a.Scale, 0.5}, {"shift", a.Shift, 0.5}, {"brightness", a.Brightness, 1}, {"contrast", a.Contrast, 1},
		{"rotate", a.Rotate, 45}, {"erase", a.Erase, 1}} {
		if !(p.v >= 0 && p.v <= p.max) {
			return fmt.Errorf("augment: %s %v outside [0, %v]", p.name, p.v, p.max)
		}
	}
	return nil
}

// Apply returns an augmented copy of img, an [H, W, C] image with values in
// 0..255, drawing the random parameters from rng. The result stays in
// 0..255. img is not modified.
func (a Augment) Apply(img *tensor.Tensor, rng *rand.Rand) (*tensor.Tensor, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	if img == nil || len(img.Shape) != 3 || tensor.Numel(img.Shape) != len(img.Data) || len(img.Data) == 0 {
		var shape []int
		if img != nil {
			shape = img.Shape
		}
		return nil, fmt.Errorf("augment: image shape %v, want non-empty [H, W, C]", shape)
	}
	if rng == nil {
		return nil, fmt.Errorf("augment: rng is nil")
	}
	out := tensor.New(img.Shape...)
	a.apply(out.Data, img.Data, img.Shape[0], img.Shape[1], img.Shape[2], rng)
	return out, nil
}

// apply writes the augmented src into dst (both H×W×C, 0..255). The random
// numbers are drawn in a fixed order whatever the settings, so changing one
// setting does not reshuffle the others.
func (a Augment) apply(dst, src []float32, h, w, c int, rng *rand.Rand) {
	mirror := rng.Float64() < 0.5
	s := 1 + a.Scale*(2*rng.Float64()-1)
	tx := a.Shift * float64(w) * (2*rng.Float64() - 1)
	ty := a.Shift * float64(h) * (2*rng.Float64() - 1)
	bright := a.Brightness * 255 * (2*rng.Float64() - 1)
	contrast := 1 + a.Contrast*(2*rng.Float64()-1)
	angle := a.Rotate * math.Pi / 180 * (2*rng.Float64() - 1)
	erase := rng.Float64() < a.Erase
	ew, eh := rng.Float64(), rng.Float64() // rectangle sides, as a share of half the image
	ex, ey := rng.Float64(), rng.Float64() // and its place

	if a.Scale > 0 || a.Shift > 0 || a.Rotate > 0 {
		// Destination (x, y) samples the source at R(−θ)·((x, y)−c)/s + c − t.
		cx, cy := float64(w-1)/2, float64(h-1)/2
		cos, sin := math.Cos(angle)/s, math.Sin(angle)/s
		m := affine{cos, sin, cx - cos*cx - sin*cy - tx, -sin, cos, cy + sin*cx - cos*cy - ty}
		warp(dst, src, h, w, c, m)
	} else {
		copy(dst, src)
	}
	if a.Mirror && mirror {
		mirrorInPlace(dst, h, w, c)
	}
	if a.Brightness > 0 || a.Contrast > 0 {
		var mean float64
		for _, v := range dst {
			mean += float64(v)
		}
		mean /= float64(len(dst))
		for i, v := range dst {
			dst[i] = float32((float64(v)-mean)*contrast + mean + bright)
		}
	}
	if erase {
		eraseRect(dst, h, w, c, ew, eh, ex, ey)
	}
	clamp255(dst)
}

// eraseRect fills a rectangle of up to half the width and half the height
// (sides ew, eh ∈ [0, 1) of that; corner at ex, ey ∈ [0, 1) of the room
// left) with the image's mean value per channel.
func eraseRect(p []float32, h, w, c int, ew, eh, ex, ey float64) {
	rw, rh := 1+int(ew*float64(w/2)), 1+int(eh*float64(h/2))
	x0, y0 := int(ex*float64(w-rw+1)), int(ey*float64(h-rh+1))
	mean := make([]float64, c)
	for i, v := range p {
		mean[i%c] += float64(v)
	}
	for k := range mean {
		mean[k] /= float64(h * w)
	}
	for y := y0; y < y0+rh; y++ {
		for x := x0; x < x0+rw; x++ {
			for k := 0; k < c; k++ {
				p[(y*w+x)*c+k] = float32(mean[k])
			}
		}
	}
}

// affine maps a destination pixel (x, y) to the source point
// (m[0]x + m[1]y + m[2], m[3]x + m[4]y + m[5]).
type affine [6]float64

// warp resamples src through m with bilinear interpolation, replicating
// the edge pixels outside the image. With the identity map every sample
// falls on a pixel with zero fractional weight, so the copy is exact.
func warp(dst, src []float32, h, w, c int, m affine) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx := m[0]*float64(x) + m[1]*float64(y) + m[2]
			sy := m[3]*float64(x) + m[4]*float64(y) + m[5]
			sx = math.Min(math.Max(sx, 0), float64(w-1))
			sy = math.Min(math.Max(sy, 0), float64(h-1))
			x0, y0 := int(sx), int(sy)
			fx, fy := float32(sx-float64(x0)), float32(sy-float64(y0))
			x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
			p00, p01 := (y0*w+x0)*c, (y0*w+x1)*c
			p10, p11 := (y1*w+x0)*c, (y1*w+x1)*c
			o := (y*w + x) * c
			for k := 0; k < c; k++ {
				top := src[p00+k]*(1-fx) + src[p01+k]*fx
				bot := src[p10+k]*(1-fx) + src[p11+k]*fx
				dst[o+k] = top*(1-fy) + bot*fy
			}
		}
	}
}

// mirrorInPlace flips an H×W×C image left to right.
func mirrorInPlace(p []float32, h, w, c int) {
	for y := 0; y < h; y++ {
		row := p[y*w*c : (y+1)*w*c]
		for l, r := 0, w-1; l < r; l, r = l+1, r-1 {
			for k := 0; k < c; k++ {
				row[l*c+k], row[r*c+k] = row[r*c+k], row[l*c+k]
			}
		}
	}
}

// clamp255 limits values to 0..255.
func clamp255(p []float32) {
	for i, v := range p {
		if v < 0 {
			p[i] = 0
		} else if v > 255 {
			p[i] = 255
		}
	}
}

// DefaultAugment is the augmentation of `facerec train` unless told
// otherwise: mild, safe for any aligned face data.
const DefaultAugment = "mirror,scale=0.05,shift=0.05,brightness=0.1,contrast=0.1"

// ParseAugment reads an augmentation spec: "none", or a comma-separated
// list of mirror and name=value for scale, shift, brightness, contrast,
// rotate (degrees) and erase (a probability), e.g.
// "mirror,scale=0.1,rotate=10,erase=0.5". It returns nil for "none".
func ParseAugment(spec string) (*Augment, error) {
	spec = strings.TrimSpace(spec)
	if spec == "none" || spec == "" {
		return nil, nil
	}
	var a Augment
	fields := map[string]*float64{"scale": &a.Scale, "shift": &a.Shift, "brightness": &a.Brightness,
		"contrast": &a.Contrast, "rotate": &a.Rotate, "erase": &a.Erase}
	for _, item := range strings.Split(spec, ",") {
		name, val, hasVal := strings.Cut(strings.TrimSpace(item), "=")
		if name == "mirror" && !hasVal {
			a.Mirror = true
			continue
		}
		f, ok := fields[name]
		if !ok || !hasVal {
			return nil, fmt.Errorf("augment: %q: want mirror or name=value with name one of scale, shift, brightness, contrast, rotate, erase", item)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("augment: %q: %w", item, err)
		}
		*f = v
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return &a, nil
}
