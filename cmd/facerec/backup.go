package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/facerec/facerec/gallery"
	"github.com/spf13/cobra"
)

// backupCmd is `facerec gallery backup OUT`: a consistent copy of a live
// SQLite gallery, taken while serve or enroll keep writing to it.
func backupCmd() *cobra.Command {
	var gf galleryFlags
	cmd := &cobra.Command{
		Use:   "backup OUT",
		Short: "Copy a live SQLite gallery to OUT, consistently, while it is in use (restore: docs/operations.md)",
		Long: `Copy the SQLite gallery to OUT, a file that must not exist, while serve or enroll go on
writing to it: the copy is one snapshot of the gallery (VACUUM INTO), holding every write
committed before it started and nothing half-written. It is synced, checked and only then
named OUT, and created 0600 (descriptors are biometric data). A JSON summary goes to stdout.

To restore: stop every facerec process using the gallery, move gallery.db away, delete
gallery.db-wal and gallery.db-shm, copy OUT to gallery.db (mode 0600) and start again.
A PostgreSQL gallery is backed up with pg_dump (or facerec gallery export).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := gf.dbPath()
			if err != nil {
				return err
			}
			if gallery.IsPostgresURL(db) {
				return errors.New("gallery backup copies an SQLite gallery; back up PostgreSQL with pg_dump (or facerec gallery export --file OUT)")
			}
			// Opening would create an empty gallery where there was none.
			if _, err := os.Stat(db); err != nil {
				return fmt.Errorf("no gallery to back up: %w", err)
			}
			s, err := gallery.OpenSQLite(db, gallery.Options{})
			if err != nil {
				return fmt.Errorf("opening the gallery: %w", err)
			}
			defer s.Close()
			info, err := s.Backup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "backed up %s to %s: %d people, %d faces, %d bytes\n", db, info.Path, info.People, info.Faces, info.Bytes)
			enc := json.NewEncoder(cmd.OutOrStdout())
			return enc.Encode(info)
		},
	}
	gf.registerDB(cmd)
	return cmd
}
