package face

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"

	"github.com/facerec/facerec/internal/parallel"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/tensor"
)

// DefaultSmallFaceSize is the smallest face, in image pixels, that the
// pipeline looks for in a large frame (Options.SmallFaceSize).
const DefaultSmallFaceSize = 40

// The small-face search is an image pyramid over the frame: levels at
// finer scales than the whole-frame pass, each run as one pass over the
// frame or, where that pass would be large, in overlapping square tiles
// (docs/small-faces.md has the measurements behind these numbers).
const (
	// tinyMinFace is the face side, in detector input pixels, from which
	// the tiny detector finds faces reliably. On 1920×1080 synthetic
	// frames of pasted LFW faces it finds 1 in 6 at 27 px, 3 in 6 at 37 px,
	// 5 in 6 at 40 px and all from about 50 px.
	tinyMinFace = 40
	// pyramidStep is the ratio of two levels' scales: the faces a level
	// must find are those from tinyMinFace to pyramidStep·tinyMinFace
	// input pixels; larger ones are the next, coarser level's.
	pyramidStep = 2
	// tileInput is a tile's side in detector input pixels: a multiple of
	// 32, larger than the default input so that the overlap costs less.
	tileInput = 640
	// tileOverlap is how far two neighbouring tiles overlap, in input
	// pixels. Each tile keeps only the faces centred in its own share of
	// the overlap, so a face up to tileOverlap wide (pyramidStep·
	// tinyMinFace and a margin for the box) lies wholly inside the tile
	// that keeps it, and no face is kept twice.
	tileOverlap = 128
	// maxWholeInput is the largest input size at which a level runs as one
	// pass over the whole frame: a pooled arena keeps the memory of the
	// largest pass it served, and tiles bound it.
	maxWholeInput = 832
	// wholeFrameReach is how far below the whole-frame pass's scale a level
	// must be to be run: within it the whole-frame pass sees the same
	// faces at nearly the same size.
	wholeFrameReach = 1.25
	// maxSearchPixels bounds the cost of the search: in a frame larger than
	// 4K the smallest face looked for grows with the frame's side, so a
	// 12-megapixel photo costs what a 4K frame does (faces from 48 px), not
	// half as much again.
	maxSearchPixels = 3840 * 2160
)

// pyramidPass is one detector pass of the small-face search: the region
// of the frame it reads (x, y, w, h in image pixels), the input size it is
// resized to, and the part of the frame it keeps the faces of (those whose
// box centre falls inside core; the whole plane for a whole-frame pass).
type pyramidPass struct {
	level  int // 0 the finest
	region rectInt
	size   int
	core   span
}

// span is the box [x0, x1) × [y0, y1), whose bounds may be infinite.
type span struct{ x0, y0, x1, y1 float64 }

func (s span) contains(x, y float64) bool { return s.x0 <= x && x < s.x1 && s.y0 <= y && y < s.y1 }

// smallFacePasses plans the small-face search of a w×h frame: none when
// the whole-frame pass at InputSize already sees faces of SmallFaceSize
// pixels at nearly tinyMinFace input pixels (a frame up to
// wholeFrameReach·InputSize·SmallFaceSize/tinyMinFace on its longer side:
// 520 pixels for the defaults, so LFW's 250×250 images are never
// searched), when the search is off, or
// for a detector that ignores its input size. Otherwise the levels go from
// the scale at which a SmallFaceSize face is tinyMinFace input pixels,
// coarser by pyramidStep, while they stay finer than the whole-frame pass
// by more than wholeFrameReach. A level runs as one pass when that costs
// no more than its tiles and stays within maxWholeInput. Above
// maxSearchPixels the smallest face grows with the frame's side.
func (p *Pipeline) smallFacePasses(w, h int) []pyramidPass {
	if p.opt.SmallFaceSize < 0 || !p.det.multiScale() {
		return nil
	}
	s0 := float64(p.opt.InputSize) / float64(max(w, h))
	var passes []pyramidPass
	everywhere := span{math.Inf(-1), math.Inf(-1), math.Inf(1), math.Inf(1)}
	level := -1
	minFace := float64(p.opt.SmallFaceSize) * math.Max(1, math.Sqrt(float64(w)*float64(h)/maxSearchPixels))
	for s := tinyMinFace / minFace; s > wholeFrameReach*s0; s /= pyramidStep {
		level++
		whole := roundUp32(float64(max(w, h)) * s)
		side := int(math.Round(tileInput / s)) // a tile's side in image pixels
		overlap := int(math.Ceil(tileOverlap / s))
		xs, ys := tileStarts(w, side, overlap), tileStarts(h, side, overlap)
		if whole <= maxWholeInput && whole*whole <= len(xs)*len(ys)*tileInput*tileInput {
			passes = append(passes, pyramidPass{level: level, region: rectInt{0, 0, w, h}, size: whole, core: everywhere})
			continue
		}
		for i, x := range xs {
			for j, y := range ys {
				r := rectInt{x, y, min(side, w-x), min(side, h-y)}
				size := roundUp32(float64(max(r.w, r.h)) * s)
				if max(r.w, r.h) == side {
					size = tileInput
				}
				passes = append(passes, pyramidPass{level: level, region: r, size: size, core: tileCore(xs, ys, i, j, side)})
			}
		}
	}
	return passes
}

// tileStarts places tiles of side along an axis of length n, as few as
// overlap by at least overlap, spread evenly from one end to the other.
func tileStarts(n, side, overlap int) []int {
	if n <= side {
		return []int{0}
	}
	stride := side - overlap
	k := (n-side+stride-1)/stride + 1
	out := make([]int, k)
	for i := range out {
		out[i] = int(math.Round(float64(i) * float64(n-side) / float64(k-1)))
	}
	return out
}

// tileCore is tile (i, j)'s share of the frame: up to the middle of its
// overlap with each neighbour, unbounded where it has none.
func tileCore(xs, ys []int, i, j, side int) span {
	lo := func(starts []int, k int) float64 {
		if k == 0 {
			return math.Inf(-1)
		}
		return float64(starts[k-1]+side+starts[k]) / 2
	}
	hi := func(starts []int, k int) float64 {
		if k == len(starts)-1 {
			return math.Inf(1)
		}
		return float64(starts[k]+side+starts[k+1]) / 2
	}
	return span{lo(xs, i), lo(ys, j), hi(xs, i), hi(ys, j)}
}

func roundUp32(v float64) int { return max(32, int(math.Ceil(v/32))*32) }

// detectSmall runs the small-face search on img (see smallFacePasses), the
// passes spread over the cores, each with its own arena, and returns the
// faces it found, merged across passes by non-maximum suppression at
// mergeIoU, in frame pixels. It returns nil when the frame needs no search.
func (p *Pipeline) detectSmall(ctx context.Context, img *tensor.Tensor) ([]model.Detection, error) {
	passes := p.smallFacePasses(img.Shape[1], img.Shape[0])
	if len(passes) == 0 {
		return nil, nil
	}
	found := make([][]model.Detection, len(passes))
	var (
		mu       sync.Mutex
		firstErr error
	)
	err := parallel.For(ctx, len(passes), 0, func(i int) {
		arena := p.arenas.get()
		defer p.arenas.put(arena)
		dets, err := p.detectPass(arena, img, passes[i])
		if err != nil {
			mu.Lock()
			firstErr = cmp.Or(firstErr, err)
			mu.Unlock()
			return
		}
		found[i] = dets
	})
	if err = cmp.Or(firstErr, err); err != nil {
		return nil, err
	}
	return model.NMS(slices.Concat(found...), mergeIoU, 0), nil
}

// detectPass runs one pass of the small-face search: the detector on the
// pass's region at its input size, keeping the faces centred in its core,
// their boxes moved into frame pixels.
func (p *Pipeline) detectPass(arena *tensor.Arena, img *tensor.Tensor, ps pyramidPass) ([]model.Detection, error) {
	region := img
	if ps.region.w != img.Shape[1] || ps.region.h != img.Shape[0] {
		region = sliceHWC(arena, img, ps.region)
	}
	dets, err := p.detect(arena, region, ps.size, p.opt.MinScore)
	if err != nil {
		return nil, err
	}
	out := dets[:0]
	for _, d := range dets {
		d.Box.X += float64(ps.region.x)
		d.Box.Y += float64(ps.region.y)
		if ps.core.contains(d.Box.X+d.Box.W/2, d.Box.Y+d.Box.H/2) {
			out = append(out, d)
		}
	}
	return out, nil
}
