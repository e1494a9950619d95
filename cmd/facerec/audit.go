package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/facerec/facerec/audit"
	"github.com/spf13/cobra"
)

// auditFlags are --audit FILE (default $FACEREC_AUDIT) and, for serve,
// --audit-no-sync: the audit log that serve and the commands that change
// the gallery append to.
type auditFlags struct {
	path   string
	noSync bool
}

// auditEnv names the audit log by default, so that an operator who sets
// it once has the CLI's gallery changes logged beside the server's.
const auditEnv = "FACEREC_AUDIT"

func (f *auditFlags) register(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.path, "audit", os.Getenv(auditEnv), "append "+what+" to the audit log `FILE` (JSON lines, created 0600; default $"+auditEnv+"; read it with facerec audit)")
}

// registerSync adds --audit-no-sync (serve).
func (f *auditFlags) registerSync(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.noSync, "audit-no-sync", false, "do not fsync the audit log after each record (a record then survives a crash of the process, not of the machine)")
}

// open opens the log, or returns nil without --audit.
func (f *auditFlags) open() (*audit.Log, error) {
	if f.path == "" {
		return nil, nil
	}
	return audit.Open(f.path, audit.Options{NoSync: f.noSync})
}

// cliChange appends a change made by the command to the log (nil: none).
// The change is made: a failure here says so, and fails the command.
func cliChange(log *audit.Log, cmd *cobra.Command, action, person string, count int) error {
	if log == nil {
		return nil
	}
	err := log.Append(audit.Event{Kind: audit.KindChange, Source: "cli", Endpoint: cmd.CommandPath(),
		Action: action, Person: person, Count: count})
	if err != nil {
		what := person
		if what == "" {
			what = fmt.Sprint(count)
		}
		return fmt.Errorf("the %s of %s was made but is not in the audit log: %w", action, what, err)
	}
	return nil
}

func auditCmd() *cobra.Command {
	var (
		since, kind, person, format string
	)
	cmd := &cobra.Command{
		Use:   "audit FILE",
		Short: "Read the audit log of `facerec serve --audit`: JSON lines (or a text table), filtered",
		Long: "Prints the records of the audit log FILE that pass the filters, oldest first: every identification and " +
			"verification decision (result known, unknown or refused with its reason; distance, threshold, model; the id " +
			"of the key that asked) and every change to the gallery (enroll, add_face, rename, delete, import, reembed; who; " +
			"which person), by the server and by the commands run with --audit.\n\n" +
			"A line that is not a record (a torn last line after a crash, an edited file) is reported on stderr with its " +
			"number and skipped; the other records are printed, and the exit status is then 1.",
		Example: "  facerec audit door.jsonl --since 24h --kind decision --format text\n" +
			"  facerec audit door.jsonl --person 01JE... --since 2026-12-01",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f audit.Filter
			var err error
			if f.Since, err = audit.ParseSince(since, time.Now()); err != nil {
				return usageErrorf("--since: %v", err)
			}
			if f.Kind, err = audit.ParseKind(kind); err != nil {
				return usageErrorf("--kind: %v", err)
			}
			f.Person = person
			if format != "json" && format != "text" {
				return usageErrorf("--format must be json or text, got %q", format)
			}
			file, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("reading the audit log: %w", err)
			}
			defer file.Close()
			out := newAuditWriter(format, cmd.OutOrStdout())
			corrupt := 0
			err = audit.Read(file, func(line int, ev audit.Event, err error) error {
				var ce *audit.CorruptError
				if errors.As(err, &ce) {
					fmt.Fprintf(cmd.ErrOrStderr(), "facerec: %s:%d: skipped: %v\n", args[0], line, ce.Err)
					corrupt++
					return nil
				}
				if !f.Match(ev) {
					return nil
				}
				return out.write(ev)
			})
			if ferr := out.flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if corrupt > 0 {
				return fmt.Errorf("%s: %d corrupt line(s) skipped (named above)", args[0], corrupt)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "only records at or after `DURATION|TIME`: back from now (90m, 24h) or a time (2026-12-02T18:00:00Z, 2026-12-02)")
	fl.StringVar(&kind, "kind", "", "only the records of one kind: `decision|change`")
	fl.StringVar(&person, "person", "", "only the records about person `ID` (recognised, claimed or changed)")
	fl.StringVar(&format, "format", "json", "`json|text`: JSON lines, or a table for people")
	return cmd
}

// auditWriter prints records as JSON lines or as a table.
type auditWriter struct {
	json *json.Encoder
	tab  *tabwriter.Writer
	rows int
}

func newAuditWriter(format string, w io.Writer) *auditWriter {
	if format == "text" {
		return &auditWriter{tab: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	}
	return &auditWriter{json: json.NewEncoder(w)}
}

func (a *auditWriter) write(ev audit.Event) error {
	if a.json != nil {
		return a.json.Encode(ev)
	}
	if a.rows == 0 {
		fmt.Fprintln(a.tab, "TIME\tKIND\tKEY\tENDPOINT\tRESULT\tPERSON\tDISTANCE\tTHRESHOLD\tREASON")
	}
	a.rows++
	result, who := ev.Result, ev.Person
	if ev.Kind == audit.KindChange {
		result = ev.Action
		if ev.Count > 0 {
			who = fmt.Sprintf("(%d)", ev.Count)
		}
	}
	key := ev.Key
	if key == "" && ev.Source == "cli" {
		key = "(cli)"
	}
	if ev.Claimed != "" && who == "" {
		who = "claimed " + ev.Claimed
	}
	num := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmtFloat(*v, 3)
	}
	_, err := fmt.Fprintf(a.tab, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), ev.Kind,
		dash(key), ev.Endpoint, dash(result), dash(who), num(ev.Distance), num(ev.Threshold), dash(ev.Reason))
	return err
}

func (a *auditWriter) flush() error {
	if a.tab != nil {
		return a.tab.Flush()
	}
	return nil
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
