package jobs

import (
	"context"
	"time"

	"kehou/models"
)

// Lottery draws, every minute, the lottery offerings whose enrollment window
// has closed (models.DrawDueLotteries). A drawn offering is never drawn again,
// so a late or repeated run changes nothing. It is Quiet: a minute with
// nothing to draw leaves no run record.
var Lottery = Job{Name: "lottery", Schedule: "* * * * *", Run: lottery, Quiet: true}

func lottery(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	n, err := models.DrawDueLotteries(ctx, db, now)
	return int64(n), err
}
