package jobs

import (
	"context"
	"time"

	"kehou/models"
)

// Lottery draws, every minute, the lottery offerings whose enrollment window
// has closed (models.DrawDueLotteries). A drawn offering is never drawn again,
// so a late or repeated run changes nothing.
var Lottery = Job{Name: "lottery", Schedule: "* * * * *", Run: lottery}

func lottery(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	n, err := models.DrawDueLotteries(ctx, db, now)
	return int64(n), err
}

// Outbox is a manual-only job (POST /api/v1/jobs/outbox/run) that delivers
// due notifications now through s; the OutboxWorker polls the same queue
// every second, so it needs no schedule. With no sender (WeChat not
// configured) a run fails with models.ErrUnavailable and nothing is claimed.
func Outbox(s Sender) Job {
	return Job{Name: "outbox", Run: func(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
		if s == nil {
			return 0, models.ErrUnavailable.WithMessage("未配置微信，通知保留在发件箱中")
		}
		n, err := DeliverOutbox(ctx, db, s, now, 500)
		return int64(n), err
	}}
}
