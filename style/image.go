package style

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"

	"golang.org/x/image/draw"

	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Colour says how G's colours are chosen.
type Colour string

// The colour modes (Gatys, Bethge, Hertzmann & Shechtman, "Preserving color
// in neural artistic style transfer", 2016): the style's own colours; the
// transfer done on luminance only, G's chrominance taken from the content
// image (YIQ); or the style image's colours first matched to the content's,
// channel by channel (histogram matching).
const (
	StyleColours Colour = ""
	Luminance    Colour = "luminance"
	Histogram    Colour = "histogram"
)

// TransferOptions configure Transfer: the cost, the optimiser, and the
// image handling around them.
type TransferOptions struct {
	Config
	Options
	// Size is G's longest side in pixels (0: 256); the content image is
	// resized to it, the style images to the same longest side.
	Size int
	// Blend weighs the style images (nil: equally).
	Blend  []float64
	Colour Colour
	// Every, with OnImage, hands over the current G every Every steps
	// (intermediate images), composed as the final one is.
	Every   int
	OnImage func(step int, img *image.RGBA) error
}

// TransferResult is G with the optimisation's record.
type TransferResult struct {
	Image *image.RGBA
	*Result
}

// Transfer makes G: content's content in the style of styles, see Cost
// and Optimize; Options.Start (for FromImage) is an [H, W, 3] tensor of
// G's size, see StartImage.
func Transfer(ctx context.Context, content image.Image, styles []image.Image, opt TransferOptions) (*TransferResult, error) {
	size := opt.Size
	if size == 0 {
		size = 256
	}
	if size < 16 || size > 4096 {
		return nil, fmt.Errorf("style: size %d is outside 16 … 4096", opt.Size)
	}
	if content == nil || content.Bounds().Empty() {
		return nil, errors.New("style: empty content image")
	}
	c := Pixels(Resize(content, size))
	var ss []*tensor.Tensor
	for i, s := range styles {
		if s == nil || s.Bounds().Empty() {
			return nil, fmt.Errorf("style: style image %d is empty", i+1)
		}
		ss = append(ss, Pixels(Resize(s, size)))
	}
	var chroma *tensor.Tensor // C's YIQ, for Luminance
	switch opt.Colour {
	case StyleColours:
	case Histogram:
		for _, s := range ss {
			MatchHistogram(s, c)
		}
	case Luminance:
		chroma = toYIQ(c)
		y := luminanceImage(chroma)
		for i, s := range ss {
			sy := luminanceImage(toYIQ(s))
			matchMeanStd(sy, y)
			ss[i] = sy
		}
		c = y
		if opt.Start != nil {
			opt.Start = luminanceImage(toYIQ(opt.Start))
		}
	default:
		return nil, fmt.Errorf("style: unknown colour mode %q (want luminance or histogram)", opt.Colour)
	}
	cost, err := NewCost(opt.Config, c, ss, opt.Blend)
	if err != nil {
		return nil, err
	}
	compose := func(g *tensor.Tensor) (*image.RGBA, error) {
		if chroma != nil {
			g = withLuminance(chroma, g)
		}
		return FromPixels(g)
	}
	o := opt.Options
	if opt.Every > 0 && opt.OnImage != nil {
		inner := o.OnStep
		o.OnStep = func(s Step, g *tensor.Tensor) error {
			if inner != nil {
				if err := inner(s, g); err != nil {
					return err
				}
			}
			if s.Step%opt.Every != 0 {
				return nil
			}
			img, err := compose(g)
			if err != nil {
				return err
			}
			return opt.OnImage(s.Step, img)
		}
	}
	res, err := cost.Optimize(ctx, o)
	if res == nil {
		return nil, err
	}
	img, cerr := compose(res.Image)
	if cerr != nil {
		return nil, cerr
	}
	return &TransferResult{Image: img, Result: res}, err
}

// StartImage resizes img to the size Transfer gives G for a content image
// of the given bounds and longest side, as an Options.Start.
func StartImage(img image.Image, content image.Rectangle, size int) *tensor.Tensor {
	if size == 0 {
		size = 256
	}
	w, h := scaled(content.Dx(), content.Dy(), size)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Rect, img, img.Bounds(), draw.Src, nil)
	return Pixels(dst)
}

// scaled returns w×h scaled so that the longest side is size.
func scaled(w, h, size int) (int, int) {
	if w >= h {
		return size, max(1, int(math.Round(float64(h)*float64(size)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(size)/float64(h)))), size
}

// Resize scales img so that its longest side is size (Catmull-Rom).
func Resize(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	w, h := scaled(b.Dx(), b.Dy(), size)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Rect, img, b, draw.Src, nil)
	return dst
}

// Pixels converts an image to an [H, W, 3] tensor with values in [0, 1].
func Pixels(img image.Image) *tensor.Tensor {
	t := photo.ImageTensor(img)
	for i, v := range t.Data {
		t.Data[i] = v / 255
	}
	return t
}

// FromPixels is the inverse of Pixels (values clamped to [0, 1]).
func FromPixels(t *tensor.Tensor) (*image.RGBA, error) {
	u := t.Clone()
	for i, v := range u.Data {
		u.Data[i] = v * 255
	}
	return photo.FromTensor(u)
}

// toYIQ converts [H, W, 3] RGB to YIQ (NTSC).
func toYIQ(t *tensor.Tensor) *tensor.Tensor {
	o := tensor.New(t.Shape...)
	for i := 0; i < len(t.Data); i += 3 {
		r, g, b := t.Data[i], t.Data[i+1], t.Data[i+2]
		o.Data[i] = 0.299*r + 0.587*g + 0.114*b
		o.Data[i+1] = 0.596*r - 0.274*g - 0.322*b
		o.Data[i+2] = 0.211*r - 0.523*g + 0.312*b
	}
	return o
}

// luminanceImage is the grey RGB image of a YIQ image's Y.
func luminanceImage(yiq *tensor.Tensor) *tensor.Tensor {
	o := tensor.New(yiq.Shape...)
	for i := 0; i < len(o.Data); i += 3 {
		o.Data[i], o.Data[i+1], o.Data[i+2] = yiq.Data[i], yiq.Data[i], yiq.Data[i]
	}
	return o
}

// withLuminance returns the RGB image with the luminance of grey g (the
// mean of its channels) and the chrominance (I, Q) of yiq.
func withLuminance(yiq, g *tensor.Tensor) *tensor.Tensor {
	o := tensor.New(yiq.Shape...)
	for i := 0; i < len(o.Data); i += 3 {
		y := (g.Data[i] + g.Data[i+1] + g.Data[i+2]) / 3
		in, q := yiq.Data[i+1], yiq.Data[i+2]
		o.Data[i] = y + 0.956*in + 0.621*q
		o.Data[i+1] = y - 0.272*in - 0.647*q
		o.Data[i+2] = y - 1.106*in + 1.703*q
	}
	return o
}

// matchMeanStd gives src (a grey image) the mean and standard deviation of
// ref, as the colour-preservation paper does for the style's luminance.
func matchMeanStd(src, ref *tensor.Tensor) {
	ms, ss := meanStd(src.Data)
	mr, sr := meanStd(ref.Data)
	k := 1.0
	if ss > 1e-6 {
		k = sr / ss
	}
	for i, v := range src.Data {
		src.Data[i] = float32(min(max((float64(v)-ms)*k+mr, 0), 1))
	}
}

func meanStd(v []float32) (mean, std float64) {
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (float64(x) - mean) * (float64(x) - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

// MatchHistogram remaps each channel of src [H, W, 3] so that its value
// distribution is ref's (exact histogram matching: the k-th smallest value
// of src becomes ref's value at the same quantile).
func MatchHistogram(src, ref *tensor.Tensor) {
	ns, nr := src.Len()/3, ref.Len()/3
	idx := make([]int, ns)
	vals := make([]float32, nr)
	for c := 0; c < 3; c++ {
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			x, y := src.Data[3*a+c], src.Data[3*b+c]
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		})
		for i := range vals {
			vals[i] = ref.Data[3*i+c]
		}
		slices.Sort(vals)
		for rank, i := range idx {
			q := (float64(rank) + 0.5) / float64(ns)
			src.Data[3*i+c] = vals[min(int(q*float64(nr)), nr-1)]
		}
	}
}
