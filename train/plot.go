package train

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// series is one named line of a per-epoch plot.
type series struct {
	name  string
	color color.Color
	y     func(EpochLog) float64
}

// plotCurves writes loss.png (training loss per epoch), active.png (the
// share of active triplets or pairs), for the triplet loss dist.png (the
// mean d(a,p) and d(a,n) of the mined triplets: collapse shows as both
// falling to zero) and, when the run was validated, val.png (held-out
// rank-1 per epoch) into dir.
func plotCurves(dir string, logs []EpochLog) error {
	if len(logs) == 0 {
		return nil
	}
	line := func(file, title, ylabel string, ss ...series) error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		for _, s := range ss {
			pts := make(plotter.XYs, len(logs))
			for i, l := range logs {
				pts[i].X, pts[i].Y = float64(l.Epoch), s.y(l)
			}
			ln, err := plotter.NewLine(pts)
			if err != nil {
				return fmt.Errorf("train: plot %s: %w", file, err)
			}
			if s.color != nil {
				ln.Color = s.color
			}
			p.Add(ln)
			if s.name != "" {
				p.Legend.Add(s.name, ln)
			}
		}
		p.Legend.Top = true
		if err := p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(dir, file)); err != nil {
			return fmt.Errorf("train: plot %s: %w", file, err)
		}
		return nil
	}
	if err := line("loss.png", "Training loss", "loss", series{y: func(l EpochLog) float64 { return l.Loss }}); err != nil {
		return err
	}
	if err := line("active.png", "Active triplets (or pairs)", "share of the mined ones",
		series{y: func(l EpochLog) float64 { return l.ActiveFraction }}); err != nil {
		return err
	}
	if logs[len(logs)-1].PosDist > 0 || logs[len(logs)-1].NegDist > 0 {
		if err := line("dist.png", "Mean distances of the mined triplets", "distance",
			series{"d(a,p)", color.RGBA{R: 200, A: 255}, func(l EpochLog) float64 { return l.PosDist }},
			series{"d(a,n)", color.RGBA{B: 200, A: 255}, func(l EpochLog) float64 { return l.NegDist }}); err != nil {
			return err
		}
	}
	if logs[len(logs)-1].ValRank1 > 0 || logs[0].ValRank1 > 0 {
		return line("val.png", "Held-out one-shot rank-1", "rank-1", series{y: func(l EpochLog) float64 { return l.ValRank1 }})
	}
	return nil
}
