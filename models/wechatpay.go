package models

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// WeChat Pay's side of orders (docs/wechatpay.md). models never talks to
// WeChat Pay: the edges (handlers, jobs) call the client between these
// operations, never inside a transaction, and every outcome WeChat Pay
// reports is applied here exactly once, keyed by its own id (a
// transaction id, an out_refund_no).

// PayMethodWeChat is the ledger method of payments made through WeChat Pay.
const PayMethodWeChat = "wechat"

// Errors of WeChat Pay operations.
var (
	// ErrPayUnavailable: payment through WeChat Pay is not configured.
	ErrPayUnavailable = E(KindUnavailable, "payment_unavailable", "本校暂未开通微信支付，请按学校通知缴费")
	// ErrUnknownTrade is a payment WeChat Pay reports for an out_trade_no
	// kehou never made.
	ErrUnknownTrade = E(KindNotFound, "unknown_trade", "未知的商户订单号")
)

// PayOrder is the WeChat Pay side of an order (pay_orders).
type PayOrder struct {
	OrderID         int64         `gorm:"column:order_id;primaryKey"`
	SchoolID        int64         `gorm:"column:school_id"`
	OutTradeNo      string        `gorm:"column:out_trade_no"`
	AmountFen       int64         `gorm:"column:amount_fen"`
	PayerUserID     int64         `gorm:"column:payer_user_id"`
	PrepayID        string        `gorm:"column:prepay_id"`
	PrepayExpiresAt *time.Time    `gorm:"column:prepay_expires_at"`
	State           PayOrderState `gorm:"column:state"`
	TransactionID   string        `gorm:"column:transaction_id"`
	CreatedAt       time.Time     `gorm:"column:created_at"`
	UpdatedAt       time.Time     `gorm:"column:updated_at"`
}

// TableName maps PayOrder to pay_orders.
func (PayOrder) TableName() string { return "pay_orders" }

// OutTradeNo is the out_trade_no of order id for amount fen: stable for the
// same order and amount (a retried prepay finds the same order at WeChat
// Pay), new when the amount changed before payment (WeChat Pay refuses one
// out_trade_no with other parameters).
func OutTradeNo(orderID, amountFen int64) string {
	return fmt.Sprintf("KH%010d-%d", orderID, amountFen)
}

// PrepayTTL is how long WeChat Pay keeps a prepay_id payable.
const PrepayTTL = 2 * time.Hour

// WeChatPayStart is what the edge needs to ask WeChat Pay for a prepay.
type WeChatPayStart struct {
	OrderID     int64
	SchoolID    int64
	PayerUserID int64
	OutTradeNo  string
	AmountFen   int64
	OpenID      string
	Description string
	// ExpiresAt is when WeChat Pay must stop taking the payment (its
	// time_expire): the hold's end, or the prepay's life when the seat is
	// not held.
	ExpiresAt time.Time
	// PrepayUntil is how long a prepay made now stays payable: PrepayTTL,
	// or less when the hold ends sooner. A longer hold gets a new prepay
	// for the same WeChat order on a later tap.
	PrepayUntil time.Time
	// PrepayID is a prepay still payable for the same amount, to sign again
	// instead of asking WeChat Pay (empty: ask).
	PrepayID string
	// Stale is an older out_trade_no of the order (another amount) still
	// open at WeChat Pay: close it before the new prepay.
	Stale string
}

// StartWeChatPay checks that parent a may pay order id now and answers
// what the prepay needs: a guardian linked to the order's student; an order
// that owes something; a hold that has not run out.
func StartWeChatPay(ctx context.Context, db *DB, a Actor, id int64) (WeChatPayStart, error) {
	if a.Role != RoleParent {
		return WeChatPayStart{}, ErrForbidden
	}
	var ord Order
	if err := db.Read(ctx).Where("id = ?", id).Take(&ord).Error; err != nil {
		return WeChatPayStart{}, notFound(err)
	}
	if _, err := FindStudentFor(ctx, db, a, ord.StudentID); err != nil {
		return WeChatPayStart{}, err
	}
	now := db.now()
	var out WeChatPayStart
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		s, err := ledgerSums(tx, id)
		if err != nil {
			return err
		}
		if s.Owed() <= 0 {
			return ErrNothingOwed
		}
		hold, err := holdOf(tx, ord.EnrollmentID, now)
		if err != nil {
			return err
		}
		var user User
		if err := tx.Where("id = ?", a.UserID).Take(&user).Error; err != nil {
			return notFound(err)
		}
		if user.OpenID == nil || *user.OpenID == "" {
			return ErrForbidden.WithMessage("请从微信小程序登录后再支付")
		}
		var name string
		if err := scanOne(tx.Raw("SELECT name FROM offerings WHERE id = ?", ord.OfferingID), &name); err != nil {
			return err
		}
		out = WeChatPayStart{OrderID: id, SchoolID: ord.SchoolID, PayerUserID: a.UserID, OutTradeNo: OutTradeNo(id, s.Owed()),
			AmountFen: s.Owed(), OpenID: *user.OpenID, Description: ClipBytes("课后服务-"+name, 127),
			ExpiresAt: now.Add(PrepayTTL), PrepayUntil: now.Add(PrepayTTL)}
		if !hold.IsZero() {
			out.ExpiresAt = hold
			out.PrepayUntil = minTime(hold, out.PrepayUntil)
		}
		var po PayOrder
		err = tx.Where("order_id = ?", id).Take(&po).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return nil
		case err != nil:
			return err
		case po.State == PayOrderPaid:
			// One WeChat payment per order: what is still owed after it (a
			// short payment) the school collects and records.
			return ErrNothingOwed.WithMessage("本订单已通过微信支付，剩余款项请联系学校")
		case po.OutTradeNo != out.OutTradeNo && po.State == PayOrderOpen:
			out.Stale = po.OutTradeNo
		case po.OutTradeNo == out.OutTradeNo && po.State == PayOrderOpen && po.PrepayID != "" &&
			po.PrepayExpiresAt != nil && po.PrepayExpiresAt.After(now.Add(time.Minute)):
			out.PrepayID = po.PrepayID
		}
		return nil
	})
	return out, err
}

// holdOf is when the hold of enrollment id ends: zero when the seat is not
// held (enrolled already, or a hold without an end); ErrHoldExpired when
// the seat is gone or its hold has run out.
func holdOf(tx *gorm.DB, enrollmentID int64, now time.Time) (time.Time, error) {
	var e struct {
		Status        string
		HoldExpiresAt *time.Time
	}
	if err := scanOne(tx.Raw("SELECT status, hold_expires_at FROM enrollments WHERE id = ?", enrollmentID), &e); err != nil {
		return time.Time{}, err
	}
	switch {
	case !EnrollmentStatus(e.Status).IsLive():
		return time.Time{}, ErrHoldExpired
	case EnrollmentStatus(e.Status) != StatusPendingPayment || e.HoldExpiresAt == nil:
		return time.Time{}, nil
	case !e.HoldExpiresAt.After(now):
		return time.Time{}, ErrHoldExpired
	}
	return *e.HoldExpiresAt, nil
}

// minTime is the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ClipBytes cuts s to at most n bytes on a character boundary.
func ClipBytes(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// SavePrepay records the prepay WeChat Pay made for start (prepay_id
// payable until validUntil).
func SavePrepay(ctx context.Context, db *DB, start WeChatPayStart, prepayID string, validUntil time.Time) error {
	now := db.now()
	exp := validUntil.UTC()
	return retryTx(ctx, db, func(tx *gorm.DB) error {
		// A first prepay inserts; two at once (a double tap) both name the
		// same out_trade_no, so WeChat Pay gave both the same prepay: the
		// second insert does nothing and the update below finds the row.
		if err := tx.Exec(`INSERT INTO pay_orders (order_id, school_id, out_trade_no, amount_fen, payer_user_id, prepay_id,
			prepay_expires_at, state, transaction_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)
			ON CONFLICT (order_id) DO NOTHING`, start.OrderID, start.SchoolID, start.OutTradeNo, start.AmountFen,
			start.PayerUserID, prepayID, exp, PayOrderOpen, now, now).Error; err != nil {
			return err
		}
		res := tx.Exec(`UPDATE pay_orders SET out_trade_no = ?, amount_fen = ?, payer_user_id = ?, prepay_id = ?,
			prepay_expires_at = ?, state = ?, updated_at = ? WHERE order_id = ? AND state <> ?`,
			start.OutTradeNo, start.AmountFen, start.PayerUserID, prepayID, exp, PayOrderOpen, now, start.OrderID, PayOrderPaid)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNothingOwed.WithMessage("本订单已通过微信支付")
		}
		return res.Error
	})
}

// WeChatPayment is a payment WeChat Pay reported (a notification, or a
// query of an order whose notification never came).
type WeChatPayment struct {
	OutTradeNo    string
	TransactionID string
	AmountFen     int64
	PaidAt        time.Time
}

// Outcomes of ApplyWeChatPayment.
const (
	PaymentApplied  = "applied"  // the order is paid; a held seat is now enrolled
	PaymentRepeated = "repeated" // this transaction was applied before: nothing moved
	PaymentRefunded = "refunded" // the seat was gone (the hold ran out first): paid and refunded in full
)

// ApplyWeChatPayment applies payment p exactly once (the ledger row is named
// by its transaction id): the order is paid and its held seat enrolled; if
// the seat is gone — its hold ran out and the seat was released before the
// payment landed — the money is refunded in full through WeChat Pay, so no
// child is paid for without a seat and no seat is held without payment.
// Money beyond what the order owes is refunded too.
func ApplyWeChatPayment(ctx context.Context, db *DB, p WeChatPayment) (string, error) {
	outcome := ""
	err := retryTx(ctx, db, func(tx *gorm.DB) error {
		var err error
		outcome, err = applyWeChatPayment(tx, p)
		return err
	})
	return outcome, err
}

// applyWeChatPayment is ApplyWeChatPayment inside tx.
func applyWeChatPayment(tx *gorm.DB, p WeChatPayment) (string, error) {
	now := txNow(tx)
	var po PayOrder
	if err := tx.Where("out_trade_no = ?", p.OutTradeNo).Take(&po).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", ErrUnknownTrade
		}
		return "", err
	}
	ord, err := lockOrder(tx, po.OrderID)
	if err != nil {
		return "", err
	}
	before, err := ledgerSums(tx, ord.ID)
	if err != nil {
		return "", err
	}
	moved, err := moveMoney(tx, &ord, LedgerEntry{Kind: LedgerPayment, AmountFen: p.AmountFen, Method: PayMethodWeChat,
		Ref: p.TransactionID, ExternalID: "wxpay:" + p.TransactionID, OccurredAt: p.PaidAt.UTC()}, now)
	if err != nil || !moved {
		return PaymentRepeated, err
	}
	if err := tx.Exec("UPDATE pay_orders SET state = ?, transaction_id = ?, updated_at = ? WHERE order_id = ?",
		PayOrderPaid, p.TransactionID, now, po.OrderID).Error; err != nil {
		return "", err
	}
	var status string
	if err := scanOne(tx.Raw("SELECT status FROM enrollments WHERE id = ?", ord.EnrollmentID), &status); err != nil {
		return "", err
	}
	outcome, refund, reason := PaymentApplied, int64(0), ""
	switch {
	case !EnrollmentStatus(status).IsLive():
		refund, reason, outcome = p.AmountFen, "名额已释放，全额退款", PaymentRefunded
	default:
		if extra := p.AmountFen - before.Owed(); extra > 0 {
			refund, reason = extra, "多付退回"
		}
		if p.AmountFen >= before.Owed() {
			if err := paySeat(tx, ord, now); err != nil {
				return "", err
			}
		}
	}
	if refund > 0 {
		if _, err := moveMoney(tx, &ord, LedgerEntry{Kind: LedgerRefund, AmountFen: refund, Reason: reason,
			ExternalID: "refund:wxpay:" + p.TransactionID}, now); err != nil {
			return "", err
		}
	}
	return outcome, nil
}

// queueWeChatRefund is the write path of every refund ledger row m of order
// ord (moveMoney calls it): when the order was paid through WeChat Pay the
// money goes back the same way, so the refund is queued for the refund
// worker in the same transaction. out_refund_no is named by the ledger row.
func queueWeChatRefund(tx *gorm.DB, ord Order, m LedgerEntry, now time.Time) error {
	var left struct{ Paid, Refunded int64 }
	if err := tx.Raw(`SELECT
		(SELECT COALESCE(SUM(amount_fen), 0) FROM fee_ledger WHERE order_id = ? AND kind = ? AND method = ?) AS paid,
		(SELECT COALESCE(SUM(amount_fen), 0) FROM pay_refunds WHERE order_id = ?) AS refunded`,
		ord.ID, LedgerPayment, PayMethodWeChat, ord.ID).Scan(&left).Error; err != nil {
		return err
	}
	// Only what was paid through WeChat Pay goes back through it; the rest
	// of a refund (of money paid in cash or at the bank) the school pays out.
	amount := min(m.AmountFen, left.Paid-left.Refunded)
	if amount <= 0 {
		return nil
	}
	return tx.Exec(`INSERT INTO pay_refunds (ledger_id, order_id, school_id, out_refund_no, amount_fen, status, attempts,
		next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		m.ID, ord.ID, ord.SchoolID, fmt.Sprintf("KR%010d", m.ID), amount, PayRefundPending, now, now, now).Error
}

// FindExpiredPayOrders lists up to limit open pay orders whose seat's hold
// has run out: the ones to ask WeChat Pay about before the seat goes.
func FindExpiredPayOrders(ctx context.Context, db *DB, now time.Time, limit int) ([]PayOrder, error) {
	var out []PayOrder
	err := db.Read(ctx).Raw(`SELECT p.* FROM pay_orders p JOIN orders o ON o.id = p.order_id
		JOIN enrollments e ON e.id = o.enrollment_id
		WHERE p.state = ? AND e.status = ? AND e.hold_expires_at <= ? ORDER BY e.hold_expires_at LIMIT ?`,
		PayOrderOpen, StatusPendingPayment, now.UTC(), limit).Scan(&out).Error
	return out, err
}

// ClosePayOrder records that out_trade_no of order id is closed at WeChat
// Pay (or never reached it): nothing can be paid through it any more, so
// the seat's hold may end.
func ClosePayOrder(ctx context.Context, db *DB, orderID int64, outTradeNo string) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("UPDATE pay_orders SET state = ?, updated_at = ? WHERE order_id = ? AND out_trade_no = ? AND state = ?",
			PayOrderClosed, txNow(tx), orderID, outTradeNo, PayOrderOpen).Error
	})
}

// payOrderOpenSQL is the condition (one argument: PayOrderOpen) a hold
// release adds, negated, so that a seat whose WeChat Pay order is still
// open — payable — is not released: the hold job first asks WeChat Pay
// about those (jobs.SettleExpiredPayOrders) and closes them.
const payOrderOpenSQL = "EXISTS (SELECT 1 FROM pay_orders p JOIN orders o ON o.id = p.order_id WHERE o.enrollment_id = enrollments.id AND p.state = ?)"
