package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Orders and their ledger (STYLE rule 15). An order is the bill of one seat
// in a priced offering, made when the seat is taken; every movement of its
// money is an append-only row of fee_ledger with a stable external id (a
// retry that names the movement again finds it and moves nothing). An
// order's status is derived from its ledger (DeriveOrderStatus) and stored
// beside it in the same transaction, for queries; models.Invariants checks
// they agree.

// LedgerSums are an order's ledger totals by kind.
type LedgerSums struct {
	Charge, Waiver, Credit, Void, Payment, Refund int64
}

// Owed is what is still to be paid.
func (s LedgerSums) Owed() int64 { return s.Charge - s.Waiver - s.Credit - s.Void - s.Payment }

// kept is what a refund rule shares out: what was paid for the bill (never
// more than the bill, so money paid twice and returned does not grow a
// refund) and what of that was refunded already.
func (s LedgerSums) kept() (paid, refunded int64) {
	paid = min(s.Payment, s.Charge-s.Waiver)
	over := s.Payment - paid
	return paid, max(0, s.Refund-over)
}

// Refundable is what was paid and not yet refunded.
func (s LedgerSums) Refundable() int64 { return s.Payment - s.Refund }

// DeriveOrderStatus is an order's status from its ledger sums: unpaid while
// anything is owed; then closed (voided, nothing paid), waived (nothing to
// pay), paid, partially_refunded or refunded by what came back.
func DeriveOrderStatus(s LedgerSums) OrderStatus {
	switch {
	case s.Owed() > 0:
		return OrderUnpaid
	case s.Payment == 0 && s.Void > 0:
		return OrderClosed
	case s.Payment == 0:
		return OrderWaived
	case s.Refund == 0:
		return OrderPaid
	case s.Refund >= s.Payment:
		return OrderRefunded
	}
	return OrderPartiallyRefunded
}

// Order is the bill of one seat: the amounts as made (Gross, the waiver,
// Amount = what the family pays), and the status its ledger gives.
type Order struct {
	ID           int64       `gorm:"primaryKey"`
	SchoolID     int64       `gorm:"column:school_id"`
	TermID       int64       `gorm:"column:term_id"`
	OfferingID   int64       `gorm:"column:offering_id"`
	StudentID    int64       `gorm:"column:student_id"`
	EnrollmentID int64       `gorm:"column:enrollment_id"`
	Billing      string      `gorm:"column:billing"`
	UnitFen      int64       `gorm:"column:unit_fen"`
	Sessions     int         `gorm:"column:sessions"`
	BillsFrom    string      `gorm:"column:bills_from"`
	GrossFen     int64       `gorm:"column:gross_fen"`
	Waiver       string      `gorm:"column:waiver"`
	WaiverFen    int64       `gorm:"column:waiver_fen"`
	AmountFen    int64       `gorm:"column:amount_fen"`
	Status       OrderStatus `gorm:"column:status"`
	CreatedAt    time.Time   `gorm:"column:created_at"`
	UpdatedAt    time.Time   `gorm:"column:updated_at"`
}

// TableName maps Order to orders.
func (Order) TableName() string { return "orders" }

// LedgerEntry is one row of fee_ledger.
type LedgerEntry struct {
	ID         int64      `gorm:"primaryKey"`
	OrderID    int64      `gorm:"column:order_id"`
	SchoolID   int64      `gorm:"column:school_id"`
	Kind       LedgerKind `gorm:"column:kind"`
	AmountFen  int64      `gorm:"column:amount_fen"`
	ExternalID string     `gorm:"column:external_id"`
	Method     string     `gorm:"column:method"`
	Ref        string     `gorm:"column:ref"`
	Reason     string     `gorm:"column:reason"`
	SessionID  *int64     `gorm:"column:session_id"`
	OccurredAt time.Time  `gorm:"column:occurred_at"`
	CreatedBy  *int64     `gorm:"column:created_by"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
}

// TableName maps LedgerEntry to fee_ledger.
func (LedgerEntry) TableName() string { return "fee_ledger" }

// OrderView is an order with its ledger and sums (GET /orders/{id}).
type OrderView struct {
	Order
	Sums   LedgerSums
	Ledger []LedgerEntry
	// WeChatRefunds are the refunds moved through WeChat Pay, by ledger
	// row: whether the money reached the family (a refund WeChat Pay
	// refuses for good stays in the ledger; the school must act on it).
	WeChatRefunds map[int64]PayRefund
	// HoldExpiresAt is, for an unpaid order whose seat is held, when the
	// seat is released unpaid (nil otherwise).
	HoldExpiresAt *time.Time
}

// shanghaiDate is t's date in Asia/Shanghai.
func shanghaiDate(t time.Time) string { return t.In(Zone).Format(time.DateOnly) }

// openOrder bills enrollment e's seat in o, taken at now, inside tx: the
// sessions from now's date on (ComputeBill), the student's waiver as it is
// now, a charge row and a waiver row. No order is made when the bill is
// zero (a free offering, or no sessions left). It answers the order and
// whether one was made. The caller holds the seat's transaction.
func openOrder(tx *gorm.DB, e Enrollment, o Offering, now time.Time) (Order, bool, error) {
	if o.FeeFen == 0 {
		return Order{}, false, nil
	}
	b, _, err := offeringBill(tx, o, shanghaiDate(now))
	if err != nil || b.GrossFen == 0 {
		return Order{}, false, err
	}
	waiver, err := waiverOf(tx, e.StudentID)
	if err != nil {
		return Order{}, false, err
	}
	now = now.UTC()
	ord := Order{SchoolID: o.SchoolID, TermID: o.TermID, OfferingID: o.ID, StudentID: e.StudentID, EnrollmentID: e.ID,
		Billing: b.Billing, UnitFen: b.UnitFen, Sessions: b.Sessions, BillsFrom: shanghaiDate(now), GrossFen: b.GrossFen,
		Waiver: waiver, WaiverFen: WaiverFen(waiver, b.GrossFen), CreatedAt: now, UpdatedAt: now}
	if len(b.Dates) > 0 {
		ord.BillsFrom = b.Dates[0]
	}
	ord.AmountFen = ord.GrossFen - ord.WaiverFen
	ord.Status = DeriveOrderStatus(LedgerSums{Charge: ord.GrossFen, Waiver: ord.WaiverFen})
	if err := tx.Create(&ord).Error; err != nil {
		return Order{}, false, err
	}
	moves := []LedgerEntry{{Kind: LedgerCharge, AmountFen: ord.GrossFen, ExternalID: fmt.Sprintf("charge:enrollment:%d", e.ID)}}
	if ord.WaiverFen > 0 {
		moves = append(moves, LedgerEntry{Kind: LedgerWaiver, AmountFen: ord.WaiverFen, Reason: waiver,
			ExternalID: fmt.Sprintf("waiver:enrollment:%d", e.ID)})
	}
	for _, m := range moves {
		m.OrderID, m.SchoolID, m.OccurredAt, m.CreatedAt = ord.ID, ord.SchoolID, now, now
		if err := tx.Create(&m).Error; err != nil {
			return Order{}, false, err
		}
	}
	return ord, true, nil
}

// lockOrder loads order id inside tx, locking its row on PostgreSQL (every
// movement of an order's money takes this lock first, so two movements of
// one order are serialised; on SQLite the writer does it).
func lockOrder(tx *gorm.DB, id int64) (Order, error) {
	q := "SELECT * FROM orders WHERE id = ?"
	if dialectOf(tx) == Postgres {
		q += " FOR UPDATE"
	}
	var o Order
	err := tx.Raw(q, id).Scan(&o).Error
	if err == nil && o.ID == 0 {
		return Order{}, ErrNotFound
	}
	return o, err
}

// ledgerSums sums order id's ledger inside tx.
func ledgerSums(tx *gorm.DB, id int64) (LedgerSums, error) {
	var rows []struct {
		Kind LedgerKind
		Sum  int64
	}
	if err := tx.Raw("SELECT kind, COALESCE(SUM(amount_fen), 0) AS sum FROM fee_ledger WHERE order_id = ? GROUP BY kind", id).
		Scan(&rows).Error; err != nil {
		return LedgerSums{}, err
	}
	var s LedgerSums
	for _, r := range rows {
		switch r.Kind {
		case LedgerCharge:
			s.Charge = r.Sum
		case LedgerWaiver:
			s.Waiver = r.Sum
		case LedgerCredit:
			s.Credit = r.Sum
		case LedgerVoid:
			s.Void = r.Sum
		case LedgerPayment:
			s.Payment = r.Sum
		case LedgerRefund:
			s.Refund = r.Sum
		}
	}
	return s, nil
}

// moveMoney appends m to locked order ord's ledger and brings the order's
// status in step, inside tx. A movement whose external id is already in the
// ledger moves nothing (moved false): it is a retry.
func moveMoney(tx *gorm.DB, ord *Order, m LedgerEntry, now time.Time) (moved bool, err error) {
	var n int64
	if err := tx.Raw("SELECT COUNT(*) FROM fee_ledger WHERE external_id = ?", m.ExternalID).Scan(&n).Error; err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	now = now.UTC()
	m.OrderID, m.SchoolID, m.CreatedAt = ord.ID, ord.SchoolID, now
	if m.OccurredAt.IsZero() {
		m.OccurredAt = now
	}
	if err := tx.Create(&m).Error; err != nil {
		return false, err
	}
	if m.Kind == LedgerRefund {
		if err := queueWeChatRefund(tx, *ord, m, now); err != nil {
			return false, err
		}
		if err := noticeRefundRecorded(tx, *ord, m); err != nil {
			return false, err
		}
	}
	s, err := ledgerSums(tx, ord.ID)
	if err != nil {
		return false, err
	}
	ord.Status, ord.UpdatedAt = DeriveOrderStatus(s), now
	return true, tx.Exec("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", ord.Status, now, ord.ID).Error
}

// FindOrderFor loads order id with its ledger if a may see it: a guardian
// linked to its student, the school's staff, or a platform admin. Anyone
// else gets ErrNotFound.
func FindOrderFor(ctx context.Context, db *DB, a Actor, id int64) (OrderView, error) {
	var v OrderView
	q := db.Read(ctx)
	if err := q.Where("id = ?", id).Take(&v.Order).Error; err != nil {
		return OrderView{}, notFound(err)
	}
	if _, err := FindStudentFor(ctx, db, a, v.StudentID); err != nil {
		return OrderView{}, err
	}
	if err := q.Where("order_id = ?", id).Order("id").Find(&v.Ledger).Error; err != nil {
		return OrderView{}, err
	}
	for _, m := range v.Ledger {
		addToSums(&v.Sums, m)
	}
	if v.Status == OrderUnpaid {
		var held []Enrollment
		if err := q.Where("id = ? AND status = ?", v.EnrollmentID, StatusPendingPayment).Limit(1).Find(&held).Error; err != nil {
			return OrderView{}, err
		}
		if len(held) == 1 {
			v.HoldExpiresAt = held[0].HoldExpiresAt
		}
	}
	var prs []PayRefund
	if err := q.Where("order_id = ?", id).Find(&prs).Error; err != nil {
		return OrderView{}, err
	}
	for _, pr := range prs {
		if v.WeChatRefunds == nil {
			v.WeChatRefunds = make(map[int64]PayRefund, len(prs))
		}
		v.WeChatRefunds[pr.LedgerID] = pr
	}
	return v, nil
}

func addToSums(s *LedgerSums, m LedgerEntry) {
	switch m.Kind {
	case LedgerCharge:
		s.Charge += m.AmountFen
	case LedgerWaiver:
		s.Waiver += m.AmountFen
	case LedgerCredit:
		s.Credit += m.AmountFen
	case LedgerVoid:
		s.Void += m.AmountFen
	case LedgerPayment:
		s.Payment += m.AmountFen
	case LedgerRefund:
		s.Refund += m.AmountFen
	}
}

// FindEnrollmentOrders maps the enrollments of ids that have an order to it.
func FindEnrollmentOrders(ctx context.Context, db *DB, ids []int64) (map[int64]Order, error) {
	out := map[int64]Order{}
	if len(ids) == 0 {
		return out, nil
	}
	var os []Order
	if err := db.Read(ctx).Where("enrollment_id IN ?", ids).Find(&os).Error; err != nil {
		return nil, err
	}
	for _, o := range os {
		out[o.EnrollmentID] = o
	}
	return out, nil
}
