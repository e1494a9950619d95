package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/recognition"
)

// livenessFlags are --liveness and --liveness-threshold of the commands
// that open the door (identify, serve): the passive anti-spoofing network
// must call a face live before it is matched.
type livenessFlags struct {
	on        bool
	threshold float64
	checker   recognition.LivenessChecker // loaded by load when on
}

func (f *pipelineFlags) registerLiveness(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.liveness.on, "liveness", false, "refuse a face the passive liveness network does not call live (refused: not_live; limits in docs/security.md)")
	fl.Float64Var(&f.liveness.threshold, "liveness-threshold", analysis.LivenessThreshold, "liveness score below which --liveness refuses a face")
}

// loadLiveness loads the liveness network when --liveness is on; service
// then requires it.
func (f *pipelineFlags) loadLiveness(cmd *cobra.Command) error {
	if !f.liveness.on {
		return nil
	}
	if f.liveness.threshold <= 0 || f.liveness.threshold >= 1 {
		return fmt.Errorf("--liveness-threshold: want a score in (0, 1), not %v", f.liveness.threshold)
	}
	dir, err := modelDir(cmd)
	if err != nil {
		return err
	}
	a, err := analysis.Load(cmd.Context(), dir, analysis.Options{Liveness: true}, os.Stderr)
	if err != nil {
		return fmt.Errorf("--liveness: %w", err)
	}
	f.liveness.checker = a
	return nil
}
