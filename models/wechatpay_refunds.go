package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// PayRefund is a refund WeChat Pay is to move (pay_refunds).
type PayRefund struct {
	ID            int64           `gorm:"primaryKey"`
	LedgerID      int64           `gorm:"column:ledger_id"`
	OrderID       int64           `gorm:"column:order_id"`
	SchoolID      int64           `gorm:"column:school_id"`
	OutRefundNo   string          `gorm:"column:out_refund_no"`
	AmountFen     int64           `gorm:"column:amount_fen"`
	Status        PayRefundStatus `gorm:"column:status"`
	Attempts      int             `gorm:"column:attempts"`
	NextAttemptAt time.Time       `gorm:"column:next_attempt_at"`
	RefundID      string          `gorm:"column:refund_id"`
	LastError     string          `gorm:"column:last_error"`
	SucceededAt   *time.Time      `gorm:"column:succeeded_at"`
	CreatedAt     time.Time       `gorm:"column:created_at"`
	UpdatedAt     time.Time       `gorm:"column:updated_at"`
}

// TableName maps PayRefund to pay_refunds.
func (PayRefund) TableName() string { return "pay_refunds" }

// PayRefundJob is a due refund with what the refund request names.
type PayRefundJob struct {
	PayRefund
	OutTradeNo string // the paid pay order's
	TotalFen   int64  // what that payment was
	Reason     string
}

// RefundLease is how long a worker that claimed a refund has before
// another instance may claim it again.
const RefundLease = 2 * time.Minute

// MaxRefundAttempts is how many refusals that may pass (SYSTEM_ERROR, a
// network failure) a refund is sent through before it is failed for the
// school to handle.
const MaxRefundAttempts = 12

// ClaimDueRefunds claims up to limit refunds due at now (pending, or
// processing without an answer for a while, to query), leasing each for
// RefundLease so two instances do not send one refund at once (and if they
// did, the same out_refund_no makes WeChat Pay answer the same refund).
func ClaimDueRefunds(ctx context.Context, db *DB, limit int) ([]PayRefundJob, error) {
	var out []PayRefundJob
	err := retryTx(ctx, db, func(tx *gorm.DB) error {
		now := txNow(tx)
		out = out[:0]
		var due []PayRefund
		if err := tx.Where("status IN ? AND next_attempt_at <= ?", payRefundDue, now).
			Order("next_attempt_at").Limit(limit).Find(&due).Error; err != nil {
			return err
		}
		for _, r := range due {
			// Still due as read: a notification that settled it since is
			// not sent again.
			res := tx.Exec("UPDATE pay_refunds SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND next_attempt_at = ? AND status IN ?",
				now.Add(RefundLease), now, r.ID, r.NextAttemptAt, payRefundDue)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue // another instance claimed it, or it was settled
			}
			var named struct {
				OutTradeNo string
				TotalFen   int64
				Reason     string
			}
			if err := scanOne(tx.Raw(`SELECT p.out_trade_no, f.amount_fen AS total_fen, l.reason FROM pay_orders p
				JOIN fee_ledger f ON f.order_id = p.order_id AND f.kind = ? AND f.method = ?
				JOIN fee_ledger l ON l.id = ? WHERE p.order_id = ?`, LedgerPayment, PayMethodWeChat, r.LedgerID, r.OrderID), &named); err != nil {
				return err
			}
			out = append(out, PayRefundJob{PayRefund: r, OutTradeNo: named.OutTradeNo, TotalFen: named.TotalFen, Reason: named.Reason})
		}
		return nil
	})
	return out, err
}

// RefundAttempt is what one call to WeChat Pay for a refund answered.
type RefundAttempt struct {
	Status   string // WeChat Pay's refund status (SUCCESS, PROCESSING, CLOSED, ABNORMAL), or "" when the call failed
	RefundID string
	Err      string // the failure, without secrets
	Final    bool   // the failure will not pass by retrying
	At       time.Time
}

// RecordRefundAttempt applies attempt to refund id: success or processing
// as WeChat Pay said; a failure that may pass is retried with a growing
// backoff (30 s doubling, at most an hour) up to MaxRefundAttempts; a final
// one fails the refund for the school to handle.
func RecordRefundAttempt(ctx context.Context, db *DB, id int64, at RefundAttempt) error {
	return retryTx(ctx, db, func(tx *gorm.DB) error {
		now := txNow(tx)
		// The worker's answer and WeChat Pay's notification of one refund
		// can arrive together: on PostgreSQL the row is locked before it is
		// read, so the later of the two sees the earlier's outcome (a
		// PROCESSING must not overwrite a SUCCESS); on SQLite the writer
		// serialises them.
		q := "SELECT * FROM pay_refunds WHERE id = ?"
		if dialectOf(tx) == Postgres {
			q += " FOR UPDATE"
		}
		var r PayRefund
		if err := scanOne(tx.Raw(q, id), &r); err != nil {
			return err
		}
		if r.Status.Done() {
			return nil
		}
		upd := map[string]any{"attempts": r.Attempts + 1, "updated_at": now, "last_error": ClipBytes(at.Err, 200)}
		switch at.Status {
		case "SUCCESS":
			upd["status"], upd["refund_id"], upd["succeeded_at"] = PayRefundSuccess, at.RefundID, at.At.UTC()
		case "PROCESSING":
			upd["status"], upd["refund_id"], upd["next_attempt_at"] = PayRefundProcessing, at.RefundID, now.Add(10*time.Minute)
		case "CLOSED", "ABNORMAL":
			upd["status"], upd["last_error"] = PayRefundFailed, "微信支付退款状态 "+at.Status
		default:
			if at.Final || r.Attempts+1 >= MaxRefundAttempts {
				upd["status"] = PayRefundFailed
			} else {
				upd["next_attempt_at"] = now.Add(refundBackoff(r.Attempts + 1))
			}
		}
		if err := tx.Model(&PayRefund{}).Where("id = ?", id).Updates(upd).Error; err != nil {
			return err
		}
		if upd["status"] == PayRefundSuccess {
			return noticeRefundSucceeded(tx, r) // the family hears the money is back
		}
		return nil
	})
}

// refundBackoff is the wait before attempt n+1: 30 s doubling, at most an hour.
func refundBackoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// WeChatRefundResult is a refund's outcome WeChat Pay reported.
type WeChatRefundResult struct {
	OutRefundNo string
	RefundID    string
	Status      string // SUCCESS, CLOSED, ABNORMAL
	AmountFen   int64
	SucceededAt time.Time
}

// ApplyWeChatRefund applies a refund notification (the same one again
// changes nothing). A refund kehou does not know answers ErrUnknownTrade.
func ApplyWeChatRefund(ctx context.Context, db *DB, r WeChatRefundResult) error {
	var pr PayRefund
	if err := db.Read(ctx).Where("out_refund_no = ?", r.OutRefundNo).Take(&pr).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrUnknownTrade
		}
		return err
	}
	if r.AmountFen != pr.AmountFen {
		return E(KindInvalid, "refund_amount_differs", "退款金额与退款单不符")
	}
	return RecordRefundAttempt(ctx, db, pr.ID, RefundAttempt{Status: r.Status, RefundID: r.RefundID, At: r.SucceededAt})
}
