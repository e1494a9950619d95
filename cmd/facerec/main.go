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
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/tensor/gemm"
	"github.com/facerec/facerec/tensor/vec"
	"github.com/spf13/cobra"
)

// version describes the build for --version: the module version and
// revision, the Go toolchain, the kernels this CPU runs, and each model's
// ID (which names its files' checksums).
func version() string {
	v, rev := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = " rev " + s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				if s.Value == "true" {
					rev += " (modified)"
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "facerec %s%s\n%s %s/%s, GEMM kernel %s, vector kernel %s\nmodels:\n", v, rev,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, gemm.Kernel(), vec.Kernel())
	for _, m := range append(registry.All(), registry.Optional()...) {
		fmt.Fprintf(&b, "  %s (%s)\n", m.ID(), m.NPM())
	}
	return b.String()
}

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
	root.Version = version()
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(modelsCmd(), detectCmd(), analyzeCmd(), embedCmd(), verifyCmd(), distanceCmd(), evalCmd(), trainCmd(), trainHeadCmd(), benchCmd(), serveCmd(), enrollCmd(), identifyCmd(), peopleCmd(), galleryCmd(), keysCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "facerec:", err)
		}
		os.Exit(1)
	}
}
