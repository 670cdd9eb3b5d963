package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// A full disk. When the database cannot write for want of space (SQLite's
// SQLITE_FULL, PostgreSQL's 53100 disk_full; IsStorageFull), every write
// transaction answers ErrStorageFull (a 503 with Retry-After: nothing was
// written, the client's retry with its Idempotency-Key is safe), the handle
// is marked full, and one error line is logged — not one per request. While
// it is marked, Ready probes a write (at most once a second) and reports
// not ready until the probe succeeds, so a load balancer routes away; the
// first successful probe clears the mark and logs one line more.

// ErrStorageFull answers a write the database refused for want of space.
var ErrStorageFull = &Error{Kind: KindUnavailable, Code: "storage_full",
	Message: "服务器存储空间已满，暂时无法保存，请稍后重试", RetryAfter: 30}

// storageProbeEvery bounds how often a handle marked full probes a write
// (DB.StorageProbeEvery, when set, replaces it); storageProbeBytes is the size of the probe's row, enough to need new
// pages (on SQLite sixteen of 4 KB), so the probe succeeds only where a
// real write would.
const (
	storageProbeEvery = time.Second
	storageProbeBytes = 64 << 10
)

// storageState is what a handle knows about its database's space.
type storageState struct {
	full      atomic.Bool
	refused   atomic.Uint64 // writes refused for want of space
	lastProbe atomic.Int64  // UnixNano of the last probe
}

// StorageFull reports whether db's last write failed for want of space and
// no probe has written since.
func (db *DB) StorageFull() bool { return db.storage.full.Load() }

// StorageFullWrites counts the write transactions db refused for want of
// space since it opened.
func (db *DB) StorageFullWrites() uint64 { return db.storage.refused.Load() }

// logger is where db reports what an operator must know (nil Log: slog's
// default).
func (db *DB) logger() *slog.Logger {
	if db.Log != nil {
		return db.Log
	}
	return slog.Default()
}

// noteWrite looks at the outcome of a write transaction: a full disk marks
// the handle (logged once, at the change) and is answered ErrStorageFull,
// wrapping the driver's error.
func (db *DB) noteWrite(err error) error {
	if !IsStorageFull(err) {
		return err
	}
	db.storage.refused.Add(1)
	if db.storage.full.CompareAndSwap(false, true) {
		db.logger().Error("database storage full: writes are refused (503 storage_full) and /readyz reports not ready until space returns",
			"engine", string(db.Dialect), "error", err.Error())
	}
	return fmt.Errorf("%w: %w", ErrStorageFull, err)
}

// errProbeDone rolls the write probe back.
var errProbeDone = errors.New("models: write probe done")

// CheckStorage answers ErrStorageFull while db is marked full and a write
// probe (a 64 KB row of write_probe, inserted and rolled back) still fails;
// nil otherwise. A probe runs at most once a second; in between the
// mark answers.
func (db *DB) CheckStorage(ctx context.Context) error {
	if !db.storage.full.Load() {
		return nil
	}
	every := db.StorageProbeEvery
	if every <= 0 {
		every = storageProbeEvery
	}
	now := time.Now().UnixNano()
	last := db.storage.lastProbe.Load()
	if now-last < int64(every) || !db.storage.lastProbe.CompareAndSwap(last, now) {
		return ErrStorageFull
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := rawOf(tx).exec("INSERT INTO write_probe (filler) VALUES (?)", make([]byte, storageProbeBytes)); err != nil {
			return err
		}
		return errProbeDone
	})
	switch {
	case errors.Is(err, errProbeDone):
		if db.storage.full.CompareAndSwap(true, false) {
			db.logger().Info("database storage available again: writes accepted", "engine", string(db.Dialect),
				"refused_writes", db.storage.refused.Load())
		}
		return nil
	case errors.Is(err, ErrStorageFull):
		return ErrStorageFull
	default:
		return err
	}
}
