package models

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Password logins are throttled three ways, in the database so that every
// instance sees the same counts:
//
//   - per (username, client address) (login_attempts): loginFreeFailures
//     failures are free; each further one locks that username for that
//     address for LoginBackoff(failures), which doubles up to loginLockMax.
//     A guesser at one address locks only themself: the owner, elsewhere,
//     still logs in (one wrong guess every 15 minutes no longer keeps a
//     known username locked for everyone).
//   - per username, for spreads across many addresses (login_failures):
//     every address that starts failing on a username within a day counts
//     once; from the loginSpreadAddresses-th one, each further new address
//     locks the username for everyone, 5 s doubling up to loginLockMax.
//   - per client address (rate_windows, HitRateWindow): a generous cap per
//     minute, against one address spraying many usernames.
//
// The attempt is counted first, before any bcrypt, in one transaction of
// atomic upserts, and the decision is taken from the counts they return: a
// burst of parallel guesses is numbered 1, 2, 3… whatever the instance, and
// the attempt that reaches a limit sets the lock before its password is
// checked. A success then clears the counts it added (clearLoginFailures).
// A locked attempt is answered 429 login_locked with Retry-After, whatever
// the password, so a guesser learns nothing and costs no bcrypt; it is not
// counted (its transaction rolls back). Unknown usernames are counted like
// known ones, so a lock does not reveal which exist. An IPv6 client counts
// as its /64 (LoginAddressKey): one subscriber gets a whole /64, so rotating
// addresses inside it does not reset a count.

const (
	loginFreeFailures = 5
	// loginSpreadAddresses is how many client addresses may fail on one
	// username within loginFailureMemory before the username itself locks.
	loginSpreadAddresses = 10
	loginLockBase        = 5 * time.Second
	loginLockMax         = 15 * time.Minute
	// loginFailureMemory is how long a run of failures is remembered.
	loginFailureMemory = 24 * time.Hour
)

// LoginBackoff is how long a username is locked for one client address
// after its failures-th consecutive failed login there: nothing for the
// first loginFreeFailures-1, then 5 s, 10 s, 20 s … doubling up to 15
// minutes.
func LoginBackoff(failures int) time.Duration { return backoff(failures, loginFreeFailures) }

// LoginSpreadBackoff is how long a username is locked for every address
// once addresses different client addresses have failed on it within a
// day: nothing below loginSpreadAddresses, then 5 s doubling up to 15
// minutes with each further address.
func LoginSpreadBackoff(addresses int) time.Duration { return backoff(addresses, loginSpreadAddresses) }

// backoff is 0 below free, loginLockBase at free, doubling with each count
// above it up to loginLockMax.
func backoff(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := loginLockBase
	for i := free; i < n && d < loginLockMax; i++ {
		d *= 2
	}
	return min(d, loginLockMax)
}

// LoginAddressKey is the address a login is counted under: an IPv4 address
// (or an IPv4-mapped IPv6 one) as it is, an IPv6 address as its /64
// ("2001:db8:1:2::/64"), anything else unchanged.
func LoginAddressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
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

// lockRow is what the throttle upserts return.
type lockRow struct {
	Count         int   `gorm:"column:n"`
	LockedUntilMs int64 `gorm:"column:locked_until_ms"`
}

// loginLocked is ErrLoginLocked with the Retry-After of a lock until
// untilMs.
func loginLocked(untilMs, nowMs int64) error {
	e := *ErrLoginLocked
	e.RetryAfter = int((untilMs - nowMs + 999) / 1000)
	return &e
}

// countLoginAttempt counts a password login of username from addr (a
// LoginAddressKey) as a failure before its password is checked, and
// returns ErrLoginLocked (not counted) when the pair or the username is
// locked. An attempt that reaches a limit sets the lock itself, so the
// parallel attempts behind it are refused; if its password turns out
// right, clearLoginFailures lifts it.
func countLoginAttempt(ctx context.Context, db *DB, username, addr string, now time.Time) error {
	ms := now.UnixMilli()
	forget := ms - loginFailureMemory.Milliseconds()
	return db.Tx(ctx, func(tx *gorm.DB) error {
		var pair []lockRow
		err := tx.Raw(`INSERT INTO login_attempts (username, addr, failures, locked_until_ms, last_failed_ms) VALUES (?, ?, 1, 0, ?)
ON CONFLICT (username, addr) DO UPDATE SET
  failures = CASE WHEN login_attempts.last_failed_ms < ? THEN 1 ELSE login_attempts.failures + 1 END,
  last_failed_ms = excluded.last_failed_ms
RETURNING failures AS n, locked_until_ms`, username, addr, ms, forget).Scan(&pair).Error
		if err != nil {
			return err
		}
		if len(pair) == 0 {
			return errors.New("models: login_attempts upsert returned no row")
		}
		if pair[0].LockedUntilMs > ms {
			return loginLocked(pair[0].LockedUntilMs, ms) // rolls the count back
		}
		// The username's spread: an address that starts failing counts
		// once; any other attempt only reads the lock.
		var spread []lockRow
		if pair[0].Count == 1 {
			err = tx.Raw(`INSERT INTO login_failures (username, addresses, locked_until_ms, last_failed_ms) VALUES (?, 1, 0, ?)
ON CONFLICT (username) DO UPDATE SET
  addresses = CASE WHEN login_failures.last_failed_ms < ? THEN 1 ELSE login_failures.addresses + 1 END,
  last_failed_ms = excluded.last_failed_ms
RETURNING addresses AS n, locked_until_ms`, username, ms, forget).Scan(&spread).Error
		} else {
			err = tx.Raw("SELECT 0 AS n, locked_until_ms FROM login_failures WHERE username = ?", username).Scan(&spread).Error
		}
		if err != nil {
			return err
		}
		if len(spread) > 0 && spread[0].LockedUntilMs > ms {
			return loginLocked(spread[0].LockedUntilMs, ms)
		}
		if lock := LoginBackoff(pair[0].Count); lock > 0 {
			if err := tx.Exec("UPDATE login_attempts SET locked_until_ms = ? WHERE username = ? AND addr = ?",
				ms+lock.Milliseconds(), username, addr).Error; err != nil {
				return err
			}
		}
		if len(spread) > 0 {
			if lock := LoginSpreadBackoff(spread[0].Count); lock > 0 {
				return tx.Exec("UPDATE login_failures SET locked_until_ms = ? WHERE username = ?",
					ms+lock.Milliseconds(), username).Error
			}
		}
		return nil
	})
}

// clearLoginFailures forgets the failures of username at addr after a
// successful login, and the username's spread with them: the owner has
// shown the password, and the addresses that failed keep their own counts.
func clearLoginFailures(ctx context.Context, db *DB, username, addr string) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM login_attempts WHERE username = ? AND addr = ?", username, addr).Error; err != nil {
			return err
		}
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
