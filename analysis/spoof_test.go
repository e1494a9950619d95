package analysis

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// The liveness network on attacks simulated here from LFW photos: there
// is no spoofing data on this machine. Each simulation turns a real photo
// into what a door camera might see of a printed or re-displayed copy of
// it; the pipeline then finds the face in the simulated frame, as it would
// at the door. The report is a measurement, not a pass/fail test: it runs
// only with FACEREC_SPOOF_REPORT=N (N photos) and prints a table (the one
// in docs/analysis.md).

// sim is one transformation of an [H, W, 3] 0..255 photo.
type sim struct {
	name string
	f    func(x *tensor.Tensor, rng *rand.Rand) *tensor.Tensor
}

func mapPixels(x *tensor.Tensor, f func(y, xx, c int, v float64) float64) *tensor.Tensor {
	h, w := x.Shape[0], x.Shape[1]
	out := tensor.New(x.Shape...)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			for c := 0; c < 3; c++ {
				i := (y*w+xx)*3 + c
				out.Data[i] = float32(max(0, min(255, f(y, xx, c, float64(x.Data[i])))))
			}
		}
	}
	return out
}

// blur is a separable Gaussian blur of deviation sigma.
func blur(x *tensor.Tensor, sigma float64) *tensor.Tensor {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	s := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	h, w := x.Shape[0], x.Shape[1]
	pass := func(src *tensor.Tensor, dy, dx int) *tensor.Tensor {
		out := tensor.New(src.Shape...)
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for c := 0; c < 3; c++ {
					acc := 0.0
					for i, kv := range k {
						yy := min(max(y+(i-r)*dy, 0), h-1)
						x2 := min(max(xx+(i-r)*dx, 0), w-1)
						acc += kv * float64(src.Data[(yy*w+x2)*3+c])
					}
					out.Data[(y*w+xx)*3+c] = float32(acc)
				}
			}
		}
		return out
	}
	return pass(pass(x, 1, 0), 0, 1)
}

func jpegRoundTrip(x *tensor.Tensor, quality int) *tensor.Tensor {
	img, err := photo.FromTensor(x)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err)
	}
	dec, err := jpeg.Decode(&b)
	if err != nil {
		panic(err)
	}
	return photo.ImageTensor(dec)
}

// resample scales x by s with bilinear interpolation (a lower-resolution
// print or screen).
func resample(x *tensor.Tensor, s float64) *tensor.Tensor {
	h, w := x.Shape[0], x.Shape[1]
	oh, ow := max(int(float64(h)*s), 2), max(int(float64(w)*s), 2)
	px := resizeLinearTo(x, rectInt{0, 0, w, h}, oh, ow)
	out := tensor.New(oh, ow, 3)
	for i, v := range px {
		out.Data[i] = float32(v)
	}
	return out
}

// resizeLinearTo is resizeLinear to a non-square size (the simulations'
// resampling only).
func resizeLinearTo(img *tensor.Tensor, r rectInt, oh, ow int) []uint8 {
	if oh == ow {
		return resizeLinear(img, r, oh)
	}
	sq := resizeLinear(img, r, max(oh, ow))
	big := tensor.New(max(oh, ow), max(oh, ow), 3)
	for i, v := range sq {
		big.Data[i] = float32(v)
	}
	return resizeLinearRect(big, oh, ow)
}

func resizeLinearRect(img *tensor.Tensor, oh, ow int) []uint8 {
	h, w := img.Shape[0], img.Shape[1]
	out := make([]uint8, oh*ow*3)
	for y := 0; y < oh; y++ {
		fy := math.Max((float64(y)+0.5)*float64(h)/float64(oh)-0.5, 0)
		y0 := min(int(fy), h-1)
		y1, wy := min(y0+1, h-1), fy-float64(y0)
		for x := 0; x < ow; x++ {
			fx := math.Max((float64(x)+0.5)*float64(w)/float64(ow)-0.5, 0)
			x0 := min(int(fx), w-1)
			x1, wx := min(x0+1, w-1), fx-float64(x0)
			for c := 0; c < 3; c++ {
				at := func(yy, xx int) float64 { return float64(img.Data[(yy*w+xx)*3+c]) }
				v := (at(y0, x0)*(1-wx)+at(y0, x1)*wx)*(1-wy) + (at(y1, x0)*(1-wx)+at(y1, x1)*wx)*wy
				out[(y*ow+x)*3+c] = clampByte(v)
			}
		}
	}
	return out
}

var sims = []sim{
	{"original", func(x *tensor.Tensor, _ *rand.Rand) *tensor.Tensor { return x }},
	// A benign control: sensor noise and a little more light, which a
	// live face at a camera also shows.
	{"control: noise σ3, +10% light", func(x *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
		return mapPixels(x, func(_, _, _ int, v float64) float64 { return 1.1*v + 3*rng.NormFloat64() })
	}},
	{"blur σ2", func(x *tensor.Tensor, _ *rand.Rand) *tensor.Tensor { return blur(x, 2) }},
	{"JPEG q15, twice", func(x *tensor.Tensor, _ *rand.Rand) *tensor.Tensor { return jpegRoundTrip(jpegRoundTrip(x, 15), 15) }},
	// A print photographed again: half the resolution, softened, the
	// paper's warm cast, compressed tones (ink and paper do not reach
	// black and white), camera noise.
	{"print: half res, σ1, warm cast, tones 35–220, noise", func(x *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
		y := resample(blur(resample(x, 0.5), 1), float64(x.Shape[0])/float64(x.Shape[0]/2))
		gain := [3]float64{1.05, 1.0, 0.85}
		return mapPixels(y, func(_, _, c int, v float64) float64 { return 35 + v*185/255*gain[c] + 2*rng.NormFloat64() })
	}},
	// A screen photographed again: the moiré of its pixel grid against the
	// camera's (a beat of a few pixels' period), a cool cast, lifted
	// blacks.
	{"screen: moiré 12%, cool cast, lifted blacks", func(x *tensor.Tensor, _ *rand.Rand) *tensor.Tensor {
		gain := [3]float64{0.92, 1.0, 1.1}
		return mapPixels(x, func(y, xx, c int, v float64) float64 {
			m := 1 + 0.12*math.Sin(2*math.Pi*(float64(xx)/3.3+float64(y)/7.1))
			return (20 + v*0.92) * gain[c] * m
		})
	}},
	// A print held up in front of the camera: the photo at 60% inside a
	// white paper border, on a darker room background.
	{"print held up: 60% with a paper border", func(x *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
		h, w := x.Shape[0], x.Shape[1]
		small := resample(x, 0.6)
		sh, sw := small.Shape[0], small.Shape[1]
		const border = 10
		out := tensor.New(h, w, 3)
		oy, ox := (h-sh)/2, (w-sw)/2
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for c := 0; c < 3; c++ {
					v := 70 + 10*float64(c) + 4*rng.NormFloat64() // the room
					if y >= oy-border && y < oy+sh+border && xx >= ox-border && xx < ox+sw+border {
						v = 235 // the paper
					}
					if y >= oy && y < oy+sh && xx >= ox && xx < ox+sw {
						v = float64(small.Data[((y-oy)*sw+xx-ox)*3+c])
					}
					out.Data[(y*w+xx)*3+c] = float32(v)
				}
			}
		}
		return out
	}},
}

func TestSpoofSimulationsChangeTheImage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensor.New(40, 40, 3)
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(256))
	}
	for _, s := range sims[1:] {
		y := s.f(x, rng)
		if len(y.Shape) != 3 || y.Shape[2] != 3 {
			t.Fatalf("%s: shape %v", s.name, y.Shape)
		}
		same := y.Shape[0] == 40 && y.Shape[1] == 40
		if same {
			d := 0.0
			for i, v := range y.Data {
				d += math.Abs(float64(v - x.Data[i]))
			}
			same = d/float64(len(y.Data)) < 1
		}
		if same {
			t.Errorf("%s leaves the image as it is", s.name)
		}
	}
}

func TestSpoofSimulationsReport(t *testing.T) {
	var n int
	if _, err := fmt.Sscan(os.Getenv("FACEREC_SPOOF_REPORT"), &n); err != nil || n < 1 {
		t.Skip("a measurement: set FACEREC_SPOOF_REPORT=N to run it on N LFW photos")
	}
	ctx, p, a := reportModels(t, Options{Liveness: true})
	// The first 40 photos chose the channel order; the report skips them.
	paths := lfwSample(t, 40, n)
	if os.Getenv("FACEREC_SPOOF_BGR") != "" {
		liveBGR = !liveBGR
		defer func() { liveBGR = !liveBGR }()
	}
	type acc struct {
		p       [3]float64
		live    int
		found   int
		sharp   []float64
		reasons map[string]int
	}
	res := make([]acc, len(sims))
	rng := rand.New(rand.NewPCG(3, 4))
	for _, path := range paths {
		img, _, err := photo.DecodeFile(path, photo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x := photo.ImageTensor(img)
		for i, s := range sims {
			simImg, err := photo.FromTensor(s.f(x, rng))
			if err != nil {
				t.Fatal(err)
			}
			f, err := p.DetectSubject(ctx, simImg)
			if err != nil {
				continue // no face found in the simulated frame
			}
			rs, err := a.Analyze(ctx, simImg, []face.Face{f})
			if err != nil {
				t.Fatal(err)
			}
			l := rs[0].Liveness
			res[i].found++
			res[i].sharp = append(res[i].sharp, rs[0].Quality.Sharpness)
			if res[i].reasons == nil {
				res[i].reasons = map[string]int{}
			}
			for _, r := range rs[0].Quality.Reasons {
				res[i].reasons[r]++
			}
			for k := range 3 {
				res[i].p[k] += l.Probs[k]
			}
			if l.Live {
				res[i].live++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nchannels BGR: %v\n| frame (%d LFW photos) | faces found | mean P(class 0) | mean P(class 1) | mean P(class 2) | live (P(class %d) ≥ %.1f) |\n|---|---|---|---|---|---|\n", liveBGR, len(paths), LiveClass, LivenessThreshold)
	for i, s := range sims {
		r := res[i]
		if r.found == 0 {
			fmt.Fprintf(&b, "| %s | 0 | | | | |\n", s.name)
			continue
		}
		f := float64(r.found)
		fmt.Fprintf(&b, "| %s | %d | %.3f | %.3f | %.3f | %d (%.0f%%) |\n", s.name, r.found, r.p[0]/f, r.p[1]/f, r.p[2]/f, r.live, 100*float64(r.live)/f)
	}
	fmt.Fprintf(&b, "\n| frame | median sharpness | quality reasons |\n|---|---|---|\n")
	for i, s := range sims {
		sort.Float64s(res[i].sharp)
		med := 0.0
		if len(res[i].sharp) > 0 {
			med = res[i].sharp[len(res[i].sharp)/2]
		}
		fmt.Fprintf(&b, "| %s | %.1f | %v |\n", s.name, med, res[i].reasons)
	}
	t.Log(b.String())
}

// lfwSample returns the first photo of n people of LFW's
// peopleDevTest.txt (View 1's test people) after the first skip, or skips.
func lfwSample(t *testing.T, skip, n int) []string {
	root := filepath.Join("..", "..", "shared", "data", "lfw")
	b, err := os.ReadFile(filepath.Join(root, "peopleDevTest.txt"))
	if err != nil {
		t.Skipf("needs LFW under ../shared/data: %v", err)
	}
	var paths []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		fs := strings.Fields(line)
		if len(fs) != 2 {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		paths = append(paths, filepath.Join(root, "deepfunneled", fs[0], fs[0]+"_0001.jpg"))
		if len(paths) == n {
			break
		}
	}
	return paths
}

var _ image.Image // the simulations work on tensors; photo converts

// reportModels loads the default pipeline and an analyzer with o for a
// measurement, skipping when the models are missing.
func reportModels(t *testing.T, o Options) (context.Context, *face.Pipeline, *Analyzer) {
	t.Helper()
	ctx := context.Background()
	dir, err := registry.Dir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := face.Load(ctx, dir, face.DefaultOptions(), nil)
	if err != nil {
		t.Skip(err)
	}
	a, err := Load(ctx, dir, o, nil)
	if err != nil {
		t.Skip(err)
	}
	return ctx, p, a
}
