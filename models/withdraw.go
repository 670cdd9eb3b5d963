package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// FindEnrollmentByID loads one enrollment, with no scope check.
func FindEnrollmentByID(ctx context.Context, db *DB, id int64) (Enrollment, error) {
	var e Enrollment
	err := db.Read(ctx).First(&e, id).Error
	return e, notFound(err)
}

// Why an enrollment was withdrawn (withdraw_reason): by a guardian, by the
// school's staff, or because the school cancelled the offering. Fees add
// "unpaid" (a hold that expired).
const (
	WithdrawnByParent          = "parent"
	WithdrawnBySchool          = "school"
	WithdrawnOfferingCancelled = "offering_cancelled"
)

// Withdraw withdraws enrollment id (rule 3: a linked guardian or the
// school's staff; anyone else gets ErrNotFound). A seat it held goes to the
// waitlist in the same transaction (fillFromWaitlist); a waitlist place it
// held closes up, so positions stay 1..n. The consent record keeps who
// withdrew and when.
func Withdraw(ctx context.Context, db *DB, a Actor, id int64) (Enrollment, error) {
	reason := WithdrawnBySchool
	if a.Role == RoleParent {
		reason = WithdrawnByParent
	}
	e, err := FindEnrollmentByID(ctx, db, id)
	if err != nil {
		return Enrollment{}, err
	}
	if _, err := FindStudentFor(ctx, db, a, e.StudentID); err != nil {
		return Enrollment{}, err
	}
	err = db.writeOfferings(ctx, func(tx *gorm.DB) error {
		// The offering's row first: its counters and waitlist positions
		// change under that one lock. A promotion then locks the promoted
		// student — the reverse of the batch's order (students, then
		// offerings), so on PostgreSQL a withdrawal that promotes can
		// deadlock with a batch holding that student; retryTx runs it
		// again.
		var o Offering
		if err := lockOffering(tx, e.OfferingID, &o); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Take(&e).Error; err != nil {
			return notFound(err)
		}
		old := e.Status
		if !old.IsLive() {
			return ErrNotLive
		}
		now := txNow(tx)
		res := tx.Exec(`UPDATE enrollments SET status = ?, waitlist_position = NULL, withdrawn_by = ?, withdrawn_at = ?, updated_at = ?,
			withdraw_reason = ? WHERE id = ? AND status = ?`, StatusWithdrawn, nullID(a.UserID), now, now, reason, id, old)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotLive
		}
		switch old {
		case StatusEnrolled:
			if err := tx.Exec("UPDATE offerings SET enrolled_count = enrolled_count - 1 WHERE id = ?", o.ID).Error; err != nil {
				return err
			}
			if o.Status != OfferingCancelled {
				if _, err := fillFromWaitlist(tx, o.ID); err != nil {
					return err
				}
			}
		case StatusWaitlisted:
			if err := closeGap(tx, o.ID, *e.WaitlistPosition); err != nil {
				return err
			}
		case StatusApplied:
			if err := tx.Exec("UPDATE offerings SET applied_count = applied_count - 1 WHERE id = ?", o.ID).Error; err != nil {
				return err
			}
		}
		if a.Role != RoleParent {
			// Withdrawn by the school: the family did not do it, so it is told.
			if err := NotifyGuardians(tx, NotifyWithdrawn, e.StudentID, fmt.Sprintf("withdrawn:enrollment:%d", e.ID),
				map[string]string{"offering": o.Name, "status": StatusPhrase(StatusWithdrawn), "note": "学校已办理退出",
					"enrollment_id": fmt.Sprint(e.ID)}); err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&e).Error
	})
	return e, err
}
