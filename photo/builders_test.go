package photo

import (
	"bytes"
	"encoding/binary"
)

// Builders of small, byte-exact test files for the containers whose
// structure the package reads itself (TIFF IFDs, EXIF, RIFF).

// buildTIFF writes a little-endian baseline 8-bit RGB TIFF of w x h with one
// strip holding strip (which may be short or empty, for header-only tests),
// and an Orientation tag when orientation is not 0.
func buildTIFF(w, h, compression int, strip []byte, orientation int) []byte {
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	const short, long = 3, 4
	entries := []entry{
		{tagImageWidth, long, 1, uint32(w)},
		{tagImageLength, long, 1, uint32(h)},
		{258, short, 3, 0}, // BitsPerSample: offset filled in below
		{tagCompression, short, 1, uint32(compression)},
		{262, short, 1, 2}, // PhotometricInterpretation: RGB
		{tagStripOffsets, long, 1, 0},
	}
	if orientation != 0 {
		entries = append(entries, entry{tagOrientation, short, 1, uint32(orientation)})
	}
	entries = append(entries,
		entry{277, short, 1, 3}, // SamplesPerPixel
		entry{tagRowsPerStrip, long, 1, uint32(h)},
		entry{tagStripByteCounts, long, 1, uint32(len(strip))},
	)
	ifdEnd := 8 + 2 + 12*len(entries) + 4
	bpsOffset := ifdEnd
	stripOffset := bpsOffset + 6
	le := binary.LittleEndian
	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		switch e.tag {
		case 258:
			e.value = uint32(bpsOffset)
		case tagStripOffsets:
			e.value = uint32(stripOffset)
		}
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, e.count)
		if e.typ == short && e.count == 1 {
			b = le.AppendUint16(b, uint16(e.value))
			b = le.AppendUint16(b, 0)
		} else {
			b = le.AppendUint32(b, e.value)
		}
	}
	b = le.AppendUint32(b, 0) // no next IFD
	b = append(b, 8, 0, 8, 0, 8, 0)
	return append(b, strip...)
}

// exifTIFF is a TIFF-structured EXIF block whose IFD0 holds one Orientation
// entry of the given type and value, in the given byte order.
func exifTIFF(order binary.AppendByteOrder, typ uint16, orientation int) []byte {
	var b []byte
	if order == binary.AppendByteOrder(binary.BigEndian) {
		b = []byte("MM\x00*")
	} else {
		b = []byte("II*\x00")
	}
	b = order.AppendUint32(b, 8)
	b = order.AppendUint16(b, 1)
	b = order.AppendUint16(b, tagOrientation)
	b = order.AppendUint16(b, typ)
	b = order.AppendUint32(b, 1)
	if typ == typeLong {
		b = order.AppendUint32(b, uint32(orientation))
	} else {
		b = order.AppendUint16(b, uint16(orientation))
		b = order.AppendUint16(b, 0)
	}
	return order.AppendUint32(b, 0)
}

// jpegWithAPP1 inserts APP1 segments with the given payloads right after a
// JPEG's SOI marker.
func jpegWithAPP1(jpg []byte, payloads ...[]byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for _, p := range payloads {
		out = append(out, 0xff, 0xe1, byte((len(p)+2)>>8), byte(len(p)+2))
		out = append(out, p...)
	}
	return append(out, jpg[2:]...)
}

// chunk frames a RIFF chunk, padded to an even length.
func chunk(id string, payload []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	b = append(b, payload...)
	if len(payload)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff wraps chunks in a RIFF WEBP container.
func riff(chunks ...[]byte) []byte {
	body := append([]byte("WEBP"), bytes.Join(chunks, nil)...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}
