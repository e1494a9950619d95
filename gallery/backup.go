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

// BackupInfo describes a finished backup.
type BackupInfo struct {
	Path          string `json:"path"`
	Bytes         int64  `json:"bytes"`
	SchemaVersion int    `json:"schema_version"`
	People        int    `json:"people"`
	Faces         int    `json:"faces"`
}

// Backup writes a consistent copy of the live gallery to out, a file that
// must not exist yet. Writers (this process's or another's) go on while it
// runs: VACUUM INTO reads one snapshot of the database inside a single read
// transaction, so the copy holds every write committed before that
// snapshot and none after it, never half of one. The copy is written under
// a temporary name beside out, synced, checked (PRAGMA integrity_check) and
// then renamed to out, so a crash or a failed check never leaves a file at
// out that looks like a good backup. Like the gallery it is created 0600:
// it holds biometric data.
//
// The copy is a plain SQLite file at the store's schema version, without
// a -wal file and without the free pages that deleted people once used.
// Restoring it means stopping every process that uses the gallery,
// removing the gallery's -wal and -shm files and putting the copy in its
// place (see docs/operations.md).
func (s *SQLite) Backup(ctx context.Context, out string) (BackupInfo, error) {
	info, err := s.backup(ctx, out)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("gallery: backup to %s: %w", out, err)
	}
	return info, nil
}

func (s *SQLite) backup(ctx context.Context, out string) (BackupInfo, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return BackupInfo{}, err
	}
	if _, err := os.Lstat(abs); err == nil {
		return BackupInfo{}, fmt.Errorf("%w: %s exists (a backup never overwrites a file)", ErrInvalid, out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return BackupInfo{}, err
	}
	if src, err := filepath.Abs(s.path); err == nil && src == abs {
		return BackupInfo{}, fmt.Errorf("%w: the backup would overwrite the gallery itself", ErrInvalid)
	}
	// An empty 0600 file first: VACUUM INTO writes into an empty file and
	// keeps its permissions, and the temporary name is ours alone.
	tmpf, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".partial-*")
	if err != nil {
		return BackupInfo{}, err
	}
	tmp := tmpf.Name()
	tmpf.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
	}()
	if err := s.vacuumInto(ctx, tmp); err != nil {
		return BackupInfo{}, err
	}
	// VACUUM INTO does not sync what it wrote.
	if err := syncFile(tmp); err != nil {
		return BackupInfo{}, err
	}
	info, err := checkBackup(ctx, tmp)
	if err != nil {
		return BackupInfo{}, err
	}
	if err := os.Rename(tmp, abs); err != nil {
		return BackupInfo{}, err
	}
	done = true
	if err := syncFile(filepath.Dir(abs)); err != nil {
		return BackupInfo{}, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Path, info.Bytes = out, st.Size()
	return info, nil
}

// vacuumInto writes the copy through a connection of its own: the read
// pool is query_only, which refuses VACUUM INTO, and the one writing
// connection would hold up every write of this process for as long as the
// copy takes. VACUUM INTO only reads the gallery, in one read transaction,
// so writers (in WAL mode) go on meanwhile.
func (s *SQLite) vacuumInto(ctx context.Context, tmp string) error {
	abs, err := filepath.Abs(s.path)
	if err != nil {
		return err
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("vacuum into: %w", s.classify(err))
	}
	return nil
}

// checkBackup opens the copy at path as a gallery would and checks it:
// the file is sound, its schema is one this program knows, and its
// people and faces can be counted.
func checkBackup(ctx context.Context, path string) (BackupInfo, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return BackupInfo{}, fmt.Errorf("check the copy: %w", err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil {
		return BackupInfo{}, fmt.Errorf("check the copy: %w", err)
	}
	if ok != "ok" {
		return BackupInfo{}, fmt.Errorf("check the copy: integrity check: %s", ok)
	}
	var info BackupInfo
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&info.SchemaVersion); err != nil {
		return BackupInfo{}, fmt.Errorf("check the copy: %w", err)
	}
	if info.SchemaVersion != len(sqliteMigrations) {
		return BackupInfo{}, fmt.Errorf("check the copy: schema version %d, want %d", info.SchemaVersion, len(sqliteMigrations))
	}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM people), (SELECT COUNT(*) FROM faces)`).Scan(&info.People, &info.Faces); err != nil {
		return BackupInfo{}, fmt.Errorf("check the copy: %w", err)
	}
	return info, nil
}

// syncFile fsyncs a file or a directory.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
