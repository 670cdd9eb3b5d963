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
// school's staff, because the school cancelled the offering, or because a
// seat held for payment was not paid in time.
const (
	WithdrawnByParent          = "parent"
	WithdrawnBySchool          = "school"
	WithdrawnOfferingCancelled = "offering_cancelled"
	WithdrawnUnpaid            = "unpaid"
)

// Withdraw withdraws enrollment id (rule 3: a linked guardian or the
// school's staff; anyone else gets ErrNotFound). A seat it held goes to the
// waitlist in the same transaction (fillFromWaitlist); a waitlist place it
// held closes up, so positions stay 1..n. The consent record keeps who
// withdrew and when.
func Withdraw(ctx context.Context, db *DB, a Actor, id int64) (Enrollment, error) {
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
		reason := WithdrawnBySchool
		if a.Role == RoleParent {
			reason = WithdrawnByParent
		}
		if err := freeSeat(tx, o, e, release{to: StatusWithdrawn, by: a.UserID, reason: reason}); err != nil {
			return err
		}
		// A paid seat given up is refunded by the region's rule; an unpaid
		// one's bill is voided (order_money.go). No order: nothing to do.
		if err := settleWithdrawal(tx, e.ID, "", "withdraw", a.UserID, db.now()); err != nil {
			return err
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
