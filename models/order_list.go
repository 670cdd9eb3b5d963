package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SchoolOrder is an order in a school's list, with its student, offering,
// seat and what its ledger says was paid and refunded.
type SchoolOrder struct {
	Order
	StudentName      string           `gorm:"column:student_name"`
	StudentNo        string           `gorm:"column:student_no"`
	OfferingName     string           `gorm:"column:offering_name"`
	EnrollmentStatus EnrollmentStatus `gorm:"column:enrollment_status"`
	HoldExpiresAt    *time.Time       `gorm:"column:hold_expires_at"`
	PaidFen          int64            `gorm:"column:paid_fen"`
	RefundedFen      int64            `gorm:"column:refunded_fen"`
	// CreditedFen is what cancelled sessions took off the bill; OwedFen
	// what is still to be paid (LedgerSums.Owed, never below zero).
	CreditedFen int64 `gorm:"column:credited_fen"`
	OwedFen     int64 `gorm:"column:owed_fen"`
}

// OrderListFilter narrows a school's list of orders: one status, one term,
// a student (Query: part of the name, or the student number from its
// start, either case: studentSearch), and the page (ids below Before, at most Limit).
type OrderListFilter struct {
	Status OrderStatus
	TermID int64
	Query  string
	Before int64
	Limit  int
}

// maxSchoolOrders bounds one page of a school's orders.
const maxSchoolOrders = 500

// likeEscaper escapes LIKE's wildcards (and its escape character) so a
// search for "50%" or "_" matches those characters; both engines take
// ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// FindSchoolOrders lists schoolID's orders for its staff, newest first,
// narrowed by f: status unpaid is the school's list of seats held for
// payment; a query finds a student's orders by name or number. Each row
// carries what was paid, refunded, credited and is still owed, summed from
// its ledger. The read is
// written to the staff access log (it names children).
func FindSchoolOrders(ctx context.Context, db *DB, a Actor, schoolID int64, f OrderListFilter) ([]SchoolOrder, error) {
	if a.Role != RolePlatformAdmin && !a.IsSchoolStaff(schoolID) {
		return nil, ErrNotFound
	}
	var err error
	if f.Query, err = cleanStudentQuery(f.Query); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > maxSchoolOrders {
		f.Limit = maxSchoolOrders
	}
	q := `SELECT o.*, s.name AS student_name, s.student_no, f.name AS offering_name, e.status AS enrollment_status,
		e.hold_expires_at,
		COALESCE((SELECT SUM(l.amount_fen) FROM fee_ledger l WHERE l.order_id = o.id AND l.kind = ?), 0) AS paid_fen,
		COALESCE((SELECT SUM(l.amount_fen) FROM fee_ledger l WHERE l.order_id = o.id AND l.kind = ?), 0) AS refunded_fen,
		COALESCE((SELECT SUM(l.amount_fen) FROM fee_ledger l WHERE l.order_id = o.id AND l.kind = ?), 0) AS credited_fen,
		COALESCE((SELECT SUM(CASE WHEN l.kind = ` + sqlText(LedgerCharge) + ` THEN l.amount_fen WHEN l.kind IN ` + sqlList(ledgerOwedLess) + `
			THEN -l.amount_fen ELSE 0 END) FROM fee_ledger l WHERE l.order_id = o.id), 0) AS owed_fen
		FROM orders o JOIN students s ON s.id = o.student_id JOIN offerings f ON f.id = o.offering_id
		JOIN enrollments e ON e.id = o.enrollment_id WHERE o.school_id = ?`
	args := []any{LedgerPayment, LedgerRefund, LedgerCredit, schoolID}
	if f.Status != "" {
		q += " AND o.status = ?"
		args = append(args, f.Status)
	}
	if f.TermID != 0 {
		q += " AND o.term_id = ?"
		args = append(args, f.TermID)
	}
	if f.Query != "" {
		cond, cargs := studentSearch(f.Query)
		q += " AND " + cond
		args = append(args, cargs...)
	}
	if f.Before != 0 {
		q += " AND o.id < ?"
		args = append(args, f.Before)
	}
	q += " ORDER BY o.id DESC LIMIT ?"
	args = append(args, f.Limit)
	out := []SchoolOrder{}
	if err := db.Read(ctx).Raw(q, args...).Scan(&out).Error; err != nil {
		return nil, err
	}
	LogStaffAccess(ctx, db, a, "list_school_orders", schoolID, fmt.Sprintf("school:%d", schoolID))
	return out, nil
}
