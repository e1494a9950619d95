package photo

import "image"

// orient returns src transformed for display according to the EXIF
// orientation o (TIFF tag 0x0112). Values outside 2-8 leave src as it is.
//
// The tag says where the stored rows and columns belong on screen; for
// example 6 means "stored row 0 is the right-hand column", so the stored
// image must be turned 90° clockwise. For every output pixel (x, y) of the
// displayed image, src(sx, sy) below is the stored pixel that lands there.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w // 5-8 swap the axes
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		out := dst.Pix[y*dst.Stride:][:4*dw]
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2: // mirrored left-right
				sx, sy = w-1-x, y
			case 3: // rotated 180°
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored top-bottom
				sx, sy = x, h-1-y
			case 5: // transposed (mirrored about the main diagonal)
				sx, sy = y, x
			case 6: // needs a 90° clockwise turn
				sx, sy = y, h-1-x
			case 7: // transversed (mirrored about the anti-diagonal)
				sx, sy = w-1-y, h-1-x
			case 8: // needs a 90° counter-clockwise turn
				sx, sy = w-1-y, x
			}
			i := src.PixOffset(src.Rect.Min.X+sx, src.Rect.Min.Y+sy)
			copy(out[4*x:4*x+4], src.Pix[i:i+4])
		}
	}
	return dst
}
