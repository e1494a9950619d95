package photo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"testing"
)

// The expected layouts are built from the EXIF orientation names as tools
// such as exiftool give them ("Mirror horizontal and rotate 270 CW", ...),
// with forward pixel moves, independently of the inverse mapping in orient.

func flipH(m *image.RGBA) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.SetRGBA(w-1-x, y, m.RGBAAt(x, y))
		}
	}
	return out
}

// rot90CW turns m a quarter clockwise: its top row becomes the right column.
func rot90CW(m *image.RGBA) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.SetRGBA(h-1-y, x, m.RGBAAt(x, y))
		}
	}
	return out
}

func rotCW(m *image.RGBA, quarters int) *image.RGBA {
	for range quarters {
		m = rot90CW(m)
	}
	return m
}

// displayed is how a stored image with EXIF orientation o must look.
func displayed(stored *image.RGBA, o int) *image.RGBA {
	switch o {
	case 2: // mirror horizontal
		return flipH(stored)
	case 3: // rotate 180
		return rotCW(stored, 2)
	case 4: // mirror vertical
		return rotCW(flipH(stored), 2)
	case 5: // mirror horizontal and rotate 270 CW
		return rotCW(flipH(stored), 3)
	case 6: // rotate 90 CW
		return rotCW(stored, 1)
	case 7: // mirror horizontal and rotate 90 CW
		return rotCW(flipH(stored), 1)
	case 8: // rotate 270 CW
		return rotCW(stored, 3)
	}
	return stored
}

func opaquePattern(w, h int) *image.RGBA {
	src := testPattern(w, h, false)
	return &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
}

func sameImage(t *testing.T, got, want *image.RGBA) {
	t.Helper()
	if got.Rect != want.Rect {
		t.Fatalf("bounds %v, want %v", got.Rect, want.Rect)
	}
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			if g, w := got.RGBAAt(x, y), want.RGBAAt(x, y); g != w {
				t.Fatalf("pixel (%d, %d) = %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestOrient(t *testing.T) {
	stored := opaquePattern(3, 2)
	for o := 0; o <= 9; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			sameImage(t, orient(stored, o), displayed(stored, o))
		})
	}
	// Spot-check the reference itself on 6 (rotate 90 CW): the stored
	// bottom-left pixel ends up top-left, the stored top-left top-right.
	d := displayed(stored, 6)
	if d.RGBAAt(0, 0) != stored.RGBAAt(0, 1) || d.RGBAAt(1, 0) != stored.RGBAAt(0, 0) {
		t.Fatal("reference rotation is wrong")
	}
}

func TestOrientationTIFF(t *testing.T) {
	stored := opaquePattern(4, 3)
	strip := make([]byte, 0, 4*3*3)
	for i := 0; i < len(stored.Pix); i += 4 {
		strip = append(strip, stored.Pix[i:i+3]...)
	}
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			data := buildTIFF(4, 3, 1, strip, o)
			sameImage(t, mustDecode(t, data, "tiff"), displayed(stored, o))
			raw, _, err := Decode(bytes.NewReader(data), Options{IgnoreOrientation: true})
			if err != nil {
				t.Fatal(err)
			}
			sameImage(t, raw, stored)
		})
	}
}

func TestOrientationWebP(t *testing.T) {
	lossless, err := os.ReadFile("testdata/pattern.lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	vp8l := lossless[12:] // the VP8L chunk
	stored := opaquePattern(16, 12)
	vp8x := []byte{0x08, 0, 0, 0, 15, 0, 0, 11, 0, 0} // EXIF flag, 16x12 canvas
	for o := 1; o <= 8; o++ {
		for _, prefix := range []string{"", "Exif\x00\x00"} {
			t.Run(fmt.Sprintf("%d/%q", o, prefix), func(t *testing.T) {
				exif := append([]byte(prefix), exifTIFF(binary.LittleEndian, typeShort, o)...)
				data := riff(chunk("VP8X", vp8x), vp8l, chunk("EXIF", exif))
				sameImage(t, mustDecode(t, data, "webp"), displayed(stored, o))
			})
		}
	}
}

// blockImage is 3x2 blocks of 16x16 pixels in clearly distinct colours, so
// that JPEG's loss does not blur which block went where.
func blockImage() *image.RGBA {
	colours := []color.RGBA{
		{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255},
		{255, 255, 0, 255}, {0, 255, 255, 255}, {255, 255, 255, 255},
	}
	m := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 48; x++ {
			m.SetRGBA(x, y, colours[(y/16)*3+x/16])
		}
	}
	return m
}

// sameBlocks compares the centres of the 16x16 blocks, with JPEG tolerance.
func sameBlocks(t *testing.T, got, want *image.RGBA) {
	t.Helper()
	if got.Rect != want.Rect {
		t.Fatalf("bounds %v, want %v", got.Rect, want.Rect)
	}
	for y := 8; y < want.Rect.Dy(); y += 16 {
		for x := 8; x < want.Rect.Dx(); x += 16 {
			g, w := got.RGBAAt(x, y), want.RGBAAt(x, y)
			if absDiff(g.R, w.R) > 12 || absDiff(g.G, w.G) > 12 || absDiff(g.B, w.B) > 12 {
				t.Fatalf("block at (%d, %d) = %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestOrientationJPEG(t *testing.T) {
	stored := blockImage()
	plain := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, stored, &jpeg.Options{Quality: 100}) })
	xmp := []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")
	for o := 1; o <= 8; o++ {
		for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(fmt.Sprintf("%d/%v", o, order), func(t *testing.T) {
				exif := append([]byte("Exif\x00\x00"), exifTIFF(order, typeShort, o)...)
				// An XMP APP1 first, as some editors write it, must not
				// hide the Exif one.
				data := jpegWithAPP1(plain, xmp, exif)
				sameBlocks(t, mustDecode(t, data, "jpeg"), displayed(stored, o))
				raw, _, err := Decode(bytes.NewReader(data), Options{IgnoreOrientation: true})
				if err != nil {
					t.Fatal(err)
				}
				sameBlocks(t, raw, stored)
			})
		}
	}
}

func TestOrientationInvalid(t *testing.T) {
	stored := blockImage()
	plain := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, stored, &jpeg.Options{Quality: 100}) })
	cases := map[string][]byte{
		"value 0":       exifTIFF(binary.LittleEndian, typeShort, 0),
		"value 9":       exifTIFF(binary.LittleEndian, typeShort, 9),
		"type LONG":     exifTIFF(binary.LittleEndian, typeLong, 6),
		"bad IFD":       {'I', 'I', '*', 0, 0xff, 0xff, 0, 0},
		"truncated IFD": exifTIFF(binary.LittleEndian, typeShort, 6)[:14],
	}
	for name, tiffData := range cases {
		t.Run(name, func(t *testing.T) {
			data := jpegWithAPP1(plain, append([]byte("Exif\x00\x00"), tiffData...))
			sameBlocks(t, mustDecode(t, data, "jpeg"), stored)
		})
	}
}
