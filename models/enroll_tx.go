package models

import (
	"context"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Write-path helpers of the enrollment operations.

// retryTx runs fn in a write transaction, retrying a few times when
// PostgreSQL aborts it for a deadlock or a serialization failure (both safe
// to run again: nothing was committed).
func retryTx(ctx context.Context, db *DB, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.Tx(ctx, fn)
		if err == nil || db.Dialect != Postgres || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func retryable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 40P01") || strings.Contains(s, "SQLSTATE 40001")
}

// writerGates holds, per SQLite database, the gate of admit.
var writerGates sync.Map // *DB → chan struct{}

// admit bounds how many enrollments run at once on SQLite. There every
// write queues for one connection anyway; letting hundreds of requests run
// their reads meanwhile only starves the goroutine that holds the writer
// (two cores, hundreds of runnable goroutines), so the queue moves slower.
// Parked at the gate, they cost nothing. PostgreSQL needs no gate: its
// writers run in parallel and its pool bounds them.
func admit(ctx context.Context, db *DB) (func(), error) {
	if db.Dialect != SQLite {
		return func() {}, nil
	}
	g, _ := writerGates.LoadOrStore(db, make(chan struct{}, sqliteEnrollSlots))
	gate := g.(chan struct{})
	select {
	case gate <- struct{}{}:
		return func() { <-gate }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sqliteEnrollSlots is how many enrollments may run at once on SQLite.
const sqliteEnrollSlots = 8
