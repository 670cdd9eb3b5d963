package jobs

import (
	"context"
	"time"

	"kehou/models"
)

// Sessions brings, daily at 02:15, the sessions of every running offering
// of a current or future term in step with its weekdays and calendar
// (models.SyncAllSessions). Publishing and every change already do it in
// their own transactions; the job backfills offerings published before
// sessions existed and makes a missed change converge. It is idempotent.
var Sessions = Job{Name: "sessions", Schedule: "15 2 * * *", Run: syncSessions}

func syncSessions(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	return models.SyncAllSessions(ctx, db, now)
}
