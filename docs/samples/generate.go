//go:build ignore

// generate draws the sample faces in this folder: go run docs/samples/generate.go
//
// They are drawings made by this program from a few numbers per person
// (shape of the face, eyes, nose, mouth, skin and hair), not photos of
// anyone, so anyone may use them (CC0). Each person is drawn twice, with
// another pose, light and expression, so that one drawing can be enrolled
// and the other identified.
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"math"
	"os"
	"path/filepath"
)

// person is what stays the same between two drawings of someone.
type person struct {
	name                 string
	skin, hair, iris     [3]float64
	faceW, faceH         float64 // half-axes of the face, in face widths
	eyeGap, eyeY, eyeW   float64
	browY, browW, browT  float64
	noseLen, noseW       float64
	mouthY, mouthW, lips float64
	hairTop, hairSide    float64
	jaw                  float64 // >1: a squarer chin
	beard, glasses       float64 // 0 or 1
}

// pose is what changes between two drawings.
type pose struct {
	cx, cy, scale float64 // centre and face width in pixels
	light         float64 // horizontal direction of the light, −1..1
	smile         float64 // 0..1
	bg            [3]float64
}

func main() {
	people := []person{
		{name: "Ada", skin: [3]float64{230, 186, 156}, hair: [3]float64{150, 90, 40}, iris: [3]float64{70, 120, 170},
			faceW: 0.42, faceH: 0.64, eyeGap: 0.16, eyeY: -0.1, eyeW: 0.09, browY: -0.23, browW: 0.1, browT: 0.014,
			noseLen: 0.17, noseW: 0.06, mouthY: 0.27, mouthW: 0.13, lips: 0.045, hairTop: 0.25, hairSide: 0.6, jaw: 0.9},
		{name: "Bruno", skin: [3]float64{140, 95, 65}, hair: [3]float64{25, 20, 18}, iris: [3]float64{60, 40, 25},
			faceW: 0.56, faceH: 0.58, eyeGap: 0.24, eyeY: -0.03, eyeW: 0.07, browY: -0.14, browW: 0.15, browT: 0.04,
			noseLen: 0.28, noseW: 0.12, mouthY: 0.36, mouthW: 0.22, lips: 0.028, hairTop: 0.05, hairSide: 0.52, jaw: 1.7, beard: 1},
		{name: "Chen", skin: [3]float64{240, 208, 172}, hair: [3]float64{12, 12, 16}, iris: [3]float64{45, 30, 20},
			faceW: 0.44, faceH: 0.6, eyeGap: 0.18, eyeY: -0.02, eyeW: 0.07, browY: -0.13, browW: 0.1, browT: 0.016,
			noseLen: 0.16, noseW: 0.07, mouthY: 0.26, mouthW: 0.12, lips: 0.04, hairTop: 0.3, hairSide: 0.66, jaw: 0.8, glasses: 1},
	}
	poses := []pose{
		{cx: 125, cy: 130, scale: 120, light: -0.5, smile: 0.2, bg: [3]float64{190, 200, 210}},
		{cx: 118, cy: 124, scale: 108, light: 0.6, smile: 0.8, bg: [3]float64{120, 140, 110}},
	}
	for _, p := range people {
		for i, ps := range poses {
			img := draw(p, ps)
			// The first drawing is for enrolment (known/Name.jpg), the
			// second is the visitor at the door.
			path := filepath.Join("docs", "samples", "known", p.name+".jpg")
			if i == 1 {
				path = filepath.Join("docs", "samples", "door", p.name+"_2.jpg")
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				log.Fatal(err)
			}
			f, err := os.Create(path)
			if err != nil {
				log.Fatal(err)
			}
			if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 88}); err != nil {
				log.Fatal(err)
			}
			if err := f.Close(); err != nil {
				log.Fatal(err)
			}
		}
	}
}

// smooth is 1 inside (d < 0), 0 outside, with an edge of about one pixel.
func smooth(d, px float64) float64 { return 1 / (1 + math.Exp(d/px*4)) }

// ellipse is the signed distance (approximate, in the ellipse's units) of
// (x, y) to the ellipse at (cx, cy) with half-axes a, b.
func ellipse(x, y, cx, cy, a, b float64) float64 {
	dx, dy := (x-cx)/a, (y-cy)/b
	return (math.Sqrt(dx*dx+dy*dy) - 1) * math.Min(a, b)
}

func mix(c, o [3]float64, t float64) [3]float64 {
	return [3]float64{c[0]*(1-t) + o[0]*t, c[1]*(1-t) + o[1]*t, c[2]*(1-t) + o[2]*t}
}

func scale(c [3]float64, k float64) [3]float64 { return [3]float64{c[0] * k, c[1] * k, c[2] * k} }

func draw(p person, ps pose) *image.RGBA {
	const size = 250
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	px := 1 / ps.scale // one pixel in face widths
	for py := 0; py < size; py++ {
		for pxx := 0; pxx < size; pxx++ {
			// Face coordinates: x right, y down, in face widths.
			x := (float64(pxx) - ps.cx) / ps.scale
			y := (float64(py) - ps.cy) / ps.scale
			c := mix(ps.bg, scale(ps.bg, 0.8), float64(py)/size)
			// Neck and shoulders.
			if d := math.Max(math.Abs(x)-0.2, -(y - 0.4)); d < 0.1 {
				c = mix(c, scale(p.skin, 0.8), smooth(d, px))
			}
			c = mix(c, [3]float64{60, 70, 110}, smooth(ellipse(x, y, 0, 1.15, 0.75, 0.35), px))
			// Hair behind the head.
			c = mix(c, p.hair, smooth(ellipse(x, y, 0, -0.12, p.hairSide, p.faceH+p.hairTop*0.6), px))
			// Ears.
			for _, s := range []float64{-1, 1} {
				c = mix(c, scale(p.skin, 0.85), smooth(ellipse(x, y, s*p.faceW*0.98, 0.0, 0.07, 0.12), px))
			}
			// The face: an ellipse, squarer at the jaw, lit from one side.
			fy := y
			if y > 0 {
				fy = y / math.Pow(1+y, p.jaw-1)
			}
			if d := ellipse(x, fy, 0, 0, p.faceW, p.faceH); d < 0.05 {
				r := math.Hypot(x/p.faceW, y/p.faceH)
				shade := 1 - 0.28*r*r + 0.12*ps.light*x/p.faceW
				c = mix(c, scale(p.skin, shade), smooth(d, px))
			}
			// Hair over the forehead.
			c = mix(c, p.hair, smooth(math.Max(ellipse(x, y, 0, -p.faceH-0.02, p.faceW*1.05, p.hairTop+0.2), y-(-p.faceH+p.hairTop+0.08)), px))
			// Eye sockets, eyes, brows.
			for _, s := range []float64{-1, 1} {
				ex := s * p.eyeGap
				c = mix(c, scale(c, 0.88), 0.8*smooth(ellipse(x, y, ex, p.eyeY-0.01, p.eyeW*1.5, p.eyeW*0.9), px*6))
				if d := ellipse(x, y, ex, p.eyeY, p.eyeW, p.eyeW*0.45); d < 0.02 {
					e := mix([3]float64{235, 232, 228}, p.iris, smooth(ellipse(x, y, ex, p.eyeY, p.eyeW*0.42, p.eyeW*0.42), px))
					e = mix(e, [3]float64{10, 10, 10}, smooth(ellipse(x, y, ex, p.eyeY, p.eyeW*0.17, p.eyeW*0.17), px))
					c = mix(c, e, smooth(d, px))
				}
				// The upper lid's line.
				lid := math.Abs(ellipse(x, y, ex, p.eyeY, p.eyeW, p.eyeW*0.45)) - 0.006
				if y < p.eyeY {
					c = mix(c, [3]float64{40, 25, 20}, smooth(lid, px))
				}
				bx := ex + s*0.01
				by := p.browY - 0.02*(1-math.Pow((x-bx)/p.browW, 2))
				c = mix(c, scale(p.hair, 0.9), smooth(ellipse(x, y-(by-p.browY), bx, p.browY, p.browW, p.browT), px))
			}
			// Nose: a shadow down one side, the tip and the nostrils.
			ny := p.eyeY + p.noseLen
			c = mix(c, scale(c, 0.8), 0.7*smooth(ellipse(x, y, -0.03*ps.light-0.02, (p.eyeY+ny)/2+0.02, 0.025, p.noseLen/2), px*4))
			c = mix(c, scale(p.skin, 1.05), 0.5*smooth(ellipse(x, y, 0, ny-0.02, p.noseW*0.6, 0.04), px*3))
			for _, s := range []float64{-1, 1} {
				c = mix(c, scale(p.skin, 0.45), smooth(ellipse(x, y, s*p.noseW*0.45, ny+0.01, 0.022, 0.013), px))
			}
			// Mouth: lips, the line between them, a smile lifting the corners.
			mx := x / p.mouthW
			my := p.mouthY - ps.smile*0.03*mx*mx
			lip := [3]float64{p.skin[0] * 0.85, p.skin[1] * 0.5, p.skin[2] * 0.5}
			c = mix(c, lip, smooth(ellipse(x, y, 0, my, p.mouthW, p.lips), px))
			if math.Abs(mx) < 1 {
				c = mix(c, [3]float64{60, 20, 20}, smooth(math.Abs(y-my)-0.006-0.01*ps.smile*(1-mx*mx), px))
			}
			// Beard: stubble over the jaw, around the mouth.
			if p.beard > 0 && y > p.eyeY+p.noseLen-0.02 && ellipse(x, fy, 0, 0, p.faceW, p.faceH) < 0 && ellipse(x, y, 0, my, p.mouthW*1.02, p.lips*1.2) > 0 {
				c = mix(c, scale(p.hair, 1.3), 0.75*p.beard*smooth(-(math.Abs(x)-p.faceW*0.98), px*3))
			}
			// Glasses: two rims and a bridge.
			if p.glasses > 0 {
				for _, s := range []float64{-1, 1} {
					rim := math.Abs(ellipse(x, y, s*p.eyeGap, p.eyeY, p.eyeW*1.6, p.eyeW*1.2)) - 0.008
					c = mix(c, [3]float64{30, 30, 35}, smooth(rim, px))
				}
				bridge := math.Max(math.Abs(x)-(p.eyeGap-p.eyeW*1.6), math.Abs(y-p.eyeY+0.02)-0.008)
				c = mix(c, [3]float64{30, 30, 35}, smooth(bridge, px))
			}
			// Chin shadow.
			c = mix(c, scale(c, 0.9), 0.5*smooth(ellipse(x, y, 0, p.mouthY+0.14, 0.08, 0.03), px*4))
			img.SetRGBA(pxx, py, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 255})
		}
	}
	return img
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }
