package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/tensor"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func evalOneShotCmd() *cobra.Command {
	var (
		pf        pipelineFlags
		root, out string
		crop      bool
		strangers float64
		seed      uint64
		threshold float64
	)
	cmd := &cobra.Command{
		Use:   "oneshot --root DIR",
		Short: "One-shot identification on <person>/<photos>: enrol one photo each, probe with the rest, some people left out as strangers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var embed, enroll eval.EmbedFunc
			if crop {
				m, err := loadDescriptor(cmd, pf.opt.Model)
				if err != nil {
					return err
				}
				embed = func(ctx context.Context, path string) ([]float32, bool, error) {
					t, err := readCrop(path)
					if err != nil {
						return nil, false, err
					}
					ds, err := m.Describe(ctx, []*tensor.Tensor{t})
					if err != nil {
						return nil, false, err
					}
					return ds[0].Vector, true, nil
				}
			} else {
				p, err := pf.load(cmd)
				if err != nil {
					return err
				}
				// Every photo is labelled with one person: take the face
				// it is about, as LFW's protocol does.
				embed = eval.CentredFace(p)
				// Enrol the way `enroll` and `serve` do.
				ep, err := p.ForEnrolment(pf.enrollJitter)
				if err != nil {
					return err
				}
				if ep != p {
					enroll = eval.CentredFace(ep)
				}
			}
			var bar *progressbar.ProgressBar
			res, err := eval.OneShot(cmd.Context(), root, embed, eval.OneShotConfig{Strangers: strangers, Seed: seed, Threshold: threshold, Enroll: enroll},
				func(done, total int) {
					if bar == nil {
						bar = newBar(total, "embedding")
					}
					bar.Set(done)
				})
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				if err := eval.PlotOpenSet(filepath.Join(out, "openset.png"), res.Points); err != nil {
					return err
				}
			}
			fmt.Fprintf(os.Stderr, "rank-1 %.2f%% over %d known probes; at τ=%.3f: %.2f%% identified, %.2f%% of %d stranger probes falsely accepted\n",
				100*res.Rank1, res.Known, res.Threshold, 100*res.DIRAtTau, 100*res.FARAtTau, res.Strangers)
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	pf.register(cmd)
	pf.registerEnroll(cmd) // not used with --crop
	cmd.Flags().StringVar(&root, "root", "", "`DIR` of <person>/<photos>")
	cmd.Flags().StringVar(&out, "out", "", "`DIR` for openset.png")
	cmd.Flags().BoolVar(&crop, "crop", false, "photos are ready face crops (no detection), e.g. AT&T")
	cmd.Flags().Float64Var(&strangers, "strangers", 0.2, "share of people never enrolled (their photos probe as strangers)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for choosing the strangers")
	cmd.Flags().Float64Var(&threshold, "threshold", face.DefaultThreshold, "operating point to report (the pretrained model's threshold by default)")
	cmd.MarkFlagRequired("root")
	return cmd
}
