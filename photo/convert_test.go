package photo

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"os"
	"testing"

	"github.com/facerec/facerec/tensor"
)

func TestToTensor(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(10*x + y), uint8(100 + x), uint8(200 + y), 7})
		}
	}
	tt := ToTensor(img)
	if len(tt.Shape) != 3 || tt.Shape[0] != 2 || tt.Shape[1] != 3 || tt.Shape[2] != 3 {
		t.Fatalf("shape %v, want [2 3 3]", tt.Shape)
	}
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			c := img.RGBAAt(x, y)
			got := tt.Data[(y*3+x)*3:][:3]
			if got[0] != float32(c.R) || got[1] != float32(c.G) || got[2] != float32(c.B) {
				t.Errorf("(%d, %d) = %v, want %v", x, y, got, c)
			}
		}
	}
	// A sub-image (offset bounds, padded stride) reads the right pixels.
	sub := img.SubImage(image.Rect(1, 1, 3, 2)).(*image.RGBA)
	st := ToTensor(sub)
	if st.Shape[0] != 1 || st.Shape[1] != 2 || st.Data[0] != float32(img.RGBAAt(1, 1).R) || st.Data[3] != float32(img.RGBAAt(2, 1).R) {
		t.Errorf("sub-image tensor %v %v", st.Shape, st.Data)
	}
	for _, m := range []*image.RGBA{nil, image.NewRGBA(image.Rect(0, 0, 0, 5))} {
		if e := ToTensor(m); e.Len() != 0 || len(e.Shape) != 3 || e.Shape[2] != 3 {
			t.Errorf("empty image gives shape %v", e.Shape)
		}
	}
}

// TestToRGBAKinds runs every conversion path against the colour model.
func TestToRGBAKinds(t *testing.T) {
	r := image.Rect(2, 3, 7, 6) // non-zero origin on purpose
	src := testPattern(5, 3, true)
	at := func(x, y int) color.NRGBA { return src.NRGBAAt(x-r.Min.X, y-r.Min.Y) }
	nrgba := image.NewNRGBA(r)
	rgba := image.NewRGBA(r)
	nrgba64 := image.NewNRGBA64(r)
	gray := image.NewGray(r)
	gray16 := image.NewGray16(r)
	rgba64 := image.NewRGBA64(r)
	cmyk := image.NewCMYK(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio444)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := at(x, y)
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, uint16(c.A) * 257})
			gray.Set(x, y, c)
			gray16.SetGray16(x, y, color.Gray16{uint16(x*4000 + y*50 + 7)})
			rgba64.Set(x, y, c)
			cmyk.Set(x, y, c)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = yy, cb, cr
		}
	}
	tests := []struct {
		name string
		m    image.Image
		want func(x, y int) color.RGBA
	}{
		{"NRGBA keeps raw colour", nrgba, func(x, y int) color.RGBA { c := at(x, y); return color.RGBA{c.R, c.G, c.B, 255} }},
		{"NRGBA64 keeps raw colour", nrgba64, func(x, y int) color.RGBA { c := at(x, y); return color.RGBA{c.R, c.G, c.B, 255} }},
		{"RGBA un-premultiplies", rgba, func(x, y int) color.RGBA {
			c := color.NRGBAModel.Convert(rgba.RGBAAt(x, y)).(color.NRGBA)
			return color.RGBA{c.R, c.G, c.B, 255}
		}},
		{"RGBA64 un-premultiplies", rgba64, func(x, y int) color.RGBA {
			c := color.NRGBAModel.Convert(rgba64.RGBA64At(x, y)).(color.NRGBA)
			return color.RGBA{c.R, c.G, c.B, 255}
		}},
		{"Gray16 keeps the high byte", gray16, func(x, y int) color.RGBA {
			v := uint8(gray16.Gray16At(x, y).Y >> 8)
			return color.RGBA{v, v, v, 255}
		}},
		{"Gray", gray, func(x, y int) color.RGBA { v := gray.GrayAt(x, y).Y; return color.RGBA{v, v, v, 255} }},
		{"CMYK", cmyk, func(x, y int) color.RGBA { c := color.RGBAModel.Convert(cmyk.At(x, y)).(color.RGBA); return c }},
		{"YCbCr", ycc, func(x, y int) color.RGBA {
			rr, gg, bb := color.YCbCrToRGB(ycc.YCbCrAt(x, y).Y, ycc.YCbCrAt(x, y).Cb, ycc.YCbCrAt(x, y).Cr)
			return color.RGBA{rr, gg, bb, 255}
		}},
		{"NYCbCrA drops alpha", &image.NYCbCrA{YCbCr: *ycc, A: make([]uint8, 15), AStride: 5}, func(x, y int) color.RGBA {
			rr, gg, bb := color.YCbCrToRGB(ycc.YCbCrAt(x, y).Y, ycc.YCbCrAt(x, y).Cb, ycc.YCbCrAt(x, y).Cr)
			return color.RGBA{rr, gg, bb, 255}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := make([]color.RGBA, 0, 15)
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					want = append(want, tt.want(x, y))
				}
			}
			got := toRGBA(tt.m)
			if got.Rect != image.Rect(0, 0, 5, 3) {
				t.Fatalf("bounds %v", got.Rect)
			}
			for i, w := range want {
				if c := got.RGBAAt(i%5, i/5); c != w {
					t.Fatalf("pixel %d = %v, want %v", i, c, w)
				}
			}
		})
	}
}

func BenchmarkToTensor(b *testing.B) {
	data, err := os.ReadFile(sharedFile(b, "data/lfw/deepfunneled/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	img := mustDecode(b, data, "jpeg")
	b.ReportAllocs()
	for b.Loop() {
		ToTensor(img)
	}
}

func TestFromTensorInvertsToTensor(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 10)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	back, err := FromTensor(ToTensor(img))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Pix, img.Pix) {
		t.Fatalf("round trip changed the pixels:\n%v\n%v", back.Pix, img.Pix)
	}
	// Grey expands to RGB; out-of-range and NaN values are clamped.
	grey := tensor.From([]float32{-5, 300, float32(math.NaN()), 127.4}, 2, 2, 1)
	g, err := FromTensor(grey)
	if err != nil {
		t.Fatal(err)
	}
	if got := []uint8{g.Pix[0], g.Pix[4], g.Pix[8], g.Pix[12], g.Pix[13], g.Pix[15]}; !bytes.Equal(got, []uint8{0, 255, 0, 127, 127, 255}) {
		t.Fatalf("grey conversion gave %v", got)
	}
	if _, err := FromTensor(tensor.New(2, 2, 4)); err == nil {
		t.Fatal("no error for 4 channels")
	}
}
