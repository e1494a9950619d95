package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/facerec/facerec/eval"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func evalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Measure accuracy on labelled face data"}
	cmd.AddCommand(evalLFWCmd(), evalOneShotCmd(), evalDoorCmd(), evalSmallFacesCmd())
	return cmd
}

// newBar is a progress bar on stderr. Off a terminal (a log file) it is
// redrawn every 15 s instead of five times a second, so that a long run
// leaves a readable trace rather than megabytes of redraws.
func newBar(total int, what string) *progressbar.ProgressBar {
	throttle := 200 * time.Millisecond
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		throttle = 15 * time.Second
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(what),
		progressbar.OptionThrottle(throttle),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
	)
}

func evalLFWCmd() *cobra.Command {
	var (
		pf        pipelineFlags
		root      string
		pairsPath string
		out       string
		head      bool
	)
	cmd := &cobra.Command{
		Use:   "lfw --root DIR --pairs FILE",
		Short: "The LFW protocol: 10 folds, threshold chosen on nine, accuracy on the tenth; ROC, AUC, EER, TAR@FAR",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := evaluatePairsFile(cmd, &pf, root, pairsPath, head)
			if err != nil {
				return err
			}
			if out != "" {
				if err := writeLFWReport(out, res); err != nil {
					return err
				}
			}
			fmt.Fprintf(os.Stderr, "accuracy %.2f%% ± %.2f%% over %d pairs (%d images without a face, %.2f%%); AUC %.4f, EER %.4f, TAR@FAR=1e-3 %.4f\n",
				100*res.MeanAccuracy, 100*res.StdAccuracy, res.Pairs, res.ImagesNoFace, 100*res.MissRate, res.AUC, res.EER, res.TARAtFAR1e3)
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				Options any `json:"options"`
				*eval.PairsResult
			}{pf.opt, res})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&root, "root", "", "`DIR` of <name>/<name>_NNNN.jpg images (e.g. lfw/deepfunneled)")
	cmd.Flags().StringVar(&pairsPath, "pairs", "", "pairs `FILE` in LFW format (pairs.txt, pairsDevTest.txt, ...)")
	cmd.Flags().StringVar(&out, "out", "", "`DIR` for summary.json, roc.png, distances.png and pairs.csv (every pair, its distance and whether it was decided right)")
	cmd.Flags().BoolVar(&head, "head", false, "also train the logistic head on nine folds and test it on the tenth")
	cmd.MarkFlagRequired("root")
	cmd.MarkFlagRequired("pairs")
	return cmd
}

// evaluatePairsFile runs the pipeline over a pairs file's images (with a
// progress bar) and scores the pairs.
func evaluatePairsFile(cmd *cobra.Command, pf *pipelineFlags, root, pairsPath string, head bool) (*eval.PairsResult, error) {
	f, err := os.Open(pairsPath)
	if err != nil {
		return nil, err
	}
	pairs, err := eval.ParsePairs(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pairsPath, err)
	}
	p, err := pf.load(cmd)
	if err != nil {
		return nil, err
	}
	var bar *progressbar.ProgressBar
	return eval.EvaluatePairs(cmd.Context(), p, root, pairs, head, func(done, total int) {
		if bar == nil {
			bar = newBar(total, "embedding")
		}
		bar.Set(done)
	})
}

func writeLFWReport(dir string, res *eval.PairsResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), raw, 0o644); err != nil {
		return err
	}
	points, err := eval.ROC(res.Distances, res.Same)
	if err != nil {
		return err
	}
	if err := eval.PlotROC(filepath.Join(dir, "roc.png"), map[string][]eval.ROCPoint{"facerec": points}, true); err != nil {
		return err
	}
	if err := eval.PlotHistogram(filepath.Join(dir, "distances.png"), res.Distances, res.Same, res.MeanThreshold); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "pairs.csv"))
	if err != nil {
		return err
	}
	if err := res.WriteCSV(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
