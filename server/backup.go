package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"kehou/models"
)

// backup is `kehou backup FILE`: a consistent copy of the SQLite database,
// safe to take while the server runs. It opens the database without
// migrating it (a backup must not change what it copies). On PostgreSQL it
// explains to use pg_dump instead.
func backup(ctx context.Context, cfg Config, _ *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errUsage
	}
	path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:")
	if !ok {
		return models.ErrBackupPostgres
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: database %s: %w", path, err)
	}
	db, err := models.Open(cfg.DatabaseURL, models.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := models.Backup(ctx, db, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", args[0])
	return nil
}
