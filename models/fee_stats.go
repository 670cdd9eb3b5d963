package models

import (
	"context"
	"fmt"
)

// Finance statistics, read live from the ledger (every figure is a sum of
// ledger rows, so the reports and the orders cannot disagree): per school,
// and for a region the sum of its schools.

// FinanceFigures are the money of a scope: amounts in fen and the students
// each concerns.
type FinanceFigures struct {
	Orders              int64 `gorm:"column:orders"`
	BilledFen           int64 `gorm:"column:billed_fen"`
	BilledStudents      int64 `gorm:"column:billed_students"`
	WaivedFen           int64 `gorm:"column:waived_fen"`
	WaivedStudents      int64 `gorm:"column:waived_students"`
	CreditedFen         int64 `gorm:"column:credited_fen"`
	VoidedFen           int64 `gorm:"column:voided_fen"`
	CollectedFen        int64 `gorm:"column:collected_fen"`
	CollectedStudents   int64 `gorm:"column:collected_students"`
	RefundedFen         int64 `gorm:"column:refunded_fen"`
	RefundedStudents    int64 `gorm:"column:refunded_students"`
	OutstandingFen      int64 `gorm:"column:outstanding_fen"`
	OutstandingStudents int64 `gorm:"column:outstanding_students"`
}

// SchoolFinance is one school's figures.
type SchoolFinance struct {
	SchoolID   int64  `gorm:"column:school_id"`
	SchoolName string `gorm:"column:school_name"`
	FinanceFigures
}

// Finance is GET /stats/finance: the scope's totals and its schools.
type Finance struct {
	Scope   StatScope
	TermID  int64
	Totals  FinanceFigures
	Schools []SchoolFinance
}

// financeSelect sums the ledger by school; outstanding is what is owed
// (charge − waiver − credit − void − payment: never below zero per order,
// an invariant), its students those with an unpaid order.
var financeSelect = `SELECT o.school_id, s.name AS school_name,
	COUNT(DISTINCT o.id) AS orders,
	` + ledgerSumSQL("l.kind", "l.amount_fen", LedgerCharge) + ` AS billed_fen,
	` + ledgerStudentsSQL(LedgerCharge) + ` AS billed_students,
	` + ledgerSumSQL("l.kind", "l.amount_fen", LedgerWaiver) + ` AS waived_fen,
	` + ledgerStudentsSQL(LedgerWaiver) + ` AS waived_students,
	` + ledgerSumSQL("l.kind", "l.amount_fen", LedgerCredit) + ` AS credited_fen,
	` + ledgerSumSQL("l.kind", "l.amount_fen", LedgerVoid) + ` AS voided_fen,
	` + ledgerSumSQL("l.kind", "l.amount_fen", LedgerPayment) + ` AS collected_fen,
	` + ledgerStudentsSQL(LedgerPayment) + ` AS collected_students,
	` + ledgerSumSQL("l.kind", "l.amount_fen", LedgerRefund) + ` AS refunded_fen,
	` + ledgerStudentsSQL(LedgerRefund) + ` AS refunded_students,
	SUM(CASE WHEN l.kind = ` + sqlText(LedgerCharge) + ` THEN l.amount_fen WHEN l.kind IN ` + sqlList(ledgerOwedLess) + ` THEN -l.amount_fen ELSE 0 END) AS outstanding_fen,
	COUNT(DISTINCT CASE WHEN o.status = ` + sqlText(OrderUnpaid) + ` THEN o.student_id END) AS outstanding_students
	FROM fee_ledger l JOIN orders o ON o.id = l.order_id JOIN schools s ON s.id = o.school_id`

// ledgerStudentsSQL counts the distinct students of the ledger rows of
// kind k (financeSelect's l and o).
func ledgerStudentsSQL(k LedgerKind) string {
	return "COUNT(DISTINCT CASE WHEN l.kind = " + sqlText(k) + " THEN o.student_id END)"
}

// FindFinance reads the finance figures of a scope resolved by
// ResolveStatScope, of termID (0: every term), per school and in total.
// Region totals count a student once per school.
func FindFinance(ctx context.Context, db *DB, sc StatScope, termID int64) (Finance, error) {
	q := financeSelect
	var args []any
	if sc.Type == ScopeSchool {
		q += " WHERE o.school_id = ?"
		args = append(args, sc.ID)
	} else {
		path, err := RegionPath(ctx, db, sc.ID)
		if err != nil {
			return Finance{}, err
		}
		q += " JOIN regions r ON r.id = s.region_id WHERE r.path LIKE ?"
		args = append(args, regionSubtreePattern(path))
	}
	if termID != 0 {
		q += " AND o.term_id = ?"
		args = append(args, termID)
	}
	q += " GROUP BY o.school_id, s.name ORDER BY o.school_id"
	out := Finance{Scope: sc, TermID: termID, Schools: []SchoolFinance{}}
	if err := db.Read(ctx).Raw(q, args...).Scan(&out.Schools).Error; err != nil {
		return Finance{}, fmt.Errorf("models: finance: %w", err)
	}
	for _, s := range out.Schools {
		t, f := &out.Totals, s.FinanceFigures
		t.Orders += f.Orders
		t.BilledFen += f.BilledFen
		t.BilledStudents += f.BilledStudents
		t.WaivedFen += f.WaivedFen
		t.WaivedStudents += f.WaivedStudents
		t.CreditedFen += f.CreditedFen
		t.VoidedFen += f.VoidedFen
		t.CollectedFen += f.CollectedFen
		t.CollectedStudents += f.CollectedStudents
		t.RefundedFen += f.RefundedFen
		t.RefundedStudents += f.RefundedStudents
		t.OutstandingFen += f.OutstandingFen
		t.OutstandingStudents += f.OutstandingStudents
	}
	return out, nil
}
