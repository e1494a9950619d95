package photo

import (
	"bytes"
	"fmt"
)

// maxJPEGScans bounds the number of scans (SOS segments) in a JPEG. The Go
// decoder walks every block of the image for each scan, so a small file made
// of thousands of tiny progressive scans over a large image is a CPU bomb.
// Real encoders write one scan (baseline) or about ten (progressive); 500 is
// far above any of them.
const maxJPEGScans = 500

// jpegInfo is what the package needs from a JPEG's marker structure.
type jpegInfo struct {
	exif  []byte // TIFF structure of the first Exif APP1 segment, or nil
	scans int    // number of SOS segments
}

// parseJPEG walks the marker segments of a JPEG. It is lenient in the same
// way as image/jpeg (stray bytes between segments are skipped) and simply
// stops at the first thing it cannot follow; the decoder reports real errors.
func parseJPEG(data []byte) jpegInfo {
	var info jpegInfo
	pos := 2 // after SOI
	for pos < len(data) {
		// Find the next marker: 0xFF, optional 0xFF fill bytes, a code.
		i := bytes.IndexByte(data[pos:], 0xff)
		if i < 0 {
			break
		}
		pos += i
		for pos < len(data) && data[pos] == 0xff {
			pos++
		}
		if pos >= len(data) {
			break
		}
		marker := data[pos]
		pos++
		switch {
		case marker == 0xd9: // EOI
			return info
		case marker == 0x00 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			continue // stuffed byte, TEM, RSTn: no length field
		}
		if pos+2 > len(data) {
			break
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		if n < 2 || pos+n > len(data) {
			break
		}
		payload := data[pos+2 : pos+n]
		pos += n
		switch marker {
		case 0xe1: // APP1: Exif, but also XMP, which can come first
			if info.exif == nil && info.scans == 0 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
				info.exif = payload[6:]
			}
		case 0xda: // SOS: entropy-coded data follows up to the next marker
			info.scans++
			pos = skipEntropyData(data, pos)
		}
	}
	return info
}

// skipEntropyData returns the position of the first marker at or after pos,
// skipping entropy-coded bytes. Inside them 0xFF is always followed by a
// stuffed 0x00 or a restart marker, so anything else after 0xFF is a marker.
func skipEntropyData(data []byte, pos int) int {
	for {
		i := bytes.IndexByte(data[pos:], 0xff)
		if i < 0 || pos+i+1 >= len(data) {
			return len(data)
		}
		pos += i
		if m := data[pos+1]; m != 0x00 && (m < 0xd0 || m > 0xd7) {
			return pos
		}
		pos += 2
	}
}

// checkJPEG refuses JPEGs with more scans than maxJPEGScans.
func checkJPEG(data []byte, _ int) error {
	if n := parseJPEG(data).scans; n > maxJPEGScans {
		return fmt.Errorf("%d scans, limit is %d: %w", n, maxJPEGScans, ErrTooLarge)
	}
	return nil
}

// jpegOrientation is the EXIF orientation of a JPEG, 1 when absent.
func jpegOrientation(data []byte) int {
	if exif := parseJPEG(data).exif; exif != nil {
		return exifOrientation(exif)
	}
	return 1
}
