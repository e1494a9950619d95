package photo

import "fmt"

// compressionPackBits is the TIFF Compression value of PackBits.
const compressionPackBits = 32773

// checkTIFF guards against PackBits bombs. golang.org/x/image/tiff caps the
// output of LZW, Deflate and CCITT strips at what a strip can hold, but
// decodes PackBits strips without a bound, and PackBits expands two bytes
// into 128: a 100 MiB file could demand 6 GiB. This check replays the
// PackBits run lengths (without allocating) and refuses a strip that expands
// beyond the decoder's own per-strip cap, or strips that overlap so that the
// same bytes would be expanded again and again.
//
// It mirrors the strip and tile layout logic of the decoder; where the layout
// is invalid it returns nil and leaves the error to the decoder.
func checkTIFF(data []byte, _ int) error {
	d, ok := readIFD0(data)
	if !ok || d.first(tagCompression) != compressionPackBits {
		return nil
	}
	w, h := d.first(tagImageWidth), d.first(tagImageLength)
	if w == 0 || h == 0 {
		return nil
	}
	var bw, bh, across, down uint64
	var offsets, counts []uint64
	if tw := d.first(tagTileWidth); tw != 0 {
		bw, bh = tw, d.first(tagTileLength)
		if bw < 8 || bh < 8 {
			return nil
		}
		across, down = (w+bw-1)/bw, (h+bh-1)/bh
		offsets, counts = d.uints(tagTileOffsets), d.uints(tagTileByteCounts)
	} else {
		bw, bh = w, h
		if rps := d.first(tagRowsPerStrip); rps != 0 {
			bh = rps
		}
		across, down = 1, (h+bh-1)/bh
		offsets, counts = d.uints(tagStripOffsets), d.uints(tagStripByteCounts)
	}
	// w and h passed the pixel limit, so these products cannot overflow.
	n := across * down
	if uint64(len(offsets)) < n || uint64(len(counts)) < n {
		return nil
	}
	// The decoder's cap: 8 bytes (RGBA64) for every pixel of a strip; bw and
	// bh come from tags and may each be up to 2^32, so saturate.
	limit := uint64(1) << 62
	if bw < 1<<28 && bh < 1<<28 {
		limit = bw * bh * 8
	}
	var total uint64
	for i := uint64(0); i < n; i++ {
		off, cnt := offsets[i], counts[i]
		if off >= uint64(len(data)) {
			continue // the decoder finds nothing there
		}
		cnt = min(cnt, uint64(len(data))-off)
		total += cnt
		if total > uint64(len(data)) {
			return fmt.Errorf("PackBits strips overlap: %w", ErrCorrupt)
		}
		if got := packBitsLen(data[off:off+cnt], limit); got > limit {
			return fmt.Errorf("PackBits strip %d expands to more than %d bytes: %w", i, limit, ErrCorrupt)
		}
	}
	return nil
}

// packBitsLen returns the decoded length of PackBits data, stopping as soon
// as it passes limit.
func packBitsLen(src []byte, limit uint64) uint64 {
	var n uint64
	for i := 0; i < len(src) && n <= limit; {
		c := int8(src[i])
		i++
		switch {
		case c >= 0: // literal run of c+1 bytes
			n += uint64(c) + 1
			i += int(c) + 1
		case c == -128: // no-op
		default: // one byte repeated 1-c times
			n += uint64(1 - int(c))
			i++
		}
	}
	return n
}
