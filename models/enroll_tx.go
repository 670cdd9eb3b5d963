package models

import (
	"context"
	"strings"
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
