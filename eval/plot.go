package eval

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Plot images are 6×4.5 inches; at the 96 DPI of gonum's PNG canvas that
// is 576×432 pixels.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4.5 * vg.Inch
	histBins   = 50
)

// palette holds distinguishable line colours, reused cyclically.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
}

// PlotROC draws one or more ROC curves (TAR against FAR), labelled by the
// map keys in sorted order, and writes them to path as a PNG. With logFAR
// the FAR axis is logarithmic, which shows the low-FAR region that matters
// for verification; points with FAR 0 cannot be drawn on it and are left
// out.
func PlotROC(path string, curves map[string][]ROCPoint, logFAR bool) error {
	return plotCurves(path, "ROC", "FAR", "TAR", curves, logFAR)
}

// PlotDoor draws open-set curves (see DoorScores.Curve): the right-person
// rate against the share of strangers let in, on a log axis, one line per
// configuration, and writes them to path as a PNG.
func PlotDoor(path string, curves map[string][]DoorRates) error {
	roc := map[string][]ROCPoint{}
	for name, c := range curves {
		for _, r := range c {
			roc[name] = append(roc[name], ROCPoint{FAR: r.FAR, TAR: r.Right})
		}
	}
	return plotCurves(path, "Open set: one enrolment photo per person", "strangers' attempts let in", "genuine attempts let in as the right person", roc, true)
}

func plotCurves(path, title, xLabel, yLabel string, curves map[string][]ROCPoint, logFAR bool) error {
	if len(curves) == 0 {
		return errors.New("plot roc: no curves")
	}
	names := make([]string, 0, len(curves))
	for name := range curves {
		names = append(names, name)
	}
	sort.Strings(names)

	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Y.Min, p.Y.Max = 0, 1
	minFAR := math.Inf(1)
	for i, name := range names {
		var xys plotter.XYs
		for _, pt := range curves[name] {
			if !inUnit(pt.FAR) || !inUnit(pt.TAR) {
				return fmt.Errorf("plot roc: curve %q has a point outside [0, 1]: FAR %v, TAR %v", name, pt.FAR, pt.TAR)
			}
			if logFAR && pt.FAR == 0 {
				continue
			}
			minFAR = math.Min(minFAR, pt.FAR)
			xys = append(xys, plotter.XY{X: pt.FAR, Y: pt.TAR})
		}
		if len(xys) == 0 {
			return fmt.Errorf("plot roc: curve %q has no drawable points", name)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot roc: curve %q: %w", name, err)
		}
		line.Color = palette[i%len(palette)]
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(name, line)
	}
	if logFAR {
		// Start at a power of ten so the log ticks have a labelled anchor.
		p.X.Min = math.Pow(10, math.Floor(math.Log10(minFAR)))
		p.X.Max = 1
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.X.Min, p.X.Max = 0, 1
	}
	p.Add(plotter.NewGrid())
	return savePNG(p, path, "plot roc")
}

// PlotHistogram draws the distributions of matched and mismatched pair
// distances on shared bins, each normalised to sum to 1 so that classes of
// different sizes compare fairly, with a vertical line at the threshold
// tau, and writes them to path as a PNG. No-face pairs (NaN distances) have
// no distance to draw; their number is given in the title.
func PlotHistogram(path string, distances []float64, same []bool, tau float64) error {
	if err := checkLengths(distances, same); err != nil {
		return fmt.Errorf("plot histogram: %w", err)
	}
	if math.IsNaN(tau) || math.IsInf(tau, 0) {
		return fmt.Errorf("plot histogram: threshold %v is not finite", tau)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	skipped := 0
	for _, d := range distances {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			skipped++
			continue
		}
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	if skipped == len(distances) {
		return errors.New("plot histogram: no finite distances")
	}
	lo, hi = math.Min(lo, tau), math.Max(hi, tau)
	width := (hi - lo) / histBins
	if !(width > 0) {
		// A single value (or values closer than float64 can split into
		// bins) still needs bins of non-zero width.
		pad := math.Max(0.5, math.Abs(lo)*1e-6)
		lo, hi = lo-pad, hi+pad
		width = (hi - lo) / histBins
	}
	counts := [2][]float64{make([]float64, histBins), make([]float64, histBins)}
	totals := [2]float64{}
	for i, d := range distances {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			continue
		}
		// Clamp in float64 so that no rounding can index past the end.
		b := int(math.Min((d-lo)/width, histBins-1))
		c := 0
		if same[i] {
			c = 1
		}
		counts[c][b]++
		totals[c]++
	}

	p := plot.New()
	p.Title.Text = "Pair distances"
	if skipped > 0 {
		p.Title.Text += fmt.Sprintf(" (%d pairs without a distance)", skipped)
	}
	p.X.Label.Text = "distance"
	p.Y.Label.Text = "fraction of pairs"
	p.Y.Min = 0
	p.Legend.Top = true
	labels := [2]string{"different", "same"}
	// Translucent fills let the overlap of the two classes show through.
	fills := [2]color.Color{
		color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x80},
		color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0x80},
	}
	top := 0.0
	for c := range counts {
		if totals[c] == 0 {
			continue
		}
		bins := make([]plotter.HistogramBin, histBins)
		for b := range bins {
			bins[b] = plotter.HistogramBin{
				Min:    lo + float64(b)*width,
				Max:    lo + float64(b+1)*width,
				Weight: counts[c][b] / totals[c],
			}
			top = math.Max(top, bins[b].Weight)
		}
		h := &plotter.Histogram{
			Bins:      bins,
			Width:     width,
			FillColor: fills[c],
			LineStyle: plotter.DefaultLineStyle,
		}
		h.LineStyle.Width = vg.Points(0.5)
		p.Add(h)
		p.Legend.Add(labels[c], h)
	}
	line, err := plotter.NewLine(plotter.XYs{{X: tau, Y: 0}, {X: tau, Y: top * 1.05}})
	if err != nil {
		return fmt.Errorf("plot histogram: %w", err)
	}
	line.Width = vg.Points(1.5)
	line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(line)
	p.Legend.Add(fmt.Sprintf("τ = %.4g", tau), line)
	return savePNG(p, path, "plot histogram")
}

// PlotOpenSet draws an open-set identification curve (DIR against FAR) and
// writes it to path as a PNG.
func PlotOpenSet(path string, points []OpenSetPoint) error {
	var xys plotter.XYs
	for _, pt := range points {
		if !inUnit(pt.FAR) || !inUnit(pt.DIR) {
			return fmt.Errorf("plot open set: point outside [0, 1]: FAR %v, DIR %v", pt.FAR, pt.DIR)
		}
		xys = append(xys, plotter.XY{X: pt.FAR, Y: pt.DIR})
	}
	if len(xys) == 0 {
		return errors.New("plot open set: no points")
	}
	p := plot.New()
	p.Title.Text = "Open-set identification"
	p.X.Label.Text = "FAR (strangers accepted)"
	p.Y.Label.Text = "DIR (known probes identified)"
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = 0, 1
	line, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("plot open set: %w", err)
	}
	line.Color = palette[0]
	line.Width = vg.Points(1.5)
	p.Add(plotter.NewGrid(), line)
	return savePNG(p, path, "plot open set")
}

// inUnit reports whether v is a rate in [0, 1].
func inUnit(v float64) bool { return v >= 0 && v <= 1 }

// savePNG renders p as a PNG whatever the extension of path.
func savePNG(p *plot.Plot, path, op string) (err error) {
	w, err := p.WriterTo(plotWidth, plotHeight, "png")
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", op, cerr)
		}
	}()
	if _, err := w.WriteTo(f); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
