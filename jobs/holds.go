package jobs

import (
	"context"
	"errors"
	"time"

	"kehou/models"
)

// Holds releases, every minute, the seats held for payment past their
// hold (models.ReleaseExpiredHolds): each is withdrawn as unpaid, its bill
// voided, and the seat goes to the waitlist head, who gets a hold of its
// own and a message. A hold paid meanwhile is left alone. A hold may
// outlive its expiry by up to a minute; a payment in that minute still
// wins. It is quiet (Job.Quiet): a scheduled run that released nothing
// leaves no record.
var Holds = Job{Name: "holds", Schedule: "* * * * *", Run: releaseHolds, Quiet: true}

func releaseHolds(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
	n, err := models.ReleaseExpiredHolds(ctx, db, now)
	return int64(n), err
}

// HoldsWithPay is Holds when parents pay through WeChat Pay: before the
// release, every open WeChat Pay order of an expired hold is asked about
// (SettleExpiredPayOrders: paid → applied, unpaid → closed there), since a
// seat is never released while its payment may still land.
func HoldsWithPay(p Payer) Job {
	j := Holds
	j.Run = func(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
		settled, payErr := SettleExpiredPayOrders(ctx, db, p, now, 500)
		n, err := models.ReleaseExpiredHolds(ctx, db, now)
		return int64(settled + n), errors.Join(payErr, err)
	}
	return j
}
