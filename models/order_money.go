package models

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// The movements of an order's money after it is made: payments recorded by
// the school, refunds by the region's rule (a withdrawal, a cancelled
// offering) or by hand, credits for a cancelled session. Each takes the
// order's lock (lockOrder) and appends through moveMoney.

// Payment methods a school records (paid outside kehou).
const (
	PayBank     = "bank"
	PayCash     = "cash"
	PayPlatform = "platform" // a government fee platform
)

// Errors of orders.
var (
	// ErrNothingOwed refuses a payment of an order with nothing to pay.
	ErrNothingOwed = E(KindConflict, "nothing_owed", "该订单没有待缴金额")
	// ErrRefundAbovePaid refuses a refund above what was paid minus what
	// was refunded already.
	ErrRefundAbovePaid = E(KindInvalid, "refund_above_paid", "退费金额超过已缴未退金额")
	// ErrDuplicateRefund refuses a refund without an Idempotency-Key that
	// is the same as one of the last RefundRetryWindow (same order, amount
	// and reason): most likely a retry whose answer was lost.
	ErrDuplicateRefund = E(KindConflict, "duplicate_refund",
		"该订单10分钟内已退过一笔金额和原因都相同的退费（可能是重复提交），本次未退费；如确需再退一笔，请在退费原因中注明区别")
)

// RefundRetryWindow is how long a refund by hand without an
// Idempotency-Key blocks an identical one (ErrDuplicateRefund): longer
// than any client's retries, shorter than the time between two refunds a
// school means to make alike.
const RefundRetryWindow = 10 * time.Minute

// RefundDue is what refund rule gives back when a paid seat is withdrawn at
// now. paid and refunded are the order's sums; billed the sessions it was
// billed for; dates its billed dates still scheduled (cancelled ones were
// refunded on their own), ascending; startMin the sessions' start. Pure:
//
//   - pro_rata: paid × (dates not yet started) / billed, rounded up;
//   - none_after_start: everything before the first date starts, then 0;
//   - full_before_start: everything before the first date starts, then
//     paid × (dates of the months not yet begun) / billed, rounded up —
//     the month under way is due.
//
// The answer never exceeds paid − refunded, nor drops below 0.
func RefundDue(rule string, paid, refunded int64, billed int, dates []string, startMin int, now time.Time) int64 {
	started := func(d string) bool { return !now.Before(at(d, startMin)) }
	begun := len(dates) > 0 && started(dates[0])
	var due int64
	switch {
	case billed <= 0:
		due = 0
	case rule == RefundNoneAfterStart, rule == RefundFullBeforeStart:
		if !begun {
			due = paid
		} else if rule == RefundFullBeforeStart {
			monthBegun := map[string]bool{}
			for _, d := range dates {
				if started(d) {
					monthBegun[d[:7]] = true
				}
			}
			var n int64
			for _, d := range dates {
				if !monthBegun[d[:7]] {
					n++
				}
			}
			due = mulDivUp(paid, n, int64(billed))
		}
	default:
		var n int64
		for _, d := range dates {
			if !started(d) {
				n++
			}
		}
		due = mulDivUp(paid, n, int64(billed))
	}
	return max(0, min(due, paid-refunded))
}

// orderDates are ord's billed dates still scheduled (from bills_from on),
// inside tx, with the offering's start.
func orderDates(tx *gorm.DB, ord Order) ([]string, Offering, error) {
	var o Offering
	if err := tx.Where("id = ?", ord.OfferingID).Take(&o).Error; err != nil {
		return nil, Offering{}, err
	}
	var t Term
	if err := tx.Where("id = ?", o.TermID).Take(&t).Error; err != nil {
		return nil, Offering{}, err
	}
	all, err := billableDates(tx, o, t)
	if err != nil {
		return nil, Offering{}, err
	}
	var out []string
	for _, d := range all {
		if d >= ord.BillsFrom {
			out = append(out, d)
		}
	}
	return out, o, nil
}

// settleWithdrawal settles the order of enrollment enrollmentID (if any)
// when its seat is given up at now, inside tx: what is still owed is
// voided; what was paid comes back by rule (the region's, or pro_rata when
// the school cancelled the offering). key names the event in the external
// ids, so settling twice moves nothing.
func settleWithdrawal(tx *gorm.DB, enrollmentID int64, rule, key string, by int64, now time.Time) error {
	var id int64
	if err := tx.Raw("SELECT id FROM orders WHERE enrollment_id = ?", enrollmentID).Scan(&id).Error; err != nil || id == 0 {
		return err
	}
	ord, err := lockOrder(tx, id)
	if err != nil {
		return err
	}
	s, err := ledgerSums(tx, ord.ID)
	if err != nil {
		return err
	}
	if owed := s.Owed(); owed > 0 {
		if _, err := moveMoney(tx, &ord, LedgerEntry{Kind: LedgerVoid, AmountFen: owed, Reason: key,
			ExternalID: fmt.Sprintf("void:enrollment:%d", enrollmentID), CreatedBy: nullID(by)}, now); err != nil {
			return err
		}
	}
	if s.Refundable() <= 0 {
		return nil
	}
	if rule == "" {
		p, err := effectivePolicy(tx, ord.SchoolID)
		if err != nil {
			return err
		}
		rule = p.RefundRule
	}
	dates, o, err := orderDates(tx, ord)
	if err != nil {
		return err
	}
	paid, refunded := s.kept()
	amount := RefundDue(rule, paid, refunded, ord.Sessions, dates, o.StartMin, now)
	if amount == 0 {
		return nil
	}
	_, err = moveMoney(tx, &ord, LedgerEntry{Kind: LedgerRefund, AmountFen: amount, Reason: key,
		ExternalID: fmt.Sprintf("refund:%s:enrollment:%d", key, enrollmentID), CreatedBy: nullID(by)}, now)
	return err
}

// settleCancelledSession gives back each order's share of session s of
// offering offeringID (cancelled by the school), inside tx: a paid order
// is refunded paid/billed rounded up, an unpaid one credited its net bill
// /billed rounded up, each capped by what there is.
func settleCancelledSession(tx *gorm.DB, offeringID, sessionID int64, date string, by int64, now time.Time) error {
	var ids []int64
	if err := tx.Raw("SELECT id FROM orders WHERE offering_id = ? AND bills_from <= ? AND status IN ? ORDER BY id",
		offeringID, date, orderOpenStatuses).Scan(&ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		ord, err := lockOrder(tx, id)
		if err != nil {
			return err
		}
		if ord.Sessions <= 0 {
			continue
		}
		s, err := ledgerSums(tx, id)
		if err != nil {
			return err
		}
		m := LedgerEntry{SessionID: &sessionID, CreatedBy: nullID(by), Reason: "停课 " + date}
		switch {
		case s.Payment > 0:
			paid, _ := s.kept()
			m.Kind, m.AmountFen = LedgerRefund, min(mulDivUp(paid, 1, int64(ord.Sessions)), s.Refundable())
			m.ExternalID = fmt.Sprintf("refund:session:%d:order:%d", sessionID, id)
		default:
			m.Kind, m.AmountFen = LedgerCredit, min(mulDivUp(s.Charge-s.Waiver, 1, int64(ord.Sessions)), s.Owed())
			m.ExternalID = fmt.Sprintf("credit:session:%d:order:%d", sessionID, id)
		}
		if m.AmountFen <= 0 {
			continue
		}
		if _, err := moveMoney(tx, &ord, m, now); err != nil {
			return err
		}
	}
	return nil
}

// findManagedOrder loads order id for a money movement by a: the school
// admin of its school or a platform admin (other staff of the school:
// ErrForbidden; anyone else: ErrNotFound).
func findManagedOrder(ctx context.Context, db *DB, a Actor, id int64) (Order, error) {
	var ord Order
	if err := db.Read(ctx).Where("id = ?", id).Take(&ord).Error; err != nil {
		return Order{}, notFound(err)
	}
	if err := requireManage(ctx, db, a, ord.SchoolID); err != nil {
		if err == ErrForbidden && !a.IsSchoolStaff(ord.SchoolID) {
			return Order{}, ErrNotFound
		}
		return Order{}, err
	}
	return ord, nil
}

// NewPayment is a payment a school records as received outside kehou.
type NewPayment struct {
	Method string
	Ref    string // the bank slip, receipt or platform number
	PaidAt time.Time
}

// RecordPayment records that order id was paid outside kehou (its school
// admin, or a platform admin), for everything it owes, audited. The same
// method and ref again is a retry: the order is answered as it is, nothing
// moves. Nothing owed: ErrNothingOwed.
func RecordPayment(ctx context.Context, db *DB, a Actor, id int64, in NewPayment) (OrderView, error) {
	var v Validator
	in.Ref = strings.TrimSpace(in.Ref)
	v.Check(in.Method == PayBank || in.Method == PayCash || in.Method == PayPlatform, "method", "缴费方式须为 bank、cash 或 platform")
	v.Check(in.Ref != "" && utf8.RuneCountInString(in.Ref) <= 64 && PlainText(in.Ref), "ref", "缴费凭证号必填，最多64个字符")
	now := db.now()
	v.Check(!in.PaidAt.IsZero() && !in.PaidAt.After(now.Add(time.Minute)), "paid_at", "缴费时间必填，且不能晚于现在")
	if err := v.Err(); err != nil {
		return OrderView{}, err
	}
	ord, err := findManagedOrder(ctx, db, a, id)
	if err != nil {
		return OrderView{}, err
	}
	// An order dated after the clock (a demo built around a later day)
	// bounds nothing beyond "not in the future".
	if err := checkPaidAfterOrder(in.PaidAt, minTime(ord.CreatedAt, now)); err != nil {
		return OrderView{}, err
	}
	release, err := db.admitPayment()
	if err != nil {
		return OrderView{}, err
	}
	defer release()
	// writeOfferings: a held seat that becomes enrolled changes what the
	// offering lists show; retryTx for a deadlock with a withdrawal.
	err = db.writeOfferings(ctx, func(tx *gorm.DB) error {
		if ord, err = lockOrder(tx, id); err != nil {
			return err
		}
		s, err := ledgerSums(tx, id)
		if err != nil {
			return err
		}
		ext := fmt.Sprintf("payment:order:%d:%s:%s", id, in.Method, in.Ref)
		var seen int64
		if err := tx.Raw("SELECT COUNT(*) FROM fee_ledger WHERE external_id = ?", ext).Scan(&seen).Error; err != nil {
			return err
		}
		if seen > 0 {
			return nil // a retry of this very payment
		}
		if s.Owed() <= 0 {
			return ErrNothingOwed
		}
		if _, err := moveMoney(tx, &ord, LedgerEntry{Kind: LedgerPayment, AmountFen: s.Owed(), Method: in.Method, Ref: in.Ref,
			ExternalID: ext, OccurredAt: in.PaidAt, CreatedBy: nullID(a.UserID)}, now); err != nil {
			return err
		}
		if ord.Status == OrderPaid {
			if err := paySeat(tx, ord, now); err != nil {
				return err
			}
		}
		return feeAudit(ctx, tx, a, "record_payment", ord.SchoolID, 0, fmt.Sprintf("order:%d", id),
			fmt.Sprintf("method=%s amount_fen=%d", in.Method, s.Owed()), now)
	})
	if err != nil {
		return OrderView{}, err
	}
	return FindOrderFor(ctx, db, a, id)
}

// checkPaidAfterOrder refuses a payment dated before its order was made: a
// ledger row that says the money came before the bill is a typing slip
// (the wrong day picked). The order's minute counts, since the console
// enters times to the minute.
func checkPaidAfterOrder(paidAt, orderCreated time.Time) error {
	var v Validator
	from := orderCreated.Truncate(time.Minute)
	v.Check(!paidAt.Before(from), "paid_at", "缴费时间不能早于订单创建时间（"+from.In(Zone).Format("2006-01-02 15:04")+"）")
	return v.Err()
}

// NewRefund is a refund a school admin makes by hand.
type NewRefund struct {
	AmountFen int64
	Reason    string
	// Key, when set (the request's Idempotency-Key), names the refund: the
	// same key again with the same amount and reason moves nothing and
	// answers the order; with another amount or reason it is
	// ErrIdempotencyReused.
	Key string
}

// RefundOrder refunds part of order id by hand (its school admin, or a
// platform admin), with a reason, audited; never above what was paid minus
// what was refunded (ErrRefundAbovePaid).
//
// A retry must not refund twice (SPEC keeps the Idempotency-Key optional,
// so both cases are covered): with a key the refund is named by it, as
// POST /enrollments does — same key and body again replays, another body
// is 422; without one, a refund identical to one of the order's refunds by
// hand of the last RefundRetryWindow (same amount and reason, whoever made
// it) is refused with ErrDuplicateRefund (409), since a lost answer's
// retry is exactly that. Both checks run under the order's lock, so two
// identical requests at once refund once.
func RefundOrder(ctx context.Context, db *DB, a Actor, id int64, in NewRefund) (OrderView, error) {
	if in.Key != "" && !validIdempotencyKey(in.Key) {
		return OrderView{}, ErrBadIdempotencyKey
	}
	var v Validator
	in.Reason = strings.TrimSpace(in.Reason)
	v.Check(in.AmountFen >= 1, "amount_fen", "退费金额须为正整数（分）")
	v.Check(in.Reason != "" && utf8.RuneCountInString(in.Reason) <= 200 && PlainText(in.Reason), "reason", "退费原因必填，最多200个字符")
	if err := v.Err(); err != nil {
		return OrderView{}, err
	}
	ord, err := findManagedOrder(ctx, db, a, id)
	if err != nil {
		return OrderView{}, err
	}
	now := db.now()
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if ord, err = lockOrder(tx, id); err != nil {
			return err
		}
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM fee_ledger WHERE order_id = ?", id).Scan(&n).Error; err != nil {
			return err
		}
		// Without a key the refund is named by the ledger's length under
		// the order's lock; an identical one of the last minutes is taken
		// for a retry (ErrDuplicateRefund).
		ext := fmt.Sprintf("refund:order:%d:n:%d", id, n+1)
		if in.Key != "" {
			ext = fmt.Sprintf("refund:order:%d:key:%d:%s", id, a.UserID, in.Key)
			var seen []LedgerEntry
			if err := tx.Where("external_id = ?", ext).Limit(1).Find(&seen).Error; err != nil {
				return err
			}
			if len(seen) > 0 {
				if seen[0].AmountFen != in.AmountFen || seen[0].Reason != in.Reason {
					return ErrIdempotencyReused
				}
				return nil // a retry of this very refund
			}
		} else {
			var same int64
			if err := tx.Raw(`SELECT COUNT(*) FROM fee_ledger WHERE order_id = ? AND kind = ? AND external_id LIKE ?
				AND amount_fen = ? AND reason = ? AND created_at > ?`, id, LedgerRefund, fmt.Sprintf("refund:order:%d:%%", id),
				in.AmountFen, in.Reason, now.Add(-RefundRetryWindow).UTC()).Scan(&same).Error; err != nil {
				return err
			}
			if same > 0 {
				return ErrDuplicateRefund
			}
		}
		s, err := ledgerSums(tx, id)
		if err != nil {
			return err
		}
		if in.AmountFen > s.Refundable() {
			return ErrRefundAbovePaid.WithMessage("退费金额超过已缴未退金额（%s元）", Yuan(s.Refundable()))
		}
		if _, err := moveMoney(tx, &ord, LedgerEntry{Kind: LedgerRefund, AmountFen: in.AmountFen, Reason: in.Reason,
			ExternalID: ext, CreatedBy: nullID(a.UserID)}, now); err != nil {
			return err
		}
		return feeAudit(ctx, tx, a, "refund_order", ord.SchoolID, 0, fmt.Sprintf("order:%d", id),
			fmt.Sprintf("amount_fen=%d reason=%s", in.AmountFen, in.Reason), now)
	})
	if err != nil {
		return OrderView{}, err
	}
	return FindOrderFor(ctx, db, a, id)
}
