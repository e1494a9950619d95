package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// testPattern is a small image in which every pixel differs from its
// neighbours, so that any shuffle of pixels shows. With alpha, the left
// quarter is fully transparent and the next quarter half transparent. The
// WebP files in testdata were made from it (see testdata/README.md).
func testPattern(w, h int, alpha bool) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(x * 16), uint8(y * 20), uint8(255 - 8*(x+y)), 255}
			if alpha {
				switch {
				case x < w/4:
					c.A = 0
				case x < w/2:
					c.A = 128
				}
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

// encode runs an encoder into a byte slice.
func encode(t testing.TB, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustDecode decodes data with default options and checks the format name.
func mustDecode(t testing.TB, data []byte, wantFormat string) *image.RGBA {
	t.Helper()
	img, format, err := Decode(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if format != wantFormat {
		t.Errorf("format = %q, want %q", format, wantFormat)
	}
	return img
}

// checkOpaque fails unless every pixel has A=255 and the bounds start at 0.
func checkOpaque(t testing.TB, img *image.RGBA) {
	t.Helper()
	if img.Rect.Min != (image.Point{}) {
		t.Errorf("bounds %v do not start at (0, 0)", img.Rect)
	}
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			if a := img.RGBAAt(x, y).A; a != 255 {
				t.Fatalf("pixel (%d, %d) has alpha %d", x, y, a)
			}
		}
	}
}

// compareRGB checks that got has want's size and, pixel by pixel, want's
// straight (non-premultiplied) RGB within tol, and that it is opaque.
func compareRGB(t testing.TB, got *image.RGBA, want *image.NRGBA, tol int) {
	t.Helper()
	checkOpaque(t, got)
	if got.Rect.Size() != want.Rect.Size() {
		t.Fatalf("size %v, want %v", got.Rect.Size(), want.Rect.Size())
	}
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			g, w := got.RGBAAt(x, y), want.NRGBAAt(x, y)
			if absDiff(g.R, w.R) > tol || absDiff(g.G, w.G) > tol || absDiff(g.B, w.B) > tol {
				t.Fatalf("pixel (%d, %d) = %v, want RGB of %v (tolerance %d)", x, y, g, w, tol)
			}
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func opaque(m *image.NRGBA) *image.NRGBA {
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	return m
}

func TestRoundTripLossless(t *testing.T) {
	src := testPattern(16, 12, false)
	tests := []struct {
		format string
		data   []byte
	}{
		{"png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) })},
		{"bmp", encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, src) })},
		{"tiff", encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) })},
		{"tiff", encode(t, func(b *bytes.Buffer) error {
			return tiff.Encode(b, src, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
		})},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			compareRGB(t, mustDecode(t, tt.data, tt.format), src, 0)
		})
	}
}

func TestRoundTripGIF(t *testing.T) {
	// GIF is paletted: build the pattern from a palette so it survives.
	pal := color.Palette{}
	for i := 0; i < 256; i++ {
		pal = append(pal, color.RGBA{uint8(i), uint8(255 - i), uint8(i * 7), 255})
	}
	p := image.NewPaletted(image.Rect(0, 0, 16, 12), pal)
	for i := range p.Pix {
		p.Pix[i] = uint8(i * 37)
	}
	data := encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, p, nil) })
	want := image.NewNRGBA(p.Rect)
	for y := 0; y < 12; y++ {
		for x := 0; x < 16; x++ {
			want.Set(x, y, p.At(x, y))
		}
	}
	compareRGB(t, mustDecode(t, data, "gif"), want, 0)
}

func TestGIFFirstFrame(t *testing.T) {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	frame := func(idx uint8) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 4, 3), pal)
		for i := range p.Pix {
			p.Pix[i] = idx
		}
		return p
	}
	data := encode(t, func(b *bytes.Buffer) error {
		return gif.EncodeAll(b, &gif.GIF{Image: []*image.Paletted{frame(0), frame(1)}, Delay: []int{10, 10}})
	})
	img := mustDecode(t, data, "gif")
	if c := img.RGBAAt(2, 1); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("pixel = %v, want the red of the first frame", c)
	}
}

func TestRoundTripJPEG(t *testing.T) {
	// JPEG is lossy and subsamples chroma; a smooth image with quality 100
	// must still come back close.
	src := image.NewNRGBA(image.Rect(0, 0, 32, 24))
	for y := 0; y < 24; y++ {
		for x := 0; x < 32; x++ {
			src.SetNRGBA(x, y, color.NRGBA{uint8(40 + 4*x), uint8(60 + 5*y), uint8(200 - 2*x - 2*y), 255})
		}
	}
	data := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 100}) })
	compareRGB(t, mustDecode(t, data, "jpeg"), src, 8)
}

func TestGreyToRGB(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 7, 5))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 7)
	}
	g16 := image.NewGray16(g.Rect)
	for y := 0; y < 5; y++ {
		for x := 0; x < 7; x++ {
			// Low byte deliberately noisy: only the high byte should count.
			g16.SetGray16(x, y, color.Gray16{uint16(g.GrayAt(x, y).Y)<<8 | uint16(x*31)})
		}
	}
	want := image.NewNRGBA(g.Rect)
	for y := 0; y < 5; y++ {
		for x := 0; x < 7; x++ {
			v := g.GrayAt(x, y).Y
			want.SetNRGBA(x, y, color.NRGBA{v, v, v, 255})
		}
	}
	for name, data := range map[string][]byte{
		"png8":  encode(t, func(b *bytes.Buffer) error { return png.Encode(b, g) }),
		"png16": encode(t, func(b *bytes.Buffer) error { return png.Encode(b, g16) }),
		"tiff":  encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, g, nil) }),
		"jpeg":  encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, g, &jpeg.Options{Quality: 100}) }),
	} {
		t.Run(name, func(t *testing.T) {
			img, _, err := Decode(bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tol := 0
			if name == "jpeg" {
				tol = 2
			}
			compareRGB(t, img, want, tol)
		})
	}
}

// TestAlphaDropped checks the documented alpha policy: straight-alpha
// formats keep the stored colour of transparent pixels, premultiplied ones
// are un-premultiplied.
func TestAlphaDropped(t *testing.T) {
	src := testPattern(16, 12, true)
	t.Run("png", func(t *testing.T) {
		data := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) })
		compareRGB(t, mustDecode(t, data, "png"), src, 0)
	})
	t.Run("png16", func(t *testing.T) {
		m := image.NewNRGBA64(src.Rect)
		for y := 0; y < 12; y++ {
			for x := 0; x < 16; x++ {
				c := src.NRGBAAt(x, y)
				m.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, uint16(c.A) * 257})
			}
		}
		data := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, m) })
		compareRGB(t, mustDecode(t, data, "png"), src, 0)
	})
	t.Run("png-palette", func(t *testing.T) {
		pal := color.Palette{color.NRGBA{10, 200, 30, 0}, color.NRGBA{50, 60, 70, 255}}
		p := image.NewPaletted(image.Rect(0, 0, 2, 1), pal)
		p.Pix[1] = 1
		data := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, p) })
		img := mustDecode(t, data, "png")
		if c := img.RGBAAt(0, 0); c != (color.RGBA{10, 200, 30, 255}) {
			t.Errorf("transparent palette entry = %v, want its stored colour", c)
		}
	})
	t.Run("tiff-premultiplied", func(t *testing.T) {
		// x/image/tiff writes an *image.RGBA as associated (premultiplied)
		// alpha, and reads it back as such.
		m := image.NewRGBA(image.Rect(0, 0, 3, 1))
		m.SetRGBA(0, 0, color.RGBA{0, 0, 0, 0})
		m.SetRGBA(1, 0, color.RGBA{100, 50, 25, 128}) // = NRGBA{199, 99, 49, 128}
		m.SetRGBA(2, 0, color.RGBA{1, 2, 3, 255})
		data := encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, m, nil) })
		img := mustDecode(t, data, "tiff")
		checkOpaque(t, img)
		want := []color.RGBA{{0, 0, 0, 255}, {199, 99, 49, 255}, {1, 2, 3, 255}}
		for x, w := range want {
			if c := img.RGBAAt(x, 0); c != w {
				t.Errorf("pixel %d = %v, want %v", x, c, w)
			}
		}
	})
}

func TestWebP(t *testing.T) {
	src := testPattern(16, 12, false)
	srcAlpha := testPattern(16, 12, true)
	tests := []struct {
		file string
		want *image.NRGBA
		tol  int // largest error allowed in one channel
		mean float64
	}{
		{"pattern.lossless.webp", src, 0, 0},
		// cwebp -exact keeps the colour under transparent pixels.
		{"pattern-alpha.lossless.webp", srcAlpha, 0, 0},
		// Lossy VP8 (the second with an ALPH chunk) subsamples chroma, which
		// this pattern is full of: close on average, up to ~30 off.
		{"pattern.lossy.webp", src, 32, 12},
		{"pattern-alpha.lossy.webp", srcAlpha, 32, 12},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			img := mustDecode(t, data, "webp")
			compareRGB(t, img, tt.want, tt.tol)
			sum := 0
			for i := range img.Pix {
				if i%4 != 3 {
					sum += absDiff(img.Pix[i], tt.want.Pix[i])
				}
			}
			if mean := float64(sum) / float64(3*16*12); mean > tt.mean {
				t.Errorf("mean error %.1f, want at most %.1f", mean, tt.mean)
			}
		})
	}
}

// moduleRoot walks up from the package directory to the directory holding
// go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// sharedFile returns the path of a file under /work/shared (found as
// ../shared from the module root), skipping the test when it is missing.
func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(moduleRoot(t), "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not available: %v", rel, err)
	}
	return p
}

func TestATTFace(t *testing.T) {
	path := sharedFile(t, "data/att/s1/1.pgm")
	img, format, err := DecodeFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if format != "pgm" || img.Rect != image.Rect(0, 0, 92, 112) {
		t.Fatalf("got %s %v, want pgm 92x112", format, img.Rect)
	}
	checkOpaque(t, img)
	// Cross-check against the raw bytes: P5 with maxval 255 is stored as is.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pix := raw[len(raw)-92*112:]
	for i, v := range pix {
		if c := img.Pix[4*i : 4*i+3]; c[0] != v || c[1] != v || c[2] != v {
			t.Fatalf("pixel %d = %v, want grey %d", i, c, v)
		}
	}
}

func TestLFWFace(t *testing.T) {
	path := sharedFile(t, "data/lfw/deepfunneled/Aaron_Peirsol/Aaron_Peirsol_0001.jpg")
	img, format, err := DecodeFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if format != "jpeg" || img.Rect != image.Rect(0, 0, 250, 250) {
		t.Fatalf("got %s %v, want jpeg 250x250", format, img.Rect)
	}
	checkOpaque(t, img)
}

// pngChunk frames a PNG chunk with its length and CRC.
func pngChunk(typ string, payload []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(payload)))
	b.WriteString(typ)
	b.Write(payload)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), payload...)))
	return b.Bytes()
}

// hugeHeaders returns, for each format, a well-formed header claiming an
// image of w x h (clamped to what the format can express) and no pixels.
func hugeHeaders(w, h int) map[string][]byte {
	le16 := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	m := map[string][]byte{}

	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	m["png"] = append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)

	jw, jh := min(w, 65535), min(h, 65535)
	m["jpeg"] = []byte{0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, byte(jh >> 8), byte(jh), byte(jw >> 8), byte(jw), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, // SOF0: 3 components
		0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0} // SOS

	gw, gh := min(w, 65535), min(h, 65535)
	m["gif"] = append(append(append([]byte("GIF89a"), le16(gw)...), le16(gh)...), 0, 0, 0)

	bm := []byte("BM")
	bm = binary.LittleEndian.AppendUint32(bm, 0)
	bm = binary.LittleEndian.AppendUint32(bm, 0)
	bm = binary.LittleEndian.AppendUint32(bm, 54)
	bm = binary.LittleEndian.AppendUint32(bm, 40)
	bm = binary.LittleEndian.AppendUint32(bm, uint32(w))
	bm = binary.LittleEndian.AppendUint32(bm, uint32(h))
	bm = append(bm, le16(1)...)
	bm = append(bm, le16(24)...)
	bm = append(bm, make([]byte, 24)...)
	m["bmp"] = bm

	m["tiff"] = buildTIFF(w, h, 1, nil, 0)

	vp8x := []byte{0, 0, 0, 0, byte(w - 1), byte((w - 1) >> 8), byte((w - 1) >> 16), byte(h - 1), byte((h - 1) >> 8), byte((h - 1) >> 16)}
	m["webp"] = riff(chunk("VP8X", vp8x))

	m["pgm"] = []byte(fmt.Sprintf("P5\n%d %d\n255\n", w, h))
	return m
}

func TestHugeHeaderRejected(t *testing.T) {
	for format, data := range hugeHeaders(100000, 100000) {
		t.Run(format, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, got, err := Decode(bytes.NewReader(data), Options{})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if got != format {
				t.Errorf("format = %q, want %q", got, format)
			}
			if !strings.Contains(err.Error(), "limit is 40000000") {
				t.Errorf("error %q does not state the limit", err)
			}
			// Refused from the header: nowhere near the gigabytes the
			// pixels would take.
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes to refuse the image", n)
			}
		})
	}
}

func TestMaxPixels(t *testing.T) {
	data := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testPattern(16, 12, false)) })
	if _, _, err := Decode(bytes.NewReader(data), Options{MaxPixels: 16*12 - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one pixel over: err = %v, want ErrTooLarge", err)
	} else if !strings.Contains(err.Error(), "16x12") {
		t.Errorf("error %q does not give the dimensions", err)
	}
	if _, _, err := Decode(bytes.NewReader(data), Options{MaxPixels: 16 * 12}); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
}

func TestMaxBytes(t *testing.T) {
	data := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testPattern(16, 12, false)) })
	n := int64(len(data))
	if _, _, err := Decode(bytes.NewReader(data), Options{MaxBytes: n - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode one byte over: err = %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode(bytes.NewReader(data), Options{MaxBytes: n}); err != nil {
		t.Errorf("Decode exactly at the limit: %v", err)
	}
	path := filepath.Join(t.TempDir(), "p.png")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeFile(path, Options{MaxBytes: n - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeFile one byte over: err = %v, want ErrTooLarge", err)
	}
	if _, format, err := DecodeFile(path, Options{MaxBytes: n}); err != nil || format != "png" {
		t.Errorf("DecodeFile at the limit: %q, %v", format, err)
	}
	// An endless stream is cut off, not buffered.
	if _, _, err := Decode(endless{}, Options{MaxBytes: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless input: err = %v, want ErrTooLarge", err)
	}
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}

func TestTruncated(t *testing.T) {
	src := testPattern(16, 12, false)
	for format, data := range map[string][]byte{
		"jpeg": encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, src, nil) }),
		"png":  encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) }),
		"gif":  encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) }),
		"bmp":  encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, src) }),
		"tiff": encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) }),
		"ppm":  append([]byte("P6 16 12 255\n"), make([]byte, 16*12*3)...),
	} {
		for _, cut := range []int{len(data) / 2, len(data) - 20, 20} {
			_, _, err := Decode(bytes.NewReader(data[:cut]), Options{})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s cut to %d of %d bytes: err = %v, want ErrCorrupt", format, cut, len(data), err)
			}
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for name, data := range map[string][]byte{
		"random":  random,
		"text":    []byte("Dear user,\nthis is not a photo.\n"),
		"BM text": []byte("BMW 3 series, 2019, good condition, call after six"),
		"P text":  []byte("P1 is the first item\n"),
		"html":    []byte("<!DOCTYPE html><html><body>hi</body></html>"),
		"empty":   {},
	} {
		_, _, err := Decode(bytes.NewReader(data), Options{})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: err = %v, want ErrUnknownFormat", name, err)
		}
	}
	if _, _, err := Decode(nil, Options{}); err == nil {
		t.Error("nil reader: no error")
	}
	if _, _, err := DecodeFile(filepath.Join(t.TempDir(), "missing.jpg"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want os.ErrNotExist", err)
	}
}

func TestUnsupportedVariant(t *testing.T) {
	// A valid JPEG header for 12-bit samples, which image/jpeg lacks.
	data := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 11, 12, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xff, 0xd9}
	if _, _, err := Decode(bytes.NewReader(data), Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("12-bit JPEG: err = %v, want ErrUnknownFormat", err)
	}
}

func TestZeroSized(t *testing.T) {
	ihdr := []byte{0, 0, 0, 0, 0, 0, 0, 5, 8, 2, 0, 0, 0}
	for name, data := range map[string][]byte{
		"pgm width 0":  []byte("P5 0 10 255\n"),
		"pbm height 0": []byte("P4 8 0\n"),
		"png width 0":  append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...),
		"bmp 0x0":      hugeHeaders(0, 0)["bmp"],
	} {
		_, _, err := Decode(bytes.NewReader(data), Options{})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

// TestPackBitsBomb builds a TIFF whose one PackBits strip expands 64-fold
// past what its 16x16 pixels can hold; x/image/tiff would decode it all.
func TestPackBitsBomb(t *testing.T) {
	strip := bytes.Repeat([]byte{0x81, 0}, 4096) // each pair: 128 zero bytes
	data := buildTIFF(16, 16, compressionPackBits, strip, 0)
	if _, _, err := Decode(bytes.NewReader(data), Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("err = %v, want ErrCorrupt", err)
	}
	// The same strip, honestly sized, decodes.
	ok := buildTIFF(16, 16, compressionPackBits, bytes.Repeat([]byte{0x81, 7}, 16*16*3/128), 0)
	img := mustDecode(t, ok, "tiff")
	if c := img.RGBAAt(15, 15); c != (color.RGBA{7, 7, 7, 255}) {
		t.Errorf("pixel = %v, want {7 7 7 255}", c)
	}
}

func TestJPEGScanLimit(t *testing.T) {
	// A progressive JPEG's header followed by more tiny scans than allowed.
	var b bytes.Buffer
	src := encode(t, func(b *bytes.Buffer) error {
		return jpeg.Encode(b, testPattern(16, 12, false), nil)
	})
	sos := bytes.Index(src, []byte{0xff, 0xda})
	b.Write(src[:sos])
	for i := 0; i <= maxJPEGScans; i++ {
		// SOS for component 1, DC first pass, then one byte of data.
		b.Write([]byte{0xff, 0xda, 0, 8, 1, 1, 0, 0, 0, 0, 0})
	}
	b.Write([]byte{0xff, 0xd9})
	if n := parseJPEG(b.Bytes()).scans; n != maxJPEGScans+1 {
		t.Fatalf("counted %d scans, want %d", n, maxJPEGScans+1)
	}
	if _, _, err := Decode(&b, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}

func TestWebPFrameMismatch(t *testing.T) {
	data, err := os.ReadFile("testdata/pattern.lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	vp8l := data[12:]
	// A VP8X canvas of 4x4 around a 16x12 frame.
	bad := riff(chunk("VP8X", []byte{0, 0, 0, 0, 3, 0, 0, 3, 0, 0}), vp8l)
	if _, _, err := Decode(bytes.NewReader(bad), Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("mismatched canvas: err = %v, want ErrCorrupt", err)
	}
	// The canvas (16 pixels) passes a limit of 100, the frame (192) does not.
	if _, _, err := Decode(bytes.NewReader(bad), Options{MaxPixels: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("frame over the limit: err = %v, want ErrTooLarge", err)
	}
	anim := riff(chunk("VP8X", []byte{0x02, 0, 0, 0, 15, 0, 0, 11, 0, 0}), chunk("ANIM", make([]byte, 6)))
	if _, _, err := Decode(bytes.NewReader(anim), Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("animated: err = %v, want ErrUnknownFormat", err)
	}
}

// TestPanicRecovered checks that a panicking third-party decoder is reported
// as ErrCorrupt, not passed on.
func TestPanicRecovered(t *testing.T) {
	saved := codecs
	defer func() { codecs = saved }()
	boom := func(io.Reader) (image.Image, error) { panic("boom") }
	codecs = []codec{{
		name:   "boom",
		match:  prefix("BOOM"),
		config: func([]byte) (image.Config, error) { return image.Config{Width: 1, Height: 1}, nil },
		decode: stdDecode(boom),
	}}
	_, _, err := Decode(strings.NewReader("BOOM"), Options{})
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, errInternal) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v, want a recovered decoder panic", err)
	}
}

func BenchmarkDecodeJPEG(b *testing.B) {
	data, err := os.ReadFile(sharedFile(b, "data/lfw/deepfunneled/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRejectHugePNG(b *testing.B) {
	data := hugeHeaders(100000, 100000)["png"]
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(bytes.NewReader(data), Options{}); !errors.Is(err, ErrTooLarge) {
			b.Fatal(err)
		}
	}
}
