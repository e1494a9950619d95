package photo

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"runtime"
	"strings"
	"testing"
)

func TestPNM(t *testing.T) {
	// 3x2 images; grey values and colours chosen so every pixel differs.
	grey := []uint8{0, 51, 255, 128, 7, 200}
	rgb := [][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {1, 2, 3}, {250, 128, 0}, {9, 99, 199}}
	bits := []uint8{1, 0, 1, 0, 0, 1} // 1 is black
	bitGrey := func() []uint8 {
		g := make([]uint8, len(bits))
		for i, b := range bits {
			g[i] = 255 * (1 - b)
		}
		return g
	}()

	ascii := func(vals []int) string {
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprint(&b, v)
		}
		return b.String()
	}
	scaled := func(g []uint8, maxval int) []int {
		out := make([]int, len(g))
		for i, v := range g {
			out[i] = int(v) * maxval / 255
		}
		return out
	}
	flat := func() []uint8 {
		var f []uint8
		for _, c := range rgb {
			f = append(f, c[:]...)
		}
		return f
	}()
	u8 := func(g []uint8) []int {
		out := make([]int, len(g))
		for i, v := range g {
			out[i] = int(v)
		}
		return out
	}
	be16 := func(g []uint8) []byte {
		var b []byte
		for _, v := range g {
			w := uint16(v) * 257
			b = append(b, byte(w>>8), byte(w))
		}
		return b
	}

	tests := []struct {
		name, format string
		data         string
		want         []uint8 // grey per pixel, or RGB triples
	}{
		{"P1", "pbm", "P1\n# comment\n3 2\n1 0 1\n0 0 1\n", bitGrey},
		{"P1 packed", "pbm", "P1 3 2 101001", bitGrey},
		{"P4", "pbm", "P4\n3 2\n" + string([]byte{0b10100000, 0b00100000}), bitGrey},
		{"P2", "pgm", "P2\n3 2\n255\n" + ascii(u8(grey)) + "\n", grey},
		{"P2 maxval 15", "pgm", "P2 3 2 15 " + ascii(scaled(grey, 15)), nil},
		{"P5", "pgm", "P5\n3 2\n255\n" + string(grey), grey},
		{"P5 comments", "pgm", "P5 #c1\n3#c2\n2 255\n" + string(grey), grey},
		{"P5 16-bit", "pgm", "P5\n3 2\n65535\n" + string(be16(grey)), grey},
		{"P3", "ppm", "P3\n3 2\n255\n" + ascii(u8(flat)), flat},
		{"P6", "ppm", "P6\n3 2\n255\n" + string(flat), flat},
		{"P6 16-bit", "ppm", "P6\n3 2\n65535\n" + string(be16(flat)), flat},
		{"P3 16-bit", "ppm", "P3 3 2 65535 " + ascii(scaled(flat, 65535)), nil},
		{"trailing data", "pgm", "P5 3 2 255\n" + string(grey) + "P5 1 1 255\n\x00", grey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, format, err := Decode(strings.NewReader(tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
			checkOpaque(t, img)
			if img.Rect != image.Rect(0, 0, 3, 2) {
				t.Fatalf("bounds %v", img.Rect)
			}
			want := tt.want
			if want == nil { // rescaled from a small maxval: within rounding
				want = grey
				if format == "ppm" {
					want = flat
				}
			}
			tol := 0
			if tt.want == nil {
				tol = 255 / 15 // one step of the coarsest maxval used
			}
			for i := 0; i < 6; i++ {
				c := img.RGBAAt(i%3, i/3)
				var w color.RGBA
				if format == "ppm" {
					w = color.RGBA{want[3*i], want[3*i+1], want[3*i+2], 255}
				} else {
					w = color.RGBA{want[i], want[i], want[i], 255}
				}
				if absDiff(c.R, w.R) > tol || absDiff(c.G, w.G) > tol || absDiff(c.B, w.B) > tol {
					t.Errorf("pixel %d = %v, want %v", i, c, w)
				}
			}
		})
	}
}

func TestPNMScale(t *testing.T) {
	for _, maxval := range []int{1, 3, 15, 255, 1000, 65535} {
		s := pnmScale(maxval)
		if s[0] != 0 || s[maxval] != 255 {
			t.Errorf("maxval %d: ends map to %d and %d", maxval, s[0], s[maxval])
		}
		for v := 1; v <= maxval; v++ {
			if s[v] < s[v-1] {
				t.Fatalf("maxval %d: not monotonic at %d", maxval, v)
			}
		}
	}
	// 16-bit values round to the nearest 8-bit one: v/257.
	s := pnmScale(65535)
	for _, v := range []int{0, 128, 129, 257, 385, 386, 65535} {
		if want := uint8((v + 128) / 257); s[v] != want {
			t.Errorf("65535 scale of %d = %d, want %d", v, s[v], want)
		}
	}
}

func TestPNMErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       error
	}{
		{"truncated P5", "P5 3 2 255\n\x00\x00", ErrCorrupt},
		{"truncated P6 16-bit", "P6 1 1 65535\n\x00\x00\x00\x00\x00", ErrCorrupt},
		{"truncated P2", "P2 3 2 255 1 2 3", ErrCorrupt},
		{"truncated P1", "P1 3 2 1 0 1", ErrCorrupt},
		{"truncated header", "P5 3", ErrCorrupt},
		{"comment to EOF", "P5\n#abc", ErrCorrupt}, // hangs github.com/spakin/netpbm
		{"sample over maxval", "P5 1 1 100\n\xff", ErrCorrupt},
		{"ascii sample over maxval", "P2 1 1 100 101", ErrCorrupt},
		{"maxval 0", "P5 1 1 0\n\x00", ErrCorrupt},
		{"maxval 65536", "P5 1 1 65536\n\x00\x00", ErrCorrupt},
		{"garbage in P1", "P1 2 1 0 x", ErrCorrupt},
		{"garbage in P2", "P2 2 1 255 1 x", ErrCorrupt},
		{"no space after maxval", "P5 1 1 255", ErrCorrupt},
		{"letter in width", "P5 1x 1 255\n\x00", ErrCorrupt},
		{"overflowing width", "P5 99999999999999999999999 99999999999999999999 255\n", ErrTooLarge},
		{"huge width, tiny file", "P6 6000 6000 255\n", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(strings.NewReader(tt.data), Options{})
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPNMTinyFileNoAllocation checks a small file claiming a big (but
// allowed) image is refused before the raster buffer is allocated.
func TestPNMTinyFileNoAllocation(t *testing.T) {
	data := []byte("P6 6000 6000 255\n" + strings.Repeat("\x00", 100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := pnmDecode(data)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errPNMTruncated) {
		t.Errorf("err = %v, want errPNMTruncated", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<16 {
		t.Errorf("allocated %d bytes", n)
	}
}
