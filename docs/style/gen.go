//go:build ignore

// Command gen draws the inputs of docs/style.md: a content image and three
// style images, all procedural (no photograph), so that their origin is
// this file. Run from the module root: go run docs/style/gen.go
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"math/rand/v2"
	"os"
)

func save(name string, img image.Image) {
	f, err := os.Create("docs/style/" + name)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }

func mix(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// scene: a landscape with sky, sun, hills, a house and a tree.
func scene(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			c := mix([3]float64{70, 120, 210}, [3]float64{200, 225, 250}, fy/0.6) // sky
			if d := math.Hypot(fx-0.78, (fy-0.2)*float64(h)/float64(w)); d < 0.07 {
				c = [3]float64{255, 220, 80} // sun
			}
			hill1 := 0.62 + 0.08*math.Sin(fx*5+1)
			hill2 := 0.72 + 0.06*math.Sin(fx*9+3)
			if fy > hill1 {
				c = mix([3]float64{90, 150, 70}, [3]float64{40, 90, 40}, (fy-hill1)/0.4)
			}
			if fy > hill2 {
				c = mix([3]float64{120, 170, 60}, [3]float64{60, 110, 30}, (fy-hill2)/0.3)
			}
			// The house: walls, roof, door, windows.
			if fx > 0.22 && fx < 0.44 && fy > 0.5 && fy < 0.78 {
				c = [3]float64{215, 190, 150}
				if fx > 0.3 && fx < 0.36 && fy > 0.62 {
					c = [3]float64{110, 60, 30}
				}
				if (fx > 0.24 && fx < 0.29 || fx > 0.38 && fx < 0.43) && fy > 0.55 && fy < 0.63 {
					c = [3]float64{120, 170, 220}
				}
			}
			if fy <= 0.5 && fy > 0.32 && math.Abs(fx-0.33) < (fy-0.32)/0.18*0.13 {
				c = [3]float64{170, 50, 40}
			}
			// The tree: trunk and crown.
			if fx > 0.585 && fx < 0.605 && fy > 0.55 && fy < 0.75 {
				c = [3]float64{100, 70, 40}
			}
			if math.Hypot(fx-0.595, (fy-0.48)*float64(h)/float64(w)) < 0.07 {
				c = [3]float64{40, 120, 50}
			}
			img.Set(x, y, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 255})
		}
	}
	return img
}

// stripes: wavy diagonal bands in three colours.
func stripes(n int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	pal := [][3]float64{{230, 60, 40}, {250, 200, 40}, {30, 40, 120}}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			t := (float64(x+y) + 12*math.Sin(float64(y)/14)) / 18
			c := pal[int(math.Floor(t))%3]
			img.Set(x, y, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 255})
		}
	}
	return img
}

// valueNoise is smooth lattice noise in [0, 1], summed over octaves.
func valueNoise(rng *rand.Rand, n int, cells int) func(x, y float64) float64 {
	grid := make([]float64, (cells+1)*(cells+1))
	for i := range grid {
		grid[i] = rng.Float64()
	}
	at := func(i, j int) float64 { return grid[(j%cells)*(cells+1)+i%cells] }
	return func(x, y float64) float64 {
		gx, gy := x/float64(n)*float64(cells), y/float64(n)*float64(cells)
		i, j := int(gx), int(gy)
		fx, fy := gx-float64(i), gy-float64(j)
		fx, fy = fx*fx*(3-2*fx), fy*fy*(3-2*fy)
		a := at(i, j) + (at(i+1, j)-at(i, j))*fx
		b := at(i, j+1) + (at(i+1, j+1)-at(i, j+1))*fx
		return a + (b-a)*fy
	}
}

// marble: turbulence (four octaves of value noise) bending sine veins.
func marble(n int) *image.RGBA {
	rng := rand.New(rand.NewPCG(11, 3))
	var oct []func(x, y float64) float64
	for k := 0; k < 4; k++ {
		oct = append(oct, valueNoise(rng, n, 4<<k))
	}
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			turb, amp := 0.0, 1.0
			for _, f := range oct {
				turb += amp * f(float64(x), float64(y))
				amp /= 2
			}
			v := 0.5 + 0.5*math.Sin(float64(x)/9+6*turb)
			c := mix([3]float64{20, 30, 70}, [3]float64{120, 210, 230}, math.Pow(v, 0.7))
			img.Set(x, y, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 255})
		}
	}
	return img
}

// mosaic: Voronoi cells of random warm colours with dark grout.
func mosaic(n int) *image.RGBA {
	rng := rand.New(rand.NewPCG(5, 8))
	type site struct {
		x, y float64
		c    [3]float64
	}
	var sites []site
	for i := 0; i < 90; i++ {
		sites = append(sites, site{rng.Float64() * float64(n), rng.Float64() * float64(n),
			[3]float64{150 + 100*rng.Float64(), 60 + 140*rng.Float64(), 20 + 60*rng.Float64()}})
	}
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			d1, d2, best := math.Inf(1), math.Inf(1), 0
			for i, s := range sites {
				d := math.Hypot(float64(x)-s.x, float64(y)-s.y)
				if d < d1 {
					d1, d2, best = d, d1, i
				} else if d < d2 {
					d2 = d
				}
			}
			c := sites[best].c
			if d2-d1 < 2.5 {
				c = [3]float64{30, 20, 15}
			}
			img.Set(x, y, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 255})
		}
	}
	return img
}

func main() {
	save("content-scene.png", scene(384, 256))
	save("style-stripes.png", stripes(256))
	save("style-marble.png", marble(256))
	save("style-mosaic.png", mosaic(256))
}
