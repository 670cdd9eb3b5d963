package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReconcileDiffView is a difference as the console lists it: the school by
// name, and the order the out_trade_no names when kehou knows it (a
// payment WeChat Pay has and kehou never made has none). A school's admin
// also reads the child and the offering; a bureau reads schools, not
// children.
type ReconcileDiffView struct {
	ReconcileDiff
	SchoolName   *string `gorm:"column:school_name"`
	OrderID      *int64  `gorm:"column:order_id"`
	StudentName  *string `gorm:"column:student_name"`
	OfferingName *string `gorm:"column:offering_name"`
}

// maxReconcileDiffs bounds one answer of differences.
const maxReconcileDiffs = 1000

// FindReconcileDiffs lists the differences of days from..to (inclusive) that
// a may see, newest day first: a school's admin their school's (with the
// child and offering of each order, a read written to the staff access
// log), a bureau admin their region's schools', a platform admin all (with
// those no school claims).
func FindReconcileDiffs(ctx context.Context, db *DB, a Actor, from, to string) ([]ReconcileDiffView, error) {
	names := a.Role == RoleSchoolAdmin
	sel := `SELECT d.*, sc.name AS school_name, p.order_id`
	if names {
		sel += `, st.name AS student_name, f.name AS offering_name`
	}
	q := sel + ` FROM reconcile_diffs d LEFT JOIN schools sc ON sc.id = d.school_id
		LEFT JOIN pay_orders p ON p.out_trade_no = d.out_trade_no`
	if names {
		q += ` LEFT JOIN orders o ON o.id = p.order_id LEFT JOIN students st ON st.id = o.student_id
			LEFT JOIN offerings f ON f.id = o.offering_id`
	}
	q += ` WHERE d.bill_date >= ? AND d.bill_date <= ?`
	args := []any{from, to}
	switch a.Role {
	case RolePlatformAdmin:
	case RoleSchoolAdmin:
		q += ` AND d.school_id = ?`
		args = append(args, a.SchoolID)
	case RoleBureauAdmin:
		mine, err := RegionPath(ctx, db, a.RegionID)
		if err != nil {
			return nil, err
		}
		q += ` AND d.school_id IN (SELECT s.id FROM schools s JOIN regions r ON r.id = s.region_id WHERE r.path LIKE ?)`
		args = append(args, mine+"%")
	default:
		return nil, ErrForbidden
	}
	q += ` ORDER BY d.bill_date DESC, d.id LIMIT ?`
	args = append(args, maxReconcileDiffs)
	out := []ReconcileDiffView{}
	if err := db.Read(ctx).Raw(q, args...).Scan(&out).Error; err != nil {
		return nil, err
	}
	if names && len(out) > 0 {
		LogStaffAccess(ctx, db, a, "list_reconcile_diffs", a.SchoolID, fmt.Sprintf("school:%d", a.SchoolID))
	}
	return out, nil
}

// LastReconcile is when the reconcile job last finished a run successfully
// (nil when it never has: WeChat Pay off, or not yet ten o'clock of its
// first day), so an empty list can say whether it means "no difference".
func LastReconcile(ctx context.Context, db *DB) (*time.Time, error) {
	var r JobRun
	err := scanOne(db.Read(ctx).Raw(`SELECT * FROM job_runs WHERE name = ? AND status = ? ORDER BY started_at DESC LIMIT 1`,
		"reconcile", RunSucceeded), &r)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return r.EndedAt, nil
}
