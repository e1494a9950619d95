package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/facerec/facerec/face"
	"golang.org/x/image/draw"
)

// SourceFace is a face to paste into synthetic frames: a photo and the
// box of its face in that photo (the detector's box on the photo alone, so
// that a pasted face's true box follows the detector's own convention).
type SourceFace struct {
	Image image.Image
	Box   face.Rect
}

// PastedFace is the ground truth of one face in a synthetic frame: its box
// in frame pixels and its nominal size, the box's width.
type PastedFace struct {
	Box  face.Rect `json:"box"`
	Size int       `json:"size"`
}

// SyntheticFrame is a frame of known content: a textured background with
// faces pasted at known places.
type SyntheticFrame struct {
	Image *image.RGBA
	Faces []PastedFace
}

// pasteMargin is how much of the source photo around the face box is
// pasted with it (hair, ears, neck), as a multiple of the box side: a face
// cut at its box would not look like a face to a detector trained on whole
// heads.
const pasteMargin = 1.5

// SynthesizeFrame builds a w×h frame: a synthetic background (smooth
// colour noise and random shapes, no faces) with faces from sources
// pasted at random places that do not overlap, one per entry of sizes,
// scaled so that the face box is that many pixels wide. Each face is
// blended in with a feathered elliptical edge so that no square seam marks
// it. Entries that find no free place are left out (the frame's Faces say
// which were pasted). The result depends only on its arguments and rng's
// state.
func SynthesizeFrame(w, h int, sources []SourceFace, sizes []int, rng *rand.Rand) (*SyntheticFrame, error) {
	if w < 1 || h < 1 || w*h > 1<<26 {
		return nil, fmt.Errorf("eval: synthetic frame size %d×%d out of range", w, h)
	}
	if len(sources) == 0 {
		return nil, errors.New("eval: no source faces to paste")
	}
	fr := &SyntheticFrame{Image: background(w, h, rng)}
	var taken []image.Rectangle
	for _, size := range sizes {
		if size < 8 {
			return nil, fmt.Errorf("eval: face size %d too small to paste", size)
		}
		src := sources[rng.IntN(len(sources))]
		k := float64(size) / src.Box.W
		// The region pasted around the face, in source pixels, clipped to
		// the photo; its scaled size decides where it fits.
		side := pasteMargin * math.Max(src.Box.W, src.Box.H)
		cx, cy := src.Box.X+src.Box.W/2, src.Box.Y+src.Box.H/2
		region := image.Rect(int(cx-side/2), int(cy-side/2), int(math.Ceil(cx+side/2)), int(math.Ceil(cy+side/2))).Intersect(src.Image.Bounds())
		pw, ph := int(math.Round(float64(region.Dx())*k)), int(math.Round(float64(region.Dy())*k))
		if pw < 1 || ph < 1 || pw > w || ph > h {
			continue
		}
		var at image.Rectangle
		placed := false
		for range 200 {
			x, y := rng.IntN(w-pw+1), rng.IntN(h-ph+1)
			at = image.Rect(x, y, x+pw, y+ph)
			if !slices.ContainsFunc(taken, at.Overlaps) {
				placed = true
				break
			}
		}
		if !placed {
			continue
		}
		taken = append(taken, at)
		patch := image.NewRGBA(image.Rect(0, 0, pw, ph))
		draw.CatmullRom.Scale(patch, patch.Bounds(), src.Image, region, draw.Src, nil)
		blendFeathered(fr.Image, patch, at.Min)
		// The face box, from source to frame pixels.
		sx, sy := float64(pw)/float64(region.Dx()), float64(ph)/float64(region.Dy())
		fr.Faces = append(fr.Faces, PastedFace{Size: size, Box: face.Rect{
			X: float64(at.Min.X) + (src.Box.X-float64(region.Min.X))*sx,
			Y: float64(at.Min.Y) + (src.Box.Y-float64(region.Min.Y))*sy,
			W: src.Box.W * sx,
			H: src.Box.H * sy,
		}})
	}
	return fr, nil
}

// blendFeathered draws patch onto dst at off through an elliptical mask
// that is opaque over the middle and fades out over the outer tenth.
func blendFeathered(dst, patch *image.RGBA, off image.Point) {
	b := patch.Bounds()
	rx, ry := float64(b.Dx())/2, float64(b.Dy())/2
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			dx, dy := (float64(x)+0.5-rx)/rx, (float64(y)+0.5-ry)/ry
			r := math.Hypot(dx, dy)
			a := math.Min(1, math.Max(0, (1-r)/0.1))
			if a == 0 {
				continue
			}
			s := patch.RGBAAt(x, y)
			d := dst.RGBAAt(off.X+x, off.Y+y)
			mix := func(p, q uint8) uint8 { return uint8(math.Round(a*float64(p) + (1-a)*float64(q))) }
			dst.SetRGBA(off.X+x, off.Y+y, color.RGBA{mix(s.R, d.R), mix(s.G, d.G), mix(s.B, d.B), 255})
		}
	}
}

// background is a w×h texture without faces: three octaves of smooth
// colour noise (cells of 256, 48 and 8 pixels) under a few dozen flat
// rectangles and discs, the clutter of a room or a street at a glance.
func background(w, h int, rng *rand.Rand) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	acc := make([]float64, 3*w*h)
	for _, oct := range []struct {
		cell   int
		weight float64
	}{{256, 150}, {48, 70}, {8, 35}} {
		gw, gh := w/oct.cell+2, h/oct.cell+2
		grid := make([]float64, 3*gw*gh)
		for i := range grid {
			grid[i] = rng.Float64() - 0.5
		}
		for y := range h {
			fy := float64(y) / float64(oct.cell)
			y0 := int(fy)
			ty := fy - float64(y0)
			for x := range w {
				fx := float64(x) / float64(oct.cell)
				x0 := int(fx)
				tx := fx - float64(x0)
				for c := range 3 {
					at := func(gx, gy int) float64 { return grid[(gy*gw+gx)*3+c] }
					v := (1-ty)*((1-tx)*at(x0, y0)+tx*at(x0+1, y0)) + ty*((1-tx)*at(x0, y0+1)+tx*at(x0+1, y0+1))
					acc[(y*w+x)*3+c] += oct.weight * v
				}
			}
		}
	}
	for i := 0; i < w*h; i++ {
		img.Pix[4*i+0] = clamp8(128 + acc[3*i])
		img.Pix[4*i+1] = clamp8(128 + acc[3*i+1])
		img.Pix[4*i+2] = clamp8(128 + acc[3*i+2])
		img.Pix[4*i+3] = 255
	}
	n := 10 + w*h/40000
	for range n {
		c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		cw, ch := 8+rng.IntN(max(1, w/6)), 8+rng.IntN(max(1, h/6))
		x0, y0 := rng.IntN(w), rng.IntN(h)
		disc := rng.IntN(2) == 0
		for y := y0; y < min(h, y0+ch); y++ {
			for x := x0; x < min(w, x0+cw); x++ {
				if disc {
					dx := (float64(x-x0)+0.5)/float64(cw)*2 - 1
					dy := (float64(y-y0)+0.5)/float64(ch)*2 - 1
					if dx*dx+dy*dy > 1 {
						continue
					}
				}
				img.SetRGBA(x, y, c)
			}
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(math.Round(math.Min(255, math.Max(0, v)))) }

// DetectFunc finds the face boxes in an image.
type DetectFunc func(ctx context.Context, img image.Image) ([]face.Rect, error)

// SizeRate is the detection rate of the faces of one nominal size.
type SizeRate struct {
	Size  int     `json:"size"`
	Faces int     `json:"faces"`
	Found int     `json:"found"`
	Rate  float64 `json:"rate"`
}

// FrameScore is how a detector did on a set of synthetic frames of one
// size.
type FrameScore struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	Frames int `json:"frames"`
	// Sizes are the detection rates by face size, smallest first.
	Sizes []SizeRate `json:"sizes"`
	// FalsePositives counts the detections that matched no pasted face.
	FalsePositives int `json:"false_positives"`
	// MsMean and MsMax are the wall time of one detect call per frame.
	MsMean float64 `json:"ms_per_frame_mean"`
	MsMax  float64 `json:"ms_per_frame_max"`
	// CPUMsMean is the CPU time of one detect call per frame, summed over
	// the cores (when ScoreOptions.CPUClock is set): unlike the wall time
	// it does not grow when other work shares the machine.
	CPUMsMean float64 `json:"cpu_ms_per_frame_mean,omitempty"`
}

// ScoreOptions tunes ScoreFrames.
type ScoreOptions struct {
	// MinIoU is the overlap from which a detected box finds a pasted face.
	MinIoU float64
	// CPUClock, when set, returns the process's CPU time so far; each
	// detect call is then also timed with it.
	CPUClock func() time.Duration
}

// ScoreFrames runs detect on every frame, timing each call, and matches
// its boxes to the pasted faces one to one, greedily by descending IoU: a
// pasted face counts as found when a box overlaps it by IoU ≥ opt.MinIoU.
func ScoreFrames(ctx context.Context, frames []*SyntheticFrame, detect DetectFunc, opt ScoreOptions) (FrameScore, error) {
	var s FrameScore
	if !(opt.MinIoU > 0 && opt.MinIoU <= 1) {
		return s, fmt.Errorf("eval: minimum IoU %v outside (0, 1]", opt.MinIoU)
	}
	if len(frames) == 0 {
		return s, errors.New("eval: no frames to score")
	}
	b := frames[0].Image.Bounds()
	s.Width, s.Height, s.Frames = b.Dx(), b.Dy(), len(frames)
	bySize := map[int]*SizeRate{}
	var total, cpu time.Duration
	for _, fr := range frames {
		var cpu0 time.Duration
		if opt.CPUClock != nil {
			cpu0 = opt.CPUClock()
		}
		start := time.Now()
		boxes, err := detect(ctx, fr.Image)
		took := time.Since(start)
		if err != nil {
			return s, err
		}
		if opt.CPUClock != nil {
			cpu += opt.CPUClock() - cpu0
		}
		total += took
		s.MsMax = math.Max(s.MsMax, took.Seconds()*1e3)
		found := matchBoxes(fr.Faces, boxes, opt.MinIoU)
		for i, f := range fr.Faces {
			r := bySize[f.Size]
			if r == nil {
				r = &SizeRate{Size: f.Size}
				bySize[f.Size] = r
			}
			r.Faces++
			if found[i] {
				r.Found++
			}
		}
		matched := 0
		for _, ok := range found {
			if ok {
				matched++
			}
		}
		s.FalsePositives += len(boxes) - matched
	}
	s.MsMean = total.Seconds() * 1e3 / float64(len(frames))
	s.CPUMsMean = cpu.Seconds() * 1e3 / float64(len(frames))
	for _, r := range bySize {
		r.Rate = float64(r.Found) / float64(r.Faces)
		s.Sizes = append(s.Sizes, *r)
	}
	slices.SortFunc(s.Sizes, func(a, b SizeRate) int { return cmp.Compare(a.Size, b.Size) })
	return s, nil
}

// matchBoxes pairs pasted faces with detected boxes one to one, the pair of
// highest IoU first, and reports which faces got a box with IoU ≥ minIoU.
func matchBoxes(faces []PastedFace, boxes []face.Rect, minIoU float64) []bool {
	type pair struct {
		f, b int
		iou  float64
	}
	var pairs []pair
	for i, f := range faces {
		for j, b := range boxes {
			if iou := rectIoU(f.Box, b); iou >= minIoU {
				pairs = append(pairs, pair{i, j, iou})
			}
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(b.iou, a.iou) })
	found := make([]bool, len(faces))
	used := make([]bool, len(boxes))
	for _, p := range pairs {
		if !found[p.f] && !used[p.b] {
			found[p.f], used[p.b] = true, true
		}
	}
	return found
}

// rectIoU is the intersection over union of two boxes.
func rectIoU(a, b face.Rect) float64 {
	iw := math.Max(0, math.Min(a.X+a.W, b.X+b.W)-math.Max(a.X, b.X))
	ih := math.Max(0, math.Min(a.Y+a.H, b.Y+b.H)-math.Max(a.Y, b.Y))
	inter := iw * ih
	u := a.W*a.H + b.W*b.H - inter
	if !(u > 0) {
		return 0
	}
	return inter / u
}
