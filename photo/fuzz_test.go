package photo

import (
	"bytes"
	"errors"
	"image"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. The seed corpus in
// testdata/fuzz/FuzzDecode holds small valid files of every format and
// mutations of them. Run with: go test -fuzz=FuzzDecode ./photo
func FuzzDecode(f *testing.F) {
	// A small pixel limit keeps each run cheap; the limit logic is the same.
	opt := Options{MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Alternate orientation on and off to cover both paths.
		opt := opt
		opt.IgnoreOrientation = len(data)%2 == 1
		img, format, err := Decode(bytes.NewReader(data), opt)
		if errors.Is(err, errInternal) {
			t.Fatalf("panic in package photo: %v", err)
		}
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnknownFormat) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if format == "" {
			t.Fatal("no format name")
		}
		w, h := img.Rect.Dx(), img.Rect.Dy()
		if img.Rect.Min != (image.Point{}) || w <= 0 || h <= 0 || w*h > opt.MaxPixels {
			t.Fatalf("bad bounds %v (limit %d pixels)", img.Rect, opt.MaxPixels)
		}
		if img.Stride < 4*w || len(img.Pix) < (h-1)*img.Stride+4*w {
			t.Fatalf("pixel buffer of %d bytes, stride %d, too small for %v", len(img.Pix), img.Stride, img.Rect)
		}
		for y := 0; y < h; y++ {
			row := img.Pix[y*img.Stride:][:4*w]
			for x := 3; x < len(row); x += 4 {
				if row[x] != 0xff {
					t.Fatalf("pixel (%d, %d) has alpha %d", x/4, y, row[x])
				}
			}
		}
		if tt := ToTensor(img); len(tt.Data) != h*w*3 {
			t.Fatalf("tensor of %d values for %dx%d", len(tt.Data), w, h)
		}
	})
}
