package jobs

import (
	"context"
	"time"

	"kehou/models"
)

// Stats recomputes today's snapshot (Asia/Shanghai) every 30 minutes, so the
// dashboards trail the enrollments by at most half an hour.
var Stats = Job{Name: "stats", Schedule: "*/30 * * * *", Run: statsToday}

// StatsFinal recomputes yesterday's snapshot at 02:00, after the day ended,
// so each date's snapshot is final.
var StatsFinal = Job{Name: "stats_final", Schedule: "0 2 * * *", Run: statsYesterday}

func statsToday(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	return models.ComputeStats(ctx, db, models.LocalDate(now), now)
}

func statsYesterday(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	return models.ComputeStats(ctx, db, models.LocalDate(now.In(models.Zone).AddDate(0, 0, -1)), now)
}
