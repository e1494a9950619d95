package style

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PlotCosts draws the weighted cost terms (α·J_content, β·J_style, γ·TV)
// and the total against the step on a logarithmic axis and writes them to
// path as a PNG. Terms that are zero throughout are left out.
func PlotCosts(path string, cfg Config, steps []Step) (err error) {
	if len(steps) == 0 {
		return errors.New("style: plot: no steps")
	}
	p := plot.New()
	p.Title.Text = "style transfer cost"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "weighted cost"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	series := []struct {
		name string
		col  color.Color
		val  func(s Step) float64
	}{
		{"total", color.Black, func(s Step) float64 { return s.Total }},
		{"α·content", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, func(s Step) float64 { return cfg.ContentWeight * s.Content }},
		{"β·style", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, func(s Step) float64 { return cfg.StyleWeight * s.Style }},
		{"γ·TV", color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, func(s Step) float64 { return cfg.TVWeight * s.TV }},
	}
	for _, ser := range series {
		var xys plotter.XYs
		for _, s := range steps {
			if v := ser.val(s); v > 0 && !math.IsInf(v, 0) {
				xys = append(xys, plotter.XY{X: float64(s.Step), Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("style: plot: %w", err)
		}
		line.Color = ser.col
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(ser.name, line)
	}
	p.Add(plotter.NewGrid())
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("style: plot: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("style: plot: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("style: plot: %w", cerr)
		}
	}()
	if _, err := wt.WriteTo(f); err != nil {
		return fmt.Errorf("style: plot: %w", err)
	}
	return nil
}
