package main

import (
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
		format   formatFlag
	)
	cmd := &cobra.Command{
		Use:   "verify A B",
		Short: "Do two photos show the same person (the face at the centre of each)? JSON {distance, threshold, same}",
		Long: "A is the reference (an enrolment or ID photo), B the probe (the photo taken at the door): the door's checks, " +
			"--liveness and --quality, apply to B. A probe that is not live is refused (refused: not_live), a poor one " +
			"with --quality refuse is refused poor_quality (try again), its reasons in quality_reasons.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := format.check(); err != nil {
				return err
			}
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
			if err := pf.loadLiveness(cmd); err != nil {
				return err
			}
			if err := pf.loadQuality(cmd); err != nil {
				return err
			}
			cfg := recognition.Config{Recognizer: p, Decision: d, Head: head}
			if pf.liveness.checker != nil {
				cfg.Liveness, cfg.LivenessThreshold = pf.liveness.checker, pf.liveness.threshold
			}
			pf.quality.configure(&cfg)
			svc, err := recognition.New(cfg)
			if err != nil {
				return err
			}
			var imgs [2]image.Image
			for i, path := range args {
				if imgs[i], _, err = photo.DecodeFile(path, photo.Options{}); err != nil {
					return err
				}
			}
			dec, err := svc.CompareProbe(cmd.Context(), imgs[0], imgs[1])
			if pe := (*recognition.PhotoError)(nil); errors.As(err, &pe) {
				return fmt.Errorf("%s: %w", args[pe.Index], pe.Err)
			}
			if err != nil {
				return err
			}
			return writeVerify(format.name, cmd.OutOrStdout(), args[0], args[1], p.Model().ID(), dec)
		},
	}
	pf.register(cmd)
	format.register(cmd)
	pf.registerDecision(cmd)
	pf.registerLiveness(cmd)
	pf.registerQuality(cmd, false, true)
	cmd.Flags().StringVar(&headPath, "head", "", "decide with a logistic head (the JSON `FILE` that facerec train-head writes) instead of the threshold")
	return cmd
}
