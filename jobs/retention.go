package jobs

import (
	"context"
	"time"

	"kehou/models"
)

// Retention purges, daily at 03:30, what the data policy says to purge
// (models.PurgeExpired with models.DefaultRetention).
var Retention = Job{Name: "retention", Schedule: "30 3 * * *", Run: retention}

func retention(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	return models.PurgeExpired(ctx, db, now, models.DefaultRetention)
}
