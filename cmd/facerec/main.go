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
	"io"
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

// errReported marks a failure already explained on stderr, so main only
// sets the exit status.
var errReported = errors.New("some inputs failed")

// Exit statuses, documented in the root help and the README.
const (
	exitOK      = 0 // everything asked for was done
	exitFailure = 1 // a failure, or a partial success: some inputs failed (each named on stderr), the others' results were printed
	exitUsage   = 2 // the command line itself was wrong: unknown command or flag, wrong arguments; nothing was done
)

const exitHelp = `Exit status: 0 when everything was done; 1 on failure, and on partial success
(some inputs failed, each named on stderr, and the others' results were printed;
a last line says how many); 2 when the command line is wrong (nothing was done).

Results go to stdout (JSON lines unless --format says otherwise); progress bars,
notes and errors (each prefixed "facerec:") go to stderr.
`

// usageError is a wrong command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usageErrorf is a usageError with a formatted message.
func usageErrorf(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// partialError says how many of a command's inputs failed, each already
// reported on stderr; the others were done and their results printed.
type partialError struct {
	failed, total int
	what          string // the inputs, plural: "photos"
}

func (e *partialError) Error() string {
	if e.failed >= e.total {
		return fmt.Sprintf("all %d %s failed", e.total, e.what)
	}
	rest := fmt.Sprintf("the other %d were done", e.total-e.failed)
	if e.total-e.failed == 1 {
		rest = "the other one was done"
	}
	return fmt.Sprintf("partial success: %d of %d %s failed (named above), %s", e.failed, e.total, e.what, rest)
}

// partial returns a *partialError when any input failed, else nil.
func partial(failed, total int, what string) error {
	switch {
	case failed == 0:
		return nil
	case total == 1:
		return errReported // its one error says it all
	}
	return &partialError{failed, total, what}
}

// rootCmd is the whole command tree.
func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "facerec",
		Short:         "One-shot face recognition in pure Go",
		Long:          "One-shot face recognition in pure Go: enrol a person from one photo, then identify them.\n\n" + exitHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("models", "", "model `DIR` (default $FACEREC_MODELS or the user cache dir)")
	root.Version = version()
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(modelsCmd(), detectCmd(), analyzeCmd(), embedCmd(), verifyCmd(), distanceCmd(), evalCmd(), trainCmd(), trainHeadCmd(), benchCmd(), styleCmd(), visualizeCmd(), serveCmd(), auditCmd(), enrollCmd(), identifyCmd(), peopleCmd(), galleryCmd(), keysCmd())
	markUsageErrors(root)
	return root
}

// markUsageErrors makes the flag and argument errors of every command
// usageErrors (exit status 2).
func markUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return usageError{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// exitStatus reports err (unless already reported) on stderr and returns
// the exit status for it.
func exitStatus(err error, cmd *cobra.Command, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	if !errors.Is(err, errReported) {
		// One line: cobra's suggestions come on lines of their own.
		one := strings.Replace(msg, "\n\nDid you mean this?\n", "; did you mean:\n", 1)
		fmt.Fprintln(stderr, "facerec:", strings.Join(strings.Fields(one), " "))
	}
	// Cobra's own checks (unknown command, missing required flag) return
	// plain errors.
	if errors.As(err, new(usageError)) || strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "required flag") {
		if cmd == nil {
			cmd = rootCmd()
		}
		use := cmd.UseLine()
		if cmd.HasAvailableSubCommands() {
			use = cmd.CommandPath() + " COMMAND"
		}
		fmt.Fprintf(stderr, "facerec: usage: %s (see '%s --help')\n", use, cmd.CommandPath())
		return exitUsage
	}
	return exitFailure
}

// execute runs the command line args on root, returning the command it
// ran (or tried) and its error.
func execute(ctx context.Context, root *cobra.Command, args []string) (*cobra.Command, error) {
	// Cobra shows the help of a group (facerec people) whatever words
	// follow, a mistyped subcommand too, and succeeds.
	if c, rest, err := root.Find(args); err == nil && c != root && !c.Runnable() && c.HasAvailableSubCommands() {
		for _, a := range rest {
			if strings.HasPrefix(a, "-") {
				continue
			}
			hint := ""
			c.SuggestionsMinimumDistance = 2 // cobra's default, which it sets for the root only
			if s := c.SuggestionsFor(a); len(s) > 0 {
				hint = "; did you mean: " + strings.Join(s, ", ")
			}
			return c, usageErrorf("unknown command %q for %q%s", a, c.CommandPath(), hint)
		}
	}
	root.SetArgs(args)
	return root.ExecuteContextC(ctx)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd, err := execute(ctx, rootCmd(), os.Args[1:])
	stop()
	os.Exit(exitStatus(err, cmd, os.Stderr))
}
