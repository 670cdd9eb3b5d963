package models

import "context"

// SnapshotExists reports whether the statistics of date (YYYY-MM-DD) have
// been computed (any scope: the job writes every scope of a date at once).
func SnapshotExists(ctx context.Context, db *DB, date string) (bool, error) {
	var n int64
	err := db.Read(ctx).Raw("SELECT COUNT(*) FROM (SELECT 1 FROM stat_snapshots WHERE snap_date = ? LIMIT 1) x", date).Scan(&n).Error
	return n > 0, err
}
