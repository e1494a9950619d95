package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/facerec/facerec/eval"
	"github.com/spf13/cobra"
)

func trainHeadCmd() *cobra.Command {
	var (
		pf                   pipelineFlags
		root, pairsPath, out string
	)
	cmd := &cobra.Command{
		Use:   "train-head --root DIR --pairs FILE --out HEAD.json",
		Short: "Learn the binary Siamese head σ(Σ w_k |f(a)_k − f(b)_k| + b) on labelled pairs, on top of the frozen pretrained encoder",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := evaluatePairsFile(cmd, &pf, root, pairsPath, true)
			if err != nil {
				return err
			}
			head, err := eval.TrainLogisticHead(res.Features, res.Same, eval.LogisticOptions{})
			if err != nil {
				return err
			}
			w, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := head.Save(w); err != nil {
				w.Close()
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "head saved to %s; k-fold accuracy of the head %.2f%% (threshold on distance: %.2f%%)\n",
				out, 100*res.Head.MeanAccuracy, 100*res.MeanAccuracy)
			return json.NewEncoder(os.Stdout).Encode(map[string]any{
				"head": out, "pairs": res.Pairs, "kfold_head_accuracy": res.Head.MeanAccuracy,
				"kfold_threshold_accuracy": res.MeanAccuracy, "images_no_face": res.ImagesNoFace,
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&root, "root", "", "image `DIR` of the pairs file")
	cmd.Flags().StringVar(&pairsPath, "pairs", "", "labelled pairs `FILE` in LFW format (e.g. pairsDevTrain.txt)")
	cmd.Flags().StringVar(&out, "out", "head.json", "write the head to this JSON `FILE`")
	cmd.MarkFlagRequired("root")
	cmd.MarkFlagRequired("pairs")
	return cmd
}
