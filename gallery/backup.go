package gallery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the live store to a new file at out
// (SQLite's VACUUM INTO: one read transaction, so writes made meanwhile,
// by this process or another, are either wholly in the copy or not at
// all; other processes' writes are not held up, this one's wait). The copy is compacted, holds no trace of
// deleted rows, and is created 0600 like the gallery. out must not exist.
//
// To restore, stop every process using the gallery, remove its -wal and
// -shm files (a stale WAL must not be applied to the copy), and put the
// copy in the gallery file's place; or point --db at the copy.
//
// It returns the number of people in the copy, which it has checked
// (PRAGMA integrity_check).
func (s *SQLite) Backup(ctx context.Context, out string) (people int, err error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return 0, fmt.Errorf("gallery: backup to %s: %w", out, err)
	}
	// VACUUM INTO takes an empty file: creating it first, exclusively,
	// refuses to overwrite anything and gives it the gallery's mode.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("gallery: backup: %w", err)
	}
	f.Close()
	// On the writer connection: the readers' are query_only, which
	// VACUUM INTO is refused on. Other processes' writes go on meanwhile.
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return 0, fmt.Errorf("gallery: backup to %s: %w", out, s.classify(err))
	}
	people, err = checkBackup(ctx, abs)
	if err != nil {
		return 0, fmt.Errorf("gallery: backup to %s: the copy fails its check (left for inspection): %w", out, err)
	}
	return people, nil
}

// checkBackup runs SQLite's integrity check on a backup, read-only, and
// counts its people.
func checkBackup(ctx context.Context, path string) (int, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return 0, err
	}
	if res != "ok" {
		return 0, errors.New(res)
	}
	var n int
	err = db.QueryRowContext(ctx, qCountPeople).Scan(&n)
	return n, err
}
