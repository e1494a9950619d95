// Command facerec is the command-line face of the facerec engine: fetch the
// pretrained models, embed and compare faces, and benchmark the engine.
//
// Results are JSON on stdout (one object or one line per input); progress
// and errors are human text on stderr; the exit status is non-zero when
// anything failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

// errReported marks a failure already explained on stderr (per-file errors),
// so main only sets the exit status.
var errReported = errors.New("some inputs failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := &cobra.Command{
		Use:           "facerec",
		Short:         "One-shot face recognition in pure Go",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("models", "", "model directory (default $FACEREC_MODELS or the user cache dir)")
	root.AddCommand(modelsCmd(), detectCmd(), embedCmd(), verifyCmd(), distanceCmd(), evalCmd(), trainCmd(), trainHeadCmd(), benchCmd(), serveCmd(), enrollCmd(), identifyCmd(), peopleCmd(), galleryCmd(), keysCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "facerec:", err)
		}
		os.Exit(1)
	}
}
