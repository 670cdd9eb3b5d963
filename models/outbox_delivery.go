package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Outbox delivery policy.
const (
	// OutboxLease is how long a claimed message belongs to its worker. It
	// is far longer than one send (two 5 s WeChat calls), so a message is
	// retried by another worker only when its worker died.
	OutboxLease = 2 * time.Minute
	// OutboxMaxAttempts attempts, then the message is failed.
	OutboxMaxAttempts = 8
	outboxBackoffBase = 30 * time.Second
	outboxBackoffMax  = time.Hour
)

// OutboxBackoff is the wait after failed attempt number attempts (1-based):
// 30 s, 1 min, 2 min, … at most an hour.
func OutboxBackoff(attempts int) time.Duration {
	d := outboxBackoffBase
	for i := 1; i < attempts && d < outboxBackoffMax; i++ {
		d *= 2
	}
	return min(d, outboxBackoffMax)
}

// ClaimedMessage is an outbox message a worker claimed, with the recipient's
// openid. Attempts (after the claim) fences the later updates: a worker
// whose lease expired and was re-claimed cannot overwrite the new outcome.
type ClaimedMessage struct {
	OutboxMessage
	OpenID     string    `gorm:"column:openid"`
	LeaseUntil time.Time `gorm:"column:lease_until"`
}

// ClaimOutbox claims up to limit due messages: pending ones whose
// next_attempt_at has come, and ones left in sending by a worker whose lease
// expired (it crashed, perhaps after sending: those are retried once per
// expired lease, never blindly while the lease holds). The claim is committed
// before anything is sent. On PostgreSQL, FOR UPDATE SKIP LOCKED lets
// several instances claim disjoint batches; SQLite has a single writer.
func ClaimOutbox(ctx context.Context, db *DB, now time.Time, limit int) ([]ClaimedMessage, error) {
	now = now.UTC()
	lease := now.Add(OutboxLease)
	// Look on a reader first: an idle outbox then costs no write lock,
	// which on SQLite would queue behind (and ahead of) enrollments.
	var due []int64
	if err := db.Read(ctx).Raw(`SELECT id FROM outbox WHERE (status = ? AND next_attempt_at <= ?)
		OR (status = ? AND lease_until <= ?) LIMIT 1`, OutboxPending, now, OutboxSending, now).Scan(&due).Error; err != nil {
		return nil, err
	}
	if len(due) == 0 {
		return nil, nil
	}
	var ids []int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE outbox SET status = ?, lease_until = NULL, last_error = ?
			WHERE status = ? AND lease_until <= ? AND attempts >= ?`,
			OutboxFailed, "lease expired after the last attempt", OutboxSending, now, OutboxMaxAttempts).Error; err != nil {
			return err
		}
		q := `SELECT id FROM outbox WHERE (status = ? AND next_attempt_at <= ?) OR (status = ? AND lease_until <= ?)
			ORDER BY next_attempt_at, id LIMIT ?`
		if db.Dialect == Postgres {
			q += " FOR UPDATE SKIP LOCKED"
		}
		if err := tx.Raw(q, OutboxPending, now, OutboxSending, now, limit).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.Exec("UPDATE outbox SET status = ?, lease_until = ?, attempts = attempts + 1 WHERE id IN ?",
			OutboxSending, lease, ids).Error
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []ClaimedMessage
	err = db.W.WithContext(ctx).Raw(`SELECT o.*, COALESCE(u.openid, '') AS openid FROM outbox o
		JOIN users u ON u.id = o.user_id WHERE o.id IN ? ORDER BY o.next_attempt_at, o.id`, ids).Scan(&out).Error
	return out, err
}

// finishOutbox applies an outcome to a claimed message, if the claim still
// holds.
func finishOutbox(ctx context.Context, db *DB, m ClaimedMessage, set map[string]any) error {
	set["lease_until"] = nil
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&OutboxMessage{}).Where("id = ? AND status = ? AND attempts = ?", m.ID, OutboxSending, m.Attempts).
			Updates(set).Error
	})
}

// MarkOutboxSent records that m was delivered.
func MarkOutboxSent(ctx context.Context, db *DB, m ClaimedMessage, now time.Time) error {
	return finishOutbox(ctx, db, m, map[string]any{"status": OutboxSent, "sent_at": now.UTC(), "last_error": ""})
}

// MarkOutboxRefused records that the parent gave no consent (WeChat 43101):
// the message is never retried.
func MarkOutboxRefused(ctx context.Context, db *DB, m ClaimedMessage, reason string) error {
	return finishOutbox(ctx, db, m, map[string]any{"status": OutboxRefused, "last_error": clip(reason)})
}

// MarkOutboxInApp records that m is not sent to WeChat: its recipient
// caused what it tells and saw it on screen (CausedBy). It stays in the
// inbox.
func MarkOutboxInApp(ctx context.Context, db *DB, m ClaimedMessage) error {
	return finishOutbox(ctx, db, m, map[string]any{"status": OutboxInApp, "last_error": ""})
}

// MarkOutboxInboxOnly records that m is not sent to WeChat because its
// kind has no template configured (reason says so for the operator): it
// stays in the inbox, delivery in_app, rather than being retried for hours
// as if WeChat had failed. A template configured later serves the messages
// made after it.
func MarkOutboxInboxOnly(ctx context.Context, db *DB, m ClaimedMessage, reason string) error {
	return finishOutbox(ctx, db, m, map[string]any{"status": OutboxInApp, "last_error": clip(reason)})
}

// MarkOutboxFailed gives up on m.
func MarkOutboxFailed(ctx context.Context, db *DB, m ClaimedMessage, reason string) error {
	return finishOutbox(ctx, db, m, map[string]any{"status": OutboxFailed, "last_error": clip(reason)})
}

// MarkOutboxRetry schedules another attempt after OutboxBackoff, or fails m
// when it has had OutboxMaxAttempts. It reports whether it gave up.
func MarkOutboxRetry(ctx context.Context, db *DB, m ClaimedMessage, reason string, now time.Time) (bool, error) {
	if m.Attempts >= OutboxMaxAttempts {
		return true, MarkOutboxFailed(ctx, db, m, fmt.Sprintf("gave up after %d attempts: %s", m.Attempts, reason))
	}
	return false, finishOutbox(ctx, db, m, map[string]any{"status": OutboxPending, "last_error": clip(reason),
		"next_attempt_at": now.UTC().Add(OutboxBackoff(m.Attempts))})
}

// LastOutboxID is the id of the newest outbox message (0 when none): where
// a seed's history starts (SettleOutboxHistory).
func LastOutboxID(ctx context.Context, db *DB) (int64, error) {
	var id int64
	err := db.W.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM outbox").Scan(&id).Error
	return id, err
}

// SettleOutboxHistory records the pending messages above afterID as sent
// when they were made: the demo seed's simulated weeks notify families of
// the past, who had those messages then (their inboxes say sent), and a
// demo's first real message must not queue behind them. It returns how many
// it settled.
//
// A "报名成功" of the history is dated when its enrollment was made (the
// simulated day the seed passed Enroll), not when the seed's pipeline
// committed it: the demo father's inbox read four October enrollments as
// made the minute the seed ran, above December's messages.
func SettleOutboxHistory(ctx context.Context, db *DB, afterID int64) (int64, error) {
	var n int64
	enrollmentID := "CAST(json_extract(outbox.payload, '$.enrollment_id') AS INTEGER)"
	if db.Dialect == Postgres {
		enrollmentID = "CAST(CAST(outbox.payload AS json)->>'enrollment_id' AS BIGINT)"
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE outbox SET created_at = (SELECT e.created_at FROM enrollments e WHERE e.id = `+enrollmentID+`)
			WHERE id > ? AND status = ? AND kind = ? AND EXISTS (SELECT 1 FROM enrollments e
				WHERE e.id = `+enrollmentID+` AND e.created_at < outbox.created_at)`,
			afterID, OutboxPending, NotifyEnrollmentConfirmed).Error; err != nil {
			return err
		}
		res := tx.Exec("UPDATE outbox SET status = ?, sent_at = created_at, last_error = '' WHERE status = ? AND id > ?",
			OutboxSent, OutboxPending, afterID)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// ReleaseOutbox hands back a claimed message that was not tried (the worker
// is stopping), as if it had not been claimed.
func ReleaseOutbox(ctx context.Context, db *DB, m ClaimedMessage) error {
	return finishOutbox(ctx, db, m, map[string]any{"status": OutboxPending, "attempts": gorm.Expr("attempts - 1")})
}

func clip(s string) string {
	if r := []rune(s); len(r) > 500 {
		return string(r[:500])
	}
	return s
}
