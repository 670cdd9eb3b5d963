package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// RetentionPolicy says how long purgeable records are kept.
type RetentionPolicy struct {
	// JobRuns is how long job_runs and job_slots rows are kept.
	JobRuns time.Duration
}

// DefaultRetention keeps job history for 90 days.
var DefaultRetention = RetentionPolicy{JobRuns: 90 * 24 * time.Hour}

// expiringTables are tables of other features purged by their expires_at
// column when their migration has created them: idempotency keys of
// enrollment POSTs, and the schools' one-time binding codes.
var expiringTables = []string{"idempotency_keys", "binding_codes"}

// PurgeExpired deletes what the data policy says to purge, as of now, in one
// transaction, and answers how many rows it deleted: expired refresh tokens
// (spent ones are kept until they expire, so a replay can still revoke its
// family), expired idempotency keys and binding codes (when those tables
// exist), and job runs and slot claims older than p.JobRuns.
func PurgeExpired(ctx context.Context, db *DB, now time.Time, p RetentionPolicy) (int64, error) {
	now = now.UTC()
	var total int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		exec := func(q string, args ...any) error {
			res := tx.Exec(q, args...)
			total += res.RowsAffected
			return res.Error
		}
		if err := exec("DELETE FROM refresh_tokens WHERE expires_at < ?", now); err != nil {
			return err
		}
		for _, t := range expiringTables {
			ok, err := tableExists(tx, db.Dialect, t)
			if err == nil && ok {
				ok, err = columnExists(tx, db.Dialect, t, "expires_at")
			}
			if err != nil {
				return err
			}
			if ok {
				if err := exec("DELETE FROM "+t+" WHERE expires_at < ?", now); err != nil {
					return err
				}
			}
		}
		cut := now.Add(-p.JobRuns)
		if err := exec("DELETE FROM job_runs WHERE started_at < ? AND status <> ?", cut, RunRunning); err != nil {
			return err
		}
		return exec("DELETE FROM job_slots WHERE claimed_at < ?", cut)
	})
	return total, err
}
