package browsertest

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"os"
)

// WriteY4M writes img as a still YUV4MPEG2 video of frames identical
// frames at 25 frames/s: the format Chromium's fake webcam plays
// (--use-file-for-fake-video-capture), which loops it.
//
// The planes are 4:2:0 with each chroma sample the mean of its 2×2 block
// (centred, the "420jpeg" siting) in BT.601 limited range (Y 16..235),
// which is how Chromium reads I420 from a file; full-range values would
// come out of the camera with crushed blacks and clipped whites. Both sides
// of img must be even.
func WriteY4M(w io.Writer, img image.Image, frames int) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 {
		return fmt.Errorf("browsertest: y4m: image is %d×%d; both sides must be positive and even", width, height)
	}
	if frames < 1 {
		return fmt.Errorf("browsertest: y4m: %d frames; need at least one", frames)
	}
	y, cb, cr := planes(img)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\n", width, height)
	for range frames {
		bw.WriteString("FRAME\n")
		bw.Write(y)
		bw.Write(cb)
		bw.Write(cr)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("browsertest: y4m: %w", err)
	}
	return nil
}

// WriteY4MFile is WriteY4M into a new file at path.
func WriteY4MFile(path string, img image.Image, frames int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("browsertest: y4m: %w", err)
	}
	if err := WriteY4M(f, img, frames); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("browsertest: y4m: %w", err)
	}
	return nil
}

// planes converts img (even sides) to limited-range BT.601 Y, Cb, Cr
// planes, the chroma ones at half resolution.
func planes(img image.Image) (y, cb, cr []byte) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	y = make([]byte, w*h)
	cb = make([]byte, w*h/4)
	cr = make([]byte, w*h/4)
	// Chroma is summed over each 2×2 block, then averaged.
	sumCb := make([]float64, w*h/4)
	sumCr := make([]float64, w*h/4)
	for j := range h {
		for i := range w {
			r16, g16, b16, _ := img.At(b.Min.X+i, b.Min.Y+j).RGBA()
			// RGBA is alpha-premultiplied; a transparent pixel comes out
			// black, as it would on a screen.
			r, g, bl := float64(r16)/0xffff, float64(g16)/0xffff, float64(b16)/0xffff
			y[j*w+i] = clamp8(16 + 65.481*r + 128.553*g + 24.966*bl)
			k := (j/2)*(w/2) + i/2
			sumCb[k] += 128 - 37.797*r - 74.203*g + 112*bl
			sumCr[k] += 128 + 112*r - 93.786*g - 18.214*bl
		}
	}
	for k := range sumCb {
		cb[k] = clamp8(sumCb[k] / 4)
		cr[k] = clamp8(sumCr[k] / 4)
	}
	return y, cb, cr
}

func clamp8(v float64) byte {
	v += 0.5
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return byte(v)
}
