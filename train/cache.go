package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// cacheMagic starts every chip file; the digit is the format version.
const cacheMagic = "FRCHIP1\n"

// cacheKey names the cached chip of the image at path: a hash of its
// absolute path, size and modification time (so an edited or replaced image
// is aligned again) and of the output shape.
func cacheKey(path string, size, channels int) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	h := sha256.New()
	for _, s := range []string{abs, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(fi.ModTime().UnixNano(), 10),
		strconv.Itoa(size), strconv.Itoa(channels)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cachePath spreads the files over 256 sub-folders so that no folder
// holds the whole of LFW.
func cachePath(dir, key string) string { return filepath.Join(dir, key[:2], key+".chip") }

// readCache returns the cached chip for key if there is a valid one of the
// given shape. A missing, truncated or foreign file is a miss, not an
// error: the chip is then aligned again and the file rewritten.
func readCache(dir, key string, shape []int) ([]uint8, bool) {
	b, err := os.ReadFile(cachePath(dir, key))
	if err != nil {
		return nil, false
	}
	n := shape[0] * shape[1] * shape[2]
	if len(b) != len(cacheMagic)+12+n || !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, false
	}
	hdr := b[len(cacheMagic):]
	for i, want := range shape {
		if binary.LittleEndian.Uint32(hdr[4*i:]) != uint32(want) {
			return nil, false
		}
	}
	return b[len(cacheMagic)+12:], true
}

// writeCache stores a chip: magic, height, width, channels (uint32 little
// endian), then the bytes. It writes a temporary file and renames it, so a
// concurrent reader or a crash never sees half a chip.
func writeCache(dir, key string, shape []int, pix []uint8) error {
	p := cachePath(dir, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("chip cache: %w", err)
	}
	buf := make([]byte, 0, len(cacheMagic)+12+len(pix))
	buf = append(buf, cacheMagic...)
	for _, v := range shape {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v))
	}
	buf = append(buf, pix...)
	f, err := os.CreateTemp(filepath.Dir(p), key+".*.tmp")
	if err != nil {
		return fmt.Errorf("chip cache: %w", err)
	}
	_, werr := f.Write(buf)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("chip cache: %w", werr)
	}
	return nil
}
