package models

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrBackupPostgres is returned by Backup on PostgreSQL, whose own tools do
// this better.
var ErrBackupPostgres = errors.New("backup: the database is PostgreSQL; use pg_dump (e.g. pg_dump -Fc \"$DATABASE_URL\" > kehou.dump)")

// Backup writes a consistent copy of a SQLite database to path with VACUUM
// INTO: a transactionally consistent snapshot, taken while the server keeps
// running, compacted and with no WAL to carry along. It refuses to
// overwrite an existing file.
func Backup(ctx context.Context, db *DB, path string) error {
	if db.Dialect != SQLite {
		return ErrBackupPostgres
	}
	if path == "" {
		return errors.New("backup: no output file")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup: %s already exists; refusing to overwrite it", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	if err := db.W.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
