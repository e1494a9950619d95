package gallery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OpenURL opens the store a gallery location names: a postgres:// (or
// postgresql://) URL is a PostgreSQL database, anything else the path of
// an SQLite file, whose folder is created (0700: the gallery holds
// biometric data) when missing.
func OpenURL(ctx context.Context, url string, opt Options) (Store, error) {
	if IsPostgresURL(url) {
		return OpenPostgres(ctx, url, opt)
	}
	if err := os.MkdirAll(filepath.Dir(url), 0o700); err != nil {
		return nil, fmt.Errorf("gallery: creating the gallery folder: %w", err)
	}
	return OpenSQLite(url, opt)
}

// IsPostgresURL reports whether url names a PostgreSQL database.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}
