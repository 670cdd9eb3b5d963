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
	// Outbox is how long delivered, refused or failed notifications are kept
	// (they hold a child's name in their payload).
	Outbox time.Duration
	// BindingFailures is how long failed binding attempts are kept; longer
	// than the rate-limit window they feed.
	BindingFailures time.Duration
}

// DefaultRetention keeps job history and finished notifications for 90 days
// and binding failures for a day.
var DefaultRetention = RetentionPolicy{JobRuns: 90 * 24 * time.Hour, Outbox: 90 * 24 * time.Hour,
	BindingFailures: 24 * time.Hour}

// PurgeExpired deletes what the data policy says to purge, as of now, in one
// transaction, and answers how many rows it deleted: expired refresh tokens
// (spent ones are kept until they expire, so a replay can still revoke its
// family), expired idempotency keys, expired binding codes, old binding
// failures, finished notifications, job runs and slot claims older than
// the policy says, and the password-login throttles and change tokens that
// no longer decide anything.
func PurgeExpired(ctx context.Context, db *DB, now time.Time, p RetentionPolicy) (int64, error) {
	now = now.UTC()
	jobCut, outboxCut := now.Add(-p.JobRuns), now.Add(-p.Outbox)
	purges := []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM refresh_tokens WHERE expires_at < ?", []any{now}},
		{"DELETE FROM idempotency_keys WHERE expires_at <= ?", []any{now}},
		{"DELETE FROM binding_codes WHERE expires_at < ?", []any{now}},
		{"DELETE FROM binding_failures WHERE created_at < ?", []any{now.Add(-p.BindingFailures)}},
		{"DELETE FROM outbox WHERE status IN " + sqlList(outboxDone) + " AND created_at < ?", []any{outboxCut}},
		{"DELETE FROM job_runs WHERE started_at < ? AND status <> ?", []any{jobCut, RunRunning}},
		{"DELETE FROM job_slots WHERE claimed_at < ?", []any{jobCut}},
		// Password-login throttles: runs of failures once forgotten and
		// unlocked, per-address windows past their minute, spent or
		// expired password change tokens.
		// Pairs before usernames: the order a login locks them in.
		{"DELETE FROM login_attempts WHERE last_failed_ms < ? AND locked_until_ms < ?",
			[]any{now.Add(-loginFailureMemory).UnixMilli(), now.UnixMilli()}},
		{"DELETE FROM login_failures WHERE last_failed_ms < ? AND locked_until_ms < ?",
			[]any{now.Add(-loginFailureMemory).UnixMilli(), now.UnixMilli()}},
		{"DELETE FROM rate_windows WHERE opened_at < ?", []any{now.Unix() - 2*rateWindowSeconds}},
		{"DELETE FROM password_change_tokens WHERE expires_ms < ?", []any{now.UnixMilli()}},
	}
	var total int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		for _, q := range purges {
			res := tx.Exec(q.sql, q.args...)
			if res.Error != nil {
				return res.Error
			}
			total += res.RowsAffected
		}
		return nil
	})
	return total, err
}
