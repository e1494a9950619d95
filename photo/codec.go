package photo

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// A codec is one supported format. The package dispatches on its own table
// rather than through image.RegisterFormat so that what Decode accepts does
// not depend on which packages happen to be linked into the binary.
type codec struct {
	name   string
	match  func(data []byte) bool
	config func(data []byte) (image.Config, error)
	decode func(data []byte) (image.Image, error)
	// check, if set, runs after the header's size has passed the pixel limit
	// and before decoding; it catches inputs that would make the decoder
	// allocate or compute far beyond what the header promises.
	check func(data []byte, maxPixels int) error
	// orientation, if set, returns the EXIF orientation 1-8 (1 when absent).
	orientation func(data []byte) int
}

var codecs = []codec{
	{
		name:        "jpeg",
		match:       prefix("\xff\xd8"),
		config:      stdConfig(jpeg.DecodeConfig),
		decode:      stdDecode(jpeg.Decode),
		check:       checkJPEG,
		orientation: jpegOrientation,
	},
	{
		name:   "png",
		match:  prefix("\x89PNG\r\n\x1a\n"),
		config: stdConfig(png.DecodeConfig),
		decode: stdDecode(png.Decode),
	},
	{
		name:   "gif",
		match:  func(d []byte) bool { return prefix("GIF87a")(d) || prefix("GIF89a")(d) },
		config: stdConfig(gif.DecodeConfig),
		// gif.Decode returns the first frame only and stops reading there,
		// so an animation with many frames costs no more than one.
		decode: stdDecode(gif.Decode),
	},
	{
		name:        "webp",
		match:       func(d []byte) bool { return len(d) >= 12 && string(d[:4]) == "RIFF" && string(d[8:12]) == "WEBP" },
		config:      stdConfig(webp.DecodeConfig),
		decode:      stdDecode(webp.Decode),
		check:       checkWebP,
		orientation: webpOrientation,
	},
	{
		name:   "bmp",
		match:  matchBMP,
		config: stdConfig(bmp.DecodeConfig),
		decode: stdDecode(bmp.Decode),
	},
	{
		name:        "tiff",
		match:       func(d []byte) bool { return prefix("II*\x00")(d) || prefix("MM\x00*")(d) },
		config:      stdConfig(tiff.DecodeConfig),
		decode:      stdDecode(tiff.Decode),
		check:       checkTIFF,
		orientation: tiffOrientation,
	},
	{name: "pbm", match: matchPNM('1', '4'), config: pnmConfig, decode: pnmDecode},
	{name: "pgm", match: matchPNM('2', '5'), config: pnmConfig, decode: pnmDecode},
	{name: "ppm", match: matchPNM('3', '6'), config: pnmConfig, decode: pnmDecode},
}

// sniff returns the codec whose signature starts data, or nil.
func sniff(data []byte) *codec {
	for i := range codecs {
		if codecs[i].match(data) {
			return &codecs[i]
		}
	}
	return nil
}

func prefix(sig string) func([]byte) bool {
	return func(d []byte) bool { return bytes.HasPrefix(d, []byte(sig)) }
}

// matchBMP wants more than "BM", which also starts plenty of text: the
// info-header size that follows the 14-byte file header must be one of the
// sizes BMP versions define.
func matchBMP(d []byte) bool {
	if len(d) < 18 || d[0] != 'B' || d[1] != 'M' {
		return false
	}
	switch uint32(d[14]) | uint32(d[15])<<8 | uint32(d[16])<<16 | uint32(d[17])<<24 {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// matchPNM matches the Netpbm magic "P<plain>" or "P<raw>" followed by
// whitespace and, after any further whitespace and comments, the digits of
// the width (or the end of a truncated input), so that text such as
// "P1 is ..." is not taken for an image.
func matchPNM(plain, raw byte) func([]byte) bool {
	return func(d []byte) bool {
		if len(d) < 3 || d[0] != 'P' || (d[1] != plain && d[1] != raw) || !isPNMSpace(d[2]) {
			return false
		}
		s := pnmScanner{data: d, pos: 2}
		s.skip()
		return s.pos == len(d) || d[s.pos] >= '0' && d[s.pos] <= '9'
	}
}

// stdConfig and stdDecode adapt the reader-based decoders of the standard
// library and golang.org/x/image. They are not hardened against every
// malformed input, so a panic in one of them is turned into ErrCorrupt: it
// means the input is bad, not that the server should die.
func stdConfig(f func(io.Reader) (image.Config, error)) func([]byte) (image.Config, error) {
	return func(d []byte) (cfg image.Config, err error) {
		defer recoverCorrupt(&err)
		return f(bytes.NewReader(d))
	}
}

func stdDecode(f func(io.Reader) (image.Image, error)) func([]byte) (image.Image, error) {
	return func(d []byte) (m image.Image, err error) {
		defer recoverCorrupt(&err)
		return f(bytes.NewReader(d))
	}
}

// recoverCorrupt, deferred, turns a panic into an ErrCorrupt error in *err.
func recoverCorrupt(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("decoder panicked (%v): %w", p, ErrCorrupt)
	}
}

// classify wraps a decoder error with the sentinel it belongs to. Errors that
// already carry one of the package's sentinels keep it.
func classify(format, stage string, err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("%s: %s: %w", format, stage, err)
	}
	sentinel := ErrCorrupt
	if unsupported(err) {
		sentinel = ErrUnknownFormat
	}
	return fmt.Errorf("%s: %s: %w: %w", format, stage, sentinel, err)
}

// unsupported reports whether err says the input is valid but uses a feature
// the decoder lacks (12-bit JPEG, exotic TIFF compression, ...).
func unsupported(err error) bool {
	var (
		je jpeg.UnsupportedError
		pe png.UnsupportedError
		te tiff.UnsupportedError
	)
	return errors.As(err, &je) || errors.As(err, &pe) || errors.As(err, &te) ||
		errors.Is(err, bmp.ErrUnsupported)
}
