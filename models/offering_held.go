package models

import "context"

// CountHeldSeats maps each offering of schoolID (of termID when set) with
// seats held for payment to how many: those seats count in
// enrolled_count (they are taken) but their children are not on the roll
// until paid, so the school's lists show them apart. One grouped read on
// enrollments_school_term.
func CountHeldSeats(ctx context.Context, db *DB, schoolID, termID int64) (map[int64]int, error) {
	q := db.Read(ctx).Table("enrollments").Select("offering_id, COUNT(*) AS n").
		Where("school_id = ? AND status = ?", schoolID, StatusPendingPayment)
	if termID != 0 {
		q = q.Where("term_id = ?", termID)
	}
	var rows []struct {
		OfferingID int64
		N          int
	}
	if err := q.Group("offering_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.OfferingID] = r.N
	}
	return out, nil
}
