package models

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Password logins are throttled twice, in the database so that every
// instance sees the same counts:
//
//   - per username (login_failures): loginFreeFailures failures are free;
//     each further one locks the username for LoginBackoff(failures), which
//     doubles up to loginLockMax. A locked username is answered 429
//     login_locked with Retry-After before any bcrypt work, whatever the
//     password, so a guesser learns nothing and costs nothing. A success
//     clears the count; a day without failures forgets it. Unknown usernames
//     are counted like known ones, so a lock does not reveal which exist.
//   - per client address (rate_windows, HitRateWindow): a generous cap per
//     minute, against one address spraying many usernames.

const (
	loginFreeFailures = 5
	loginLockBase     = 5 * time.Second
	loginLockMax      = 15 * time.Minute
	// loginFailureMemory is how long a run of failures is remembered.
	loginFailureMemory = 24 * time.Hour
)

// LoginBackoff is how long a username is locked after its failures-th
// consecutive failed login: nothing for the first loginFreeFailures-1, then
// 5 s, 10 s, 20 s … doubling up to 15 minutes.
func LoginBackoff(failures int) time.Duration {
	if failures < loginFreeFailures {
		return 0
	}
	d := loginLockBase
	for i := loginFreeFailures; i < failures && d < loginLockMax; i++ {
		d *= 2
	}
	return min(d, loginLockMax)
}

// passwordChecks counts bcrypt comparisons (PasswordChecks).
var passwordChecks atomic.Uint64

// PasswordChecks is how many bcrypt password comparisons this process has
// made: the work a login costs, exported as a metric and read by tests.
func PasswordChecks() uint64 { return passwordChecks.Load() }

func comparePassword(hash []byte, password string) error {
	passwordChecks.Add(1)
	return bcrypt.CompareHashAndPassword(hash, []byte(password))
}

// loginLock returns how long username stays locked at now (0: not locked).
func loginLock(ctx context.Context, db *DB, username string, now time.Time) (time.Duration, error) {
	var until []int64
	err := db.Read(ctx).Raw("SELECT locked_until_ms FROM login_failures WHERE username = ?", username).Scan(&until).Error
	if err != nil || len(until) == 0 {
		return 0, err
	}
	if left := time.UnixMilli(until[0]).Sub(now); left > 0 {
		return left, nil
	}
	return 0, nil
}

// recordLoginFailure counts a failed login of username and locks it for
// LoginBackoff of the new count (a lock is never shortened). The increment
// is one atomic upsert, so concurrent failures on several instances all
// count.
func recordLoginFailure(ctx context.Context, db *DB, username string, now time.Time) error {
	ms := now.UnixMilli()
	return db.Tx(ctx, func(tx *gorm.DB) error {
		var failures []int
		err := tx.Raw(`INSERT INTO login_failures (username, failures, locked_until_ms, last_failed_ms) VALUES (?, 1, 0, ?)
ON CONFLICT (username) DO UPDATE SET
  failures = CASE WHEN login_failures.last_failed_ms < ? THEN 1 ELSE login_failures.failures + 1 END,
  last_failed_ms = excluded.last_failed_ms
RETURNING failures`, username, ms, ms-loginFailureMemory.Milliseconds()).Scan(&failures).Error
		if err != nil {
			return err
		}
		if len(failures) == 0 {
			return errors.New("models: login_failures upsert returned no row")
		}
		lock := LoginBackoff(failures[0])
		if lock == 0 {
			return nil
		}
		return tx.Exec("UPDATE login_failures SET locked_until_ms = ? WHERE username = ? AND locked_until_ms < ?",
			ms+lock.Milliseconds(), username, ms+lock.Milliseconds()).Error
	})
}

// clearLoginFailures forgets username's failures after a successful login.
func clearLoginFailures(ctx context.Context, db *DB, username string) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("DELETE FROM login_failures WHERE username = ?", username).Error
	})
}

// rateWindowSeconds is how long a rate window lasts from its first hit.
const rateWindowSeconds = 60

// HitRateWindow counts one hit of bucket in its window, which opens at the
// bucket's first hit and lasts RateWindow, and returns ErrRateLimited (with
// Retry-After to the window's end) once the window has seen more than limit
// hits. Anchoring the window at the first hit, not at the clock's minute,
// counts a burst whole wherever a minute boundary falls. The count is one
// upsert in the database, so the limit holds across instances.
func HitRateWindow(ctx context.Context, db *DB, bucket string, limit int, now time.Time) error {
	at := now.Unix()
	var rows []struct {
		Hits     int   `gorm:"column:hits"`
		OpenedAt int64 `gorm:"column:opened_at"`
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`INSERT INTO rate_windows (bucket, opened_at, hits) VALUES (?, ?, 1)
ON CONFLICT (bucket) DO UPDATE SET
  hits = CASE WHEN excluded.opened_at - rate_windows.opened_at < ? THEN rate_windows.hits + 1 ELSE 1 END,
  opened_at = CASE WHEN excluded.opened_at - rate_windows.opened_at < ? THEN rate_windows.opened_at ELSE excluded.opened_at END
RETURNING hits, opened_at`, bucket, at, rateWindowSeconds, rateWindowSeconds).Scan(&rows).Error
	})
	if err != nil {
		return err
	}
	if len(rows) > 0 && rows[0].Hits > limit {
		e := *ErrRateLimited
		e.RetryAfter = max(1, int(rows[0].OpenedAt+rateWindowSeconds-at))
		return &e
	}
	return nil
}
