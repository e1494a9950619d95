package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
	"github.com/spf13/cobra"
)

func verifyCmd() *cobra.Command {
	var (
		pf       pipelineFlags
		headPath string
	)
	cmd := &cobra.Command{
		Use:   "verify A B",
		Short: "Do two photos show the same person (the face at the centre of each)? JSON {distance, threshold, same}",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var head *face.LogisticHead
			if headPath != "" {
				f, err := os.Open(headPath)
				if err != nil {
					return err
				}
				head, err = face.LoadLogisticHead(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", headPath, err)
				}
			}
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			d, err := pf.rule(p.Model())
			if err != nil {
				return err
			}
			svc, err := recognition.New(recognition.Config{Recognizer: p, Decision: d, Head: head})
			if err != nil {
				return err
			}
			var imgs [2]image.Image
			for i, path := range args {
				if imgs[i], _, err = photo.DecodeFile(path, photo.Options{}); err != nil {
					return err
				}
			}
			dec, err := svc.Compare(cmd.Context(), imgs[0], imgs[1])
			if pe := (*recognition.PhotoError)(nil); errors.As(err, &pe) {
				return fmt.Errorf("%s: %w", args[pe.Index], pe.Err)
			}
			if err != nil {
				return err
			}
			out := map[string]any{
				"a": args[0], "b": args[1], "model": p.Model().ID(),
				"distance": dec.Distance, "threshold": dec.Threshold, "same": dec.Same, "decided_by": "threshold",
			}
			if dec.Probability != nil {
				out["probability"], out["decided_by"] = *dec.Probability, "head"
			}
			if dec.Confidence != nil {
				out["confidence"] = *dec.Confidence
			}
			return json.NewEncoder(os.Stdout).Encode(out)
		},
	}
	pf.register(cmd)
	pf.registerDecision(cmd)
	cmd.Flags().StringVar(&headPath, "head", "", "decide with a logistic head (the JSON `FILE` that facerec train-head writes) instead of the threshold")
	return cmd
}
