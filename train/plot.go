package train

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotCurves writes loss.png (training loss per epoch) and, when the run
// was validated, val.png (held-out rank-1 per epoch) into dir.
func plotCurves(dir string, logs []EpochLog) error {
	if len(logs) == 0 {
		return nil
	}
	line := func(file, title, ylabel string, y func(EpochLog) float64) error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		pts := make(plotter.XYs, len(logs))
		for i, l := range logs {
			pts[i].X, pts[i].Y = float64(l.Epoch), y(l)
		}
		ln, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("train: plot %s: %w", file, err)
		}
		p.Add(ln, plotter.NewGrid())
		if err := p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(dir, file)); err != nil {
			return fmt.Errorf("train: plot %s: %w", file, err)
		}
		return nil
	}
	if err := line("loss.png", "Training loss", "loss", func(l EpochLog) float64 { return l.Loss }); err != nil {
		return err
	}
	if logs[len(logs)-1].ValRank1 > 0 || logs[0].ValRank1 > 0 {
		return line("val.png", "Held-out one-shot rank-1", "rank-1", func(l EpochLog) float64 { return l.ValRank1 })
	}
	return nil
}
