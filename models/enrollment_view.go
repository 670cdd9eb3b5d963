package models

import "context"

// What an enrollment answer shows beside the row: the live enrollments of
// a parent's children, and who applied or withdrew, as a role a parent can
// read (a bare user id means nothing to them).

// FindLiveEnrollments returns the live enrollments (enrolled, waitlisted,
// applied, held for payment) of the students studentIDs, in one query,
// oldest first: what "my children" shows beside each child. A seat with an
// order names it (OrderID, AmountFen), read in the same query, so a parent
// seeing 待缴费 can pay from there. The caller has checked that the
// students are the actor's.
func FindLiveEnrollments(ctx context.Context, db *DB, studentIDs []int64) ([]Enrollment, error) {
	out := []Enrollment{}
	if len(studentIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		Enrollment
		OrderRef       *int64 `gorm:"column:order_ref"`
		OrderAmountFen *int64 `gorm:"column:order_amount_fen"`
	}
	err := db.Read(ctx).Raw(`SELECT e.*, o.id AS order_ref, o.amount_fen AS order_amount_fen
		FROM enrollments e LEFT JOIN orders o ON o.enrollment_id = e.id
		WHERE e.student_id IN ? AND e.status IN ? ORDER BY e.id`, studentIDs, liveStatuses).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		e := r.Enrollment
		e.OrderID, e.AmountFen = r.OrderRef, r.OrderAmountFen
		out = append(out, e)
	}
	return out, nil
}

// FindUserRoles returns the roles of the users ids, by id, in one query.
func FindUserRoles(ctx context.Context, db *DB, ids []int64) (map[int64]Role, error) {
	out := make(map[int64]Role, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   int64 `gorm:"column:id"`
		Role Role  `gorm:"column:role"`
	}
	if err := db.Read(ctx).Raw("SELECT id, role FROM users WHERE id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.Role
	}
	return out, nil
}
