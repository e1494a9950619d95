package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/facerec/facerec"
	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/spf13/cobra"
)

func verifyCmd() *cobra.Command {
	var (
		pf        pipelineFlags
		threshold float64
		headPath  string
	)
	cmd := &cobra.Command{
		Use:   "verify A B",
		Short: "Are the most prominent faces of two photos the same person? JSON {distance, threshold, same}",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var head *eval.LogisticHead
			if headPath != "" {
				f, err := os.Open(headPath)
				if err != nil {
					return err
				}
				head, err = eval.LoadLogisticHead(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", headPath, err)
				}
			}
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			var ds [2]face.Descriptor
			for i, path := range args {
				img, _, err := photo.DecodeFile(path, photo.Options{})
				if err != nil {
					return err
				}
				faces, err := p.Faces(photo.ToTensor(img))
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				if len(faces) == 0 {
					return fmt.Errorf("%s: no face found", path)
				}
				ds[i] = facerec.Prominent(faces).Descriptor
			}
			out := map[string]any{"a": args[0], "b": args[1]}
			d := face.Distance(ds[0], ds[1])
			out["distance"], out["threshold"], out["same"] = d, threshold, d < threshold
			if head != nil {
				feat, err := eval.AbsDiff(ds[0][:], ds[1][:])
				if err != nil {
					return err
				}
				prob, err := head.Predict(feat)
				if err != nil {
					return err
				}
				out["probability"], out["same"], out["decided_by"] = prob, prob >= 0.5, "head"
			}
			return json.NewEncoder(os.Stdout).Encode(out)
		},
	}
	pf.register(cmd)
	cmd.Flags().Float64Var(&threshold, "threshold", face.DefaultThreshold, "same person when the distance is below this")
	cmd.Flags().StringVar(&headPath, "head", "", "decide with a trained logistic head (JSON from `facerec train-head`) instead of the threshold")
	return cmd
}
