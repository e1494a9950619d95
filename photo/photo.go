// Package photo turns user photos into RGB pixels for the face pipeline.
//
// Photos come from phones, scanners and the web, and also from attackers, so
// decoding is defensive: the input size is capped, the pixel count is checked
// from the header before any pixels are decoded, decoder panics are recovered,
// and every failure is reported through one of three sentinel errors
// (ErrTooLarge, ErrUnknownFormat, ErrCorrupt) that callers can test with
// errors.Is.
//
// Supported formats: JPEG (8-bit baseline and progressive), PNG, GIF (the
// first frame, at its own size rather than composited onto the GIF's logical
// screen), WebP (still images), BMP, TIFF (first image) and the Netpbm
// formats PBM, PGM and PPM (P1-P6, 8 and 16 bit). The EXIF orientation of
// JPEG, TIFF and WebP files is applied, so the returned image is upright as a
// browser or phone would show it. PNG eXIf chunks are not read.
package photo

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
)

// DefaultMaxPixels is the pixel limit used when Options.MaxPixels is zero.
// Forty megapixels is above the output of phone cameras in common use, while
// the memory to decode one (4 bytes a pixel for the result, plus the
// decoder's own buffers) stays within about a gigabyte.
const DefaultMaxPixels = 40_000_000

// DefaultMaxBytes is the input size limit used when Options.MaxBytes is zero.
const DefaultMaxBytes = 100 << 20

// Options controls decoding. The zero value is usable.
type Options struct {
	// MaxPixels rejects images whose width*height is above it, before their
	// pixels are decoded. Zero or negative means DefaultMaxPixels.
	MaxPixels int
	// MaxBytes rejects inputs longer than this many bytes. Zero or negative
	// means DefaultMaxBytes.
	MaxBytes int64
	// IgnoreOrientation returns the pixels in stored order, without applying
	// the EXIF orientation.
	IgnoreOrientation bool
}

func (o Options) withDefaults() Options {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return o
}

// Errors reported by Decode. They are wrapped with details (the format, the
// dimensions, the underlying decoder error), so test them with errors.Is.
var (
	// ErrTooLarge means the input has more bytes, or the image more pixels,
	// than the Options allow, or that decoding it would take unreasonable
	// work (a JPEG with hundreds of scans).
	ErrTooLarge = errors.New("image too large")
	// ErrUnknownFormat means the input is not an image in a supported format
	// (or uses an unsupported feature of one, such as 12-bit JPEG).
	ErrUnknownFormat = errors.New("unknown or unsupported image format")
	// ErrCorrupt means the input looks like a supported format but is
	// truncated or malformed.
	ErrCorrupt = errors.New("corrupt image data")

	// errInternal marks a panic recovered from the package's own code.
	errInternal = errors.New("bug in package photo")
)

// Decode reads one image from r and returns it as an upright, opaque RGBA
// image whose bounds start at (0, 0), together with the format name: "jpeg",
// "png", "gif", "webp", "bmp", "tiff", "pbm", "pgm" or "ppm".
//
// Grey images are expanded to RGB. Alpha is dropped: every returned pixel
// has A=255. Where a format stores colour and alpha separately (PNG, WebP,
// BMP, TIFF with unassociated alpha), each pixel keeps its stored colour
// whatever its alpha, so a fully transparent pixel shows the colour the
// encoder left under it; this is the most faithful choice and does not invent
// a background. Where colour is premultiplied or absent (TIFF with associated
// alpha, the transparent colour index of a GIF), translucent pixels are
// un-premultiplied and fully transparent ones come out black.
//
// Unless opt.IgnoreOrientation is set, the EXIF orientation (tag 0x0112) of a
// JPEG, TIFF or WebP is applied; orientations 5-8 swap width and height.
//
// Errors wrap ErrTooLarge, ErrUnknownFormat or ErrCorrupt, except for errors
// from reading r, which are returned as they are (wrapped). When the format
// was recognised before the failure, it is returned along with the error.
func Decode(r io.Reader, opt Options) (*image.RGBA, string, error) {
	img, format, err := decode(r, opt.withDefaults())
	if err != nil {
		return nil, format, fmt.Errorf("photo: %w", err)
	}
	return img, format, nil
}

// DecodeFile is Decode for the file at path. A file larger than opt.MaxBytes
// is refused from its size alone, without reading it.
func DecodeFile(path string, opt Options) (*image.RGBA, string, error) {
	opt = opt.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("photo: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > opt.MaxBytes {
		return nil, "", fmt.Errorf("photo: %s: file is %d bytes, limit is %d: %w", path, st.Size(), opt.MaxBytes, ErrTooLarge)
	}
	img, format, err := decode(f, opt)
	if err != nil {
		return nil, format, fmt.Errorf("photo: %s: %w", path, err)
	}
	return img, format, nil
}

// decode is Decode without the package prefix on errors; opt has its
// defaults filled in.
func decode(r io.Reader, opt Options) (*image.RGBA, string, error) {
	if r == nil {
		return nil, "", errors.New("nil reader")
	}
	// Read at most one byte past the limit: that is enough to know the input
	// is too long without buffering an attacker's endless stream.
	limit := opt.MaxBytes
	if limit < math.MaxInt64 {
		limit++
	}
	data, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, "", fmt.Errorf("reading input: %w", err)
	}
	if int64(len(data)) > opt.MaxBytes {
		return nil, "", fmt.Errorf("input is more than %d bytes: %w", opt.MaxBytes, ErrTooLarge)
	}
	return decodeBytes(data, opt)
}

// decodeBytes decodes a whole in-memory input; opt has its defaults filled in.
func decodeBytes(data []byte, opt Options) (img *image.RGBA, format string, err error) {
	if len(data) == 0 {
		return nil, "", fmt.Errorf("empty input: %w", ErrUnknownFormat)
	}
	c := sniff(data)
	if c == nil {
		return nil, "", fmt.Errorf("input does not start with the signature of a supported image format: %w", ErrUnknownFormat)
	}
	format = c.name
	// Panics in third-party decoders are recovered where they are called
	// (see stdDecode). This is the safety net for the package's own code: a
	// panic here is a bug, reported as errInternal so that the fuzz test can
	// tell it apart, and as ErrCorrupt because the input triggered it.
	defer func() {
		if p := recover(); p != nil {
			img = nil
			err = fmt.Errorf("%s: internal error (%v): %w: %w", format, p, ErrCorrupt, errInternal)
		}
	}()

	cfg, err := c.config(data)
	if err != nil {
		return nil, format, classify(format, "reading header", err)
	}
	if err := checkSize(format, cfg.Width, cfg.Height, opt.MaxPixels); err != nil {
		return nil, format, err
	}
	if c.check != nil {
		if err := c.check(data, opt.MaxPixels); err != nil {
			return nil, format, classify(format, "checking structure", err)
		}
	}
	m, err := c.decode(data)
	if err != nil {
		return nil, format, classify(format, "decoding", err)
	}
	// The header was checked, but a decoder could still disagree with its
	// own DecodeConfig; never hand on something the limits forbid.
	b := m.Bounds()
	if err := checkSize(format, b.Dx(), b.Dy(), opt.MaxPixels); err != nil {
		return nil, format, err
	}
	out := toRGBA(m)
	if !opt.IgnoreOrientation && c.orientation != nil {
		out = orient(out, c.orientation(data))
	}
	return out, format, nil
}

// checkSize rejects empty images and images with more than maxPixels pixels.
func checkSize(format string, w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%s: image is %dx%d pixels, which is empty: %w", format, w, h, ErrCorrupt)
	}
	// int64 so that two 31-bit dimensions cannot overflow on any platform.
	if n := int64(w) * int64(h); n > int64(maxPixels) {
		return fmt.Errorf("%s: image is %dx%d = %d pixels, limit is %d: %w", format, w, h, n, maxPixels, ErrTooLarge)
	}
	return nil
}
