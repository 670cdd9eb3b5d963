package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kehou/models"
	"kehou/wechat/pay"
)

// Payer is WeChat Pay as the jobs use it; *pay.Client is one.
type Payer interface {
	Query(ctx context.Context, outTradeNo string) (pay.Transaction, error)
	Close(ctx context.Context, outTradeNo string) error
	Refund(ctx context.Context, in pay.RefundIn) (pay.Refund, error)
	QueryRefund(ctx context.Context, outRefundNo string) (pay.Refund, error)
	TradeBill(ctx context.Context, day string) ([]pay.BillRow, error)
}

// PayJobs are the jobs of WeChat Pay (none when p is nil, payment off):
// the holds job that asks WeChat Pay before releasing (it replaces Holds),
// refunds sent and followed every minute, and the daily reconciliation of
// yesterday's trade bill at 10:00 (WeChat Pay publishes it after 9:00).
func PayJobs(p Payer) []Job {
	if p == nil {
		return nil
	}
	return []Job{
		HoldsWithPay(p),
		{Name: "pay_refunds", Schedule: "@every 1m", Run: func(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
			n, err := SendRefunds(ctx, db, p, 200)
			return int64(n), err
		}},
		{Name: "reconcile", Schedule: "0 10 * * *", Run: func(ctx context.Context, db *models.DB, now time.Time) (int64, error) {
			sum, err := Reconcile(ctx, db, p, now.In(models.Zone).AddDate(0, 0, -1).Format(time.DateOnly))
			return int64(len(sum.Diffs)), err
		}},
	}
}

// SendRefunds claims up to limit due refunds and sends each to WeChat Pay
// (a refund already accepted is queried instead), recording every answer:
// failures that may pass are retried with backoff, refusals fail the refund
// for the school. It answers how many refunds it handled.
func SendRefunds(ctx context.Context, db *models.DB, p Payer, limit int) (int, error) {
	due, err := models.ClaimDueRefunds(ctx, db, limit)
	if err != nil {
		return 0, err
	}
	bg := context.WithoutCancel(ctx) // an answer received is recorded even when ctx ends
	var errs []error
	for _, r := range due {
		var res pay.Refund
		var err error
		if r.Status == models.PayRefundProcessing {
			res, err = p.QueryRefund(ctx, r.OutRefundNo)
		} else {
			res, err = p.Refund(ctx, pay.RefundIn{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo,
				Reason: models.ClipBytes(r.Reason, 80), RefundFen: r.AmountFen, TotalFen: r.TotalFen})
		}
		at := models.RefundAttempt{Status: res.Status, RefundID: res.RefundID, At: res.SuccessTime}
		if err != nil {
			at = models.RefundAttempt{Err: err.Error(), Final: !pay.Retryable(err)}
			if at.Final {
				// The money did not reach the family: the run says so
				// (the job's history and log), and GET /orders/{id}
				// shows the refund failed with WeChat Pay's reason.
				errs = append(errs, fmt.Errorf("refund %s refused by WeChat Pay for good: %w", r.OutRefundNo, err))
			}
		}
		errs = append(errs, models.RecordRefundAttempt(bg, db, r.ID, at))
	}
	return len(due), errors.Join(errs...)
}

// Reconcile downloads day's trade bill and compares it with the ledger
// (models.ReconcileWeChatPay), recording every difference.
func Reconcile(ctx context.Context, db *models.DB, p Payer, day string) (models.ReconcileSummary, error) {
	rows, err := p.TradeBill(ctx, day)
	if err != nil {
		return models.ReconcileSummary{}, fmt.Errorf("trade bill of %s: %w", day, err)
	}
	lines := make([]models.BillLine, 0, len(rows))
	for _, r := range rows {
		l := models.BillLine{OutTradeNo: r.OutTradeNo, TransactionID: r.TransactionID}
		if r.OutRefundNo != "" {
			l.OutRefundNo, l.RefundFen = r.OutRefundNo, r.RefundFen
		} else {
			l.AmountFen = r.AmountFen
		}
		lines = append(lines, l)
	}
	return models.ReconcileWeChatPay(ctx, db, day, lines)
}

// SettleExpiredPayOrders asks WeChat Pay about every open pay order whose
// seat's hold has run out, before the hold job releases the seat: paid (the
// notification never came) → the payment is applied; not paid → the order
// is closed at WeChat Pay, so it can no longer be paid, and then the seat
// may go. A pay order WeChat Pay cannot be asked about stays open, and its
// seat held, until it can: a seat is never released while its payment may
// still land. It answers how many pay orders it settled.
func SettleExpiredPayOrders(ctx context.Context, db *models.DB, p Payer, now time.Time, limit int) (int, error) {
	open, err := models.FindExpiredPayOrders(ctx, db, now, limit)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, po := range open {
		if err := settlePayOrder(ctx, db, p, po); err != nil {
			errs = append(errs, fmt.Errorf("pay order %s: %w", po.OutTradeNo, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func settlePayOrder(ctx context.Context, db *models.DB, p Payer, po models.PayOrder) error {
	t, err := p.Query(ctx, po.OutTradeNo)
	switch {
	case errors.Is(err, pay.ErrOrderNotExist):
		// The prepay never reached WeChat Pay: nothing can be paid.
		return models.ClosePayOrder(ctx, db, po.OrderID, po.OutTradeNo)
	case err != nil && pay.Retryable(err):
		return err
	case err != nil:
		// Refused for good (a query WeChat Pay will never answer): close,
		// which answers ORDERPAID if it was in fact paid, so no seat waits
		// forever on an order nobody can ask about.
	case t.State == pay.StateSuccess || t.State == pay.StateRefund:
		_, err := models.ApplyWeChatPayment(ctx, db, models.WeChatPayment{OutTradeNo: t.OutTradeNo,
			TransactionID: t.TransactionID, AmountFen: t.AmountFen, PaidAt: t.SuccessTime})
		return err
	case t.State == pay.StateClosed:
		return models.ClosePayOrder(ctx, db, po.OrderID, po.OutTradeNo)
	}
	if err := p.Close(ctx, po.OutTradeNo); errors.Is(err, pay.ErrOrderPaid) {
		return settlePayOrder(ctx, db, p, po) // paid while we asked: apply it
	} else if err != nil && !errors.Is(err, pay.ErrOrderClosed) {
		return err
	}
	return models.ClosePayOrder(ctx, db, po.OrderID, po.OutTradeNo)
}
