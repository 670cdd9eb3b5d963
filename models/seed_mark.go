package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SeedDemo is the seed_marks kind `kehou seed demo` writes.
const SeedDemo = "demo"

// MarkSeeded records that a seed of kind is loading into db, before it
// writes anything else, so even a seed stopped half-way marks the
// database. Marking again keeps the first time.
func MarkSeeded(ctx context.Context, db *DB, kind string, now time.Time) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO seed_marks (kind, seeded_ms) VALUES (?, ?) ON CONFLICT (kind) DO NOTHING",
			kind, now.UnixMilli()).Error
	})
}

// Seeded reports whether a seed of kind was ever loaded into db (a
// database the demo seeded before the mark existed counts: migration 0062
// marks it by the demo's accounts).
func Seeded(ctx context.Context, db *DB, kind string) (bool, error) {
	var n int64
	err := db.Read(ctx).Raw("SELECT COUNT(*) FROM seed_marks WHERE kind = ?", kind).Scan(&n).Error
	return n > 0, err
}
