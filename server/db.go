package main

import (
	"context"
	"fmt"
	"log/slog"

	"kehou/models"
)

// openDB opens the database named by DATABASE_URL (SQLite or PostgreSQL)
// and applies the embedded migrations.
func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*models.DB, error) {
	db, err := models.Open(cfg.DatabaseURL, models.Options{})
	if err != nil {
		return nil, err
	}
	n, err := models.Migrate(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	log.Info("database ready", "engine", string(db.Dialect), "migrations_applied", n)
	return db, nil
}
