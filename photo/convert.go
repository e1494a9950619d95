package photo

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/facerec/facerec/tensor"
)

// toRGBA converts a decoded image to an opaque *image.RGBA with bounds
// starting at (0, 0). Decoder outputs that are already laid out as RGBA are
// reused in place rather than copied, which matters for 40-megapixel photos.
func toRGBA(m image.Image) *image.RGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	switch src := m.(type) {
	case *image.RGBA:
		// Premultiplied: un-premultiply the rare translucent pixel.
		if compact(src.Stride, w, h, src.Pix) {
			for i := 0; i < len(src.Pix); i += 4 {
				if a := src.Pix[i+3]; a != 0xff {
					c := color.NRGBAModel.Convert(color.RGBA{src.Pix[i], src.Pix[i+1], src.Pix[i+2], a}).(color.NRGBA)
					src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = c.R, c.G, c.B, 0xff
				}
			}
			return &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: image.Rect(0, 0, w, h)}
		}
	case *image.NRGBA:
		// Straight alpha: the colour bytes are the stored colour, so setting
		// A=255 turns the buffer into the RGBA we want.
		if compact(src.Stride, w, h, src.Pix) {
			for i := 3; i < len(src.Pix); i += 4 {
				src.Pix[i] = 0xff
			}
			return &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: image.Rect(0, 0, w, h)}
		}
	case *image.YCbCr:
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Rect, src, b.Min, draw.Src)
		return dst
	case *image.NYCbCrA:
		// Drawing the embedded YCbCr drops the alpha plane and keeps the
		// stored colour of transparent pixels.
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Rect, &src.YCbCr, b.Min, draw.Src)
		return dst
	case *image.Gray:
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:][:w]
			out := dst.Pix[y*dst.Stride:][:4*w]
			for x, v := range row {
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = v, v, v, 0xff
			}
		}
		return dst
	case *image.Gray16:
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:][:2*w]
			out := dst.Pix[y*dst.Stride:][:4*w]
			for x := 0; x < w; x++ {
				v := row[2*x] // big-endian: the high byte
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = v, v, v, 0xff
			}
		}
		return dst
	case *image.NRGBA64:
		// Straight alpha, big-endian samples: keep the high byte of R, G, B.
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:][:8*w]
			out := dst.Pix[y*dst.Stride:][:4*w]
			for x := 0; x < w; x++ {
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = row[8*x], row[8*x+2], row[8*x+4], 0xff
			}
		}
		return dst
	case *image.Paletted:
		// Convert the palette once; indices past its end are black, as
		// image.Paletted.At would make them transparent black.
		var lut [256][3]uint8
		for i, c := range src.Palette {
			if i >= len(lut) {
				break
			}
			r, g, b := straight(c)
			lut[i] = [3]uint8{r, g, b}
		}
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride:][:w]
			out := dst.Pix[y*dst.Stride:][:4*w]
			for x, v := range row {
				c := lut[v]
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = c[0], c[1], c[2], 0xff
			}
		}
		return dst
	}
	// Everything else (16-bit, CMYK, odd strides, ...) goes pixel by pixel
	// through At; this path is slower but rare.
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		out := dst.Pix[y*dst.Stride:][:4*w]
		for x := 0; x < w; x++ {
			r, g, b := straight(m.At(b.Min.X+x, b.Min.Y+y))
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = r, g, b, 0xff
		}
	}
	return dst
}

// straight returns the 8-bit colour of c without its alpha. Colours stored
// with straight alpha keep their raw channels, even when fully transparent;
// premultiplied colours are un-premultiplied, which leaves black when alpha
// is zero because no colour was stored.
func straight(c color.Color) (r, g, b uint8) {
	switch c := c.(type) {
	case color.NRGBA:
		return c.R, c.G, c.B
	case color.NRGBA64:
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	case color.NYCbCrA:
		return color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return n.R, n.G, n.B
}

// compact reports whether a 4-byte-per-pixel buffer has no padding, so that
// it can be walked (and reused) as one flat slice.
func compact(stride, w, h int, pix []byte) bool {
	return stride == 4*w && len(pix) == 4*w*h
}

// ToTensor converts img to a float32 tensor of shape [H, W, 3] holding R, G, B
// in 0..255, the input layout of the networks; alpha is ignored. A nil or
// empty image gives a tensor of shape [0, 0, 3]. img must be well formed (a
// Pix as long as its Rect and Stride say), as Decode and image.NewRGBA make it.
func ToTensor(img *image.RGBA) *tensor.Tensor {
	if img == nil || img.Rect.Empty() {
		return tensor.New(0, 0, 3)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	t := tensor.New(h, w, 3)
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w]
		out := t.Data[3*w*y:][:3*w]
		// Walking both slices in lockstep lets the compiler drop the
		// bounds checks of the inner loop.
		for len(row) >= 4 && len(out) >= 3 {
			out[0], out[1], out[2] = float32(row[0]), float32(row[1]), float32(row[2])
			row, out = row[4:], out[3:]
		}
	}
	return t
}

// ImageTensor is ToTensor for any image: an *image.RGBA is converted
// directly, any other image through its colour model, with a partly
// transparent pixel un-premultiplied (its colour counts, not its alpha).
func ImageTensor(img image.Image) *tensor.Tensor {
	if rgba, ok := img.(*image.RGBA); ok {
		return ToTensor(rgba)
	}
	b := img.Bounds()
	t := tensor.New(b.Dy(), b.Dx(), 3)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a > 0 && a < 0xffff {
				r, g, bl = r*0xffff/a, g*0xffff/a, bl*0xffff/a
			}
			t.Data[i], t.Data[i+1], t.Data[i+2] = float32(r>>8), float32(g>>8), float32(bl>>8)
			i += 3
		}
	}
	return t
}

// FromTensor is the inverse of ToTensor: an [H, W, 3] (or grey [H, W, 1])
// tensor with values in 0..255 becomes an opaque image, values rounded and
// clamped (NaN becomes 0).
func FromTensor(t *tensor.Tensor) (*image.RGBA, error) {
	if t == nil || len(t.Shape) != 3 || t.Shape[0] <= 0 || t.Shape[1] <= 0 ||
		(t.Shape[2] != 3 && t.Shape[2] != 1) || tensor.Numel(t.Shape) != len(t.Data) {
		var shape []int
		if t != nil {
			shape = t.Shape
		}
		return nil, fmt.Errorf("photo: tensor has shape %v, want [H, W, 3] or [H, W, 1]", shape)
	}
	h, w, c := t.Shape[0], t.Shape[1], t.Shape[2]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < h*w; i++ {
		for k := 0; k < 3; k++ {
			v := t.Data[i*c+min(k, c-1)]
			var b uint8
			switch {
			case v >= 255:
				b = 255
			case v > 0: // also false for NaN, which becomes 0
				b = uint8(v + 0.5)
			}
			img.Pix[4*i+k] = b
		}
		img.Pix[4*i+3] = 255
	}
	return img, nil
}
