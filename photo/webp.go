package photo

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// webpInfo is what the package needs from a WebP's RIFF chunks.
type webpInfo struct {
	extended       bool // has a VP8X chunk
	animated       bool
	canvasW        int // from VP8X
	canvasH        int
	hasFrame       bool // a VP8 or VP8L chunk with a readable size was found
	frameW, frameH int
	exif           []byte // TIFF structure of the EXIF chunk, or nil
}

// parseWebP walks the chunks of a RIFF WebP container. It stops quietly at
// the first malformed chunk; the decoder reports real errors.
func parseWebP(data []byte) webpInfo {
	var info webpInfo
	if len(data) < 12 {
		return info
	}
	end := len(data)
	if n := 8 + uint64(binary.LittleEndian.Uint32(data[4:8])); n < uint64(end) {
		end = int(n)
	}
	for pos := 12; pos+8 <= end; {
		id := string(data[pos : pos+4])
		size := uint64(binary.LittleEndian.Uint32(data[pos+4 : pos+8]))
		start := pos + 8
		truncated := size > uint64(end-start)
		p := data[start:end]
		if !truncated {
			p = p[:size]
		}
		switch id {
		case "VP8X":
			if len(p) >= 10 && !info.extended {
				info.extended = true
				info.animated = p[0]&0x02 != 0
				info.canvasW = 1 + int(uint32(p[4])|uint32(p[5])<<8|uint32(p[6])<<16)
				info.canvasH = 1 + int(uint32(p[7])|uint32(p[8])<<8|uint32(p[9])<<16)
			}
		case "VP8 ":
			// Frame tag (3 bytes), start code 9d 01 2a, 14-bit width and
			// height (the top two bits are scaling hints).
			if !info.hasFrame && len(p) >= 10 && p[3] == 0x9d && p[4] == 0x01 && p[5] == 0x2a {
				info.hasFrame = true
				info.frameW = int(binary.LittleEndian.Uint16(p[6:8]) & 0x3fff)
				info.frameH = int(binary.LittleEndian.Uint16(p[8:10]) & 0x3fff)
			}
		case "VP8L":
			// Signature 0x2f, then 14-bit width-1 and 14-bit height-1.
			if !info.hasFrame && len(p) >= 5 && p[0] == 0x2f {
				bits := binary.LittleEndian.Uint32(p[1:5])
				info.hasFrame = true
				info.frameW = 1 + int(bits&0x3fff)
				info.frameH = 1 + int(bits>>14&0x3fff)
			}
		case "EXIF":
			if info.exif == nil {
				// The spec says the chunk holds the TIFF structure, but some
				// writers keep JPEG's "Exif\0\0" prefix.
				info.exif = bytes.TrimPrefix(p, []byte("Exif\x00\x00"))
			}
		}
		if truncated {
			break
		}
		pos = start + int(size) + int(size&1) // chunks are padded to an even size
	}
	return info
}

// checkWebP rejects animations, which golang.org/x/image/webp cannot decode,
// and frames that disagree with the VP8X canvas: the decoder sizes the
// frame from the frame header but the alpha plane from the canvas, and only
// the canvas size went through the pixel limit.
func checkWebP(data []byte, maxPixels int) error {
	info := parseWebP(data)
	if info.animated {
		return fmt.Errorf("animated WebP is not supported: %w", ErrUnknownFormat)
	}
	if !info.hasFrame {
		return nil
	}
	if n := int64(info.frameW) * int64(info.frameH); n > int64(maxPixels) {
		return fmt.Errorf("frame is %dx%d = %d pixels, limit is %d: %w", info.frameW, info.frameH, n, maxPixels, ErrTooLarge)
	}
	if info.extended && (info.frameW != info.canvasW || info.frameH != info.canvasH) {
		return fmt.Errorf("frame is %dx%d but the canvas is %dx%d: %w",
			info.frameW, info.frameH, info.canvasW, info.canvasH, ErrCorrupt)
	}
	return nil
}

// webpOrientation is the EXIF orientation of a WebP, 1 when absent.
func webpOrientation(data []byte) int {
	if exif := parseWebP(data).exif; exif != nil {
		return exifOrientation(exif)
	}
	return 1
}
