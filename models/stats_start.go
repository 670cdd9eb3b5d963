package models

import (
	"context"
	"sync"
	"time"
)

// StartStats starts ComputeStats of date and returns once the run has
// fixed its view of the data (its first read, in the run's one read
// transaction: REPEATABLE READ on PostgreSQL, a WAL read snapshot on
// SQLite), so nothing written after StartStats returns is in the figures.
// wait answers what ComputeStats answers, once the snapshot is written.
// The caller may write meanwhile: a seed computing a simulated day's
// snapshot while it writes the next day's rows (server/seed_history.go).
func StartStats(ctx context.Context, db *DB, date string, now time.Time) (wait func() (int64, error)) {
	fixed := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(fixed) }) }
	var (
		rows int64
		err  error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer release() // a run that fails before its first read
		rows, err = computeStats(ctx, db, date, now, release)
	}()
	<-fixed
	return func() (int64, error) {
		<-done
		return rows, err
	}
}
