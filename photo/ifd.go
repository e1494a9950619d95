package photo

import (
	"bytes"
	"encoding/binary"
)

// This file reads a few tags from the first image file directory (IFD0) of a
// TIFF structure: the EXIF orientation of JPEG, WebP and TIFF files, and the
// strip layout of TIFF files. It is written for untrusted bytes: every offset
// is bounds-checked and nothing is allocated from a count before the data it
// describes is known to be there.
//
// A library was considered: github.com/rwcarlsen/goexif (2019) parses every
// tag, and a ~50-byte EXIF block with a large rational count makes it
// allocate tens of gigabytes, which kills the process with an unrecoverable
// "out of memory" fatal error. Only one tag is needed, so a small parser is
// the safer dependency.

// TIFF tags and field types used by the package.
const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagCompression     = 259
	tagStripOffsets    = 273
	tagOrientation     = 274 // 0x0112
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagTileWidth       = 322
	tagTileLength      = 323
	tagTileOffsets     = 324
	tagTileByteCounts  = 325

	typeByte  = 1
	typeShort = 3
	typeLong  = 4
)

// ifd is IFD0 of a TIFF structure. Offsets inside it are relative to the
// start of data (the "II"/"MM" byte-order mark).
type ifd struct {
	data    []byte
	order   binary.ByteOrder
	entries []byte // whole 12-byte entries only
}

// readIFD0 locates IFD0 in data. It fails on a bad header or an IFD offset
// outside data; a directory cut short by the end of data keeps the entries
// that are complete.
func readIFD0(data []byte) (ifd, bool) {
	if len(data) < 8 {
		return ifd{}, false
	}
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte("II*\x00")):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte("MM\x00*")):
		order = binary.BigEndian
	default:
		return ifd{}, false
	}
	off := uint64(order.Uint32(data[4:8]))
	if off+2 > uint64(len(data)) {
		return ifd{}, false
	}
	n := uint64(order.Uint16(data[off:]))
	start := off + 2
	end := min(start+12*n, uint64(len(data)))
	end -= (end - start) % 12
	return ifd{data: data, order: order, entries: data[start:end]}, true
}

// entry returns the type, count and 4-byte value field of tag.
func (d ifd) entry(tag uint16) (typ uint16, count uint32, field []byte, ok bool) {
	for e := d.entries; len(e) >= 12; e = e[12:] {
		if d.order.Uint16(e) == tag {
			return d.order.Uint16(e[2:]), d.order.Uint32(e[4:]), e[8:12], true
		}
	}
	return 0, 0, nil, false
}

// uints returns the values of a BYTE, SHORT or LONG tag, or nil when the tag
// is missing, has another type, or its values lie outside data.
func (d ifd) uints(tag uint16) []uint64 {
	typ, count, field, ok := d.entry(tag)
	if !ok {
		return nil
	}
	var size uint64
	switch typ {
	case typeByte:
		size = 1
	case typeShort:
		size = 2
	case typeLong:
		size = 4
	default:
		return nil
	}
	n := size * uint64(count)
	raw := field
	if n > 4 {
		off := uint64(d.order.Uint32(field))
		if off > uint64(len(d.data)) || n > uint64(len(d.data))-off {
			return nil
		}
		raw = d.data[off : off+n]
	}
	vals := make([]uint64, count)
	for i := range vals {
		switch size {
		case 1:
			vals[i] = uint64(raw[i])
		case 2:
			vals[i] = uint64(d.order.Uint16(raw[2*i:]))
		case 4:
			vals[i] = uint64(d.order.Uint32(raw[4*i:]))
		}
	}
	return vals
}

// first returns the first value of a BYTE, SHORT or LONG tag, or 0.
func (d ifd) first(tag uint16) uint64 {
	if v := d.uints(tag); len(v) > 0 {
		return v[0]
	}
	return 0
}

// exifOrientation returns the orientation in a TIFF-structured EXIF block, or
// 1 when it is missing or invalid. Like browsers, it accepts only the form the
// EXIF standard prescribes: one SHORT with a value 1-8.
func exifOrientation(tiffData []byte) int {
	d, ok := readIFD0(tiffData)
	if !ok {
		return 1
	}
	typ, count, field, ok := d.entry(tagOrientation)
	if !ok || typ != typeShort || count != 1 {
		return 1
	}
	if o := int(d.order.Uint16(field)); o >= 1 && o <= 8 {
		return o
	}
	return 1
}

// tiffOrientation is the orientation of a TIFF file, read from its own IFD0.
func tiffOrientation(data []byte) int { return exifOrientation(data) }
