package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// FindEnrollmentByID loads one enrollment, with no scope check.
func FindEnrollmentByID(ctx context.Context, db *DB, id int64) (Enrollment, error) {
	var e Enrollment
	err := db.Read(ctx).First(&e, id).Error
	return e, notFound(err)
}

// Withdraw withdraws enrollment id (rule 3: a linked guardian or the
// school's staff; anyone else gets ErrNotFound). A seat it held goes to the
// waitlist in the same transaction (see fillFromWaitlist); a waitlist place
// it held closes up, so positions stay 1..n. The consent record keeps who
// withdrew and when.
func Withdraw(ctx context.Context, db *DB, a Actor, id int64) (Enrollment, error) {
	defer db.offersChanged() // after the commit: cached offering facts are stale (cache.go)
	e, err := FindEnrollmentByID(ctx, db, id)
	if err != nil {
		return Enrollment{}, err
	}
	if _, err := FindStudentFor(ctx, db, a, e.StudentID); err != nil {
		return Enrollment{}, err
	}
	err = retryTx(ctx, db, func(tx *gorm.DB) error {
		// Every change to an offering's enrollments takes the offering's
		// row first, so waitlist positions are renumbered under one lock.
		var o Offering
		if err := lockOffering(tx, db.Dialect, e.OfferingID, &o); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Take(&e).Error; err != nil {
			return notFound(err)
		}
		old := e.Status
		if !isLive(old) {
			return ErrNotLive
		}
		now := time.Now().UTC()
		res := tx.Exec(`UPDATE enrollments SET status = ?, waitlist_position = NULL, withdrawn_by = ?, withdrawn_at = ?, updated_at = ?
			WHERE id = ? AND status = ?`, StatusWithdrawn, nullID(a.UserID), now, now, id, old)
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
				if _, err := fillFromWaitlist(tx, db.Dialect, o.ID, a.UserID); err != nil {
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

func isLive(s string) bool {
	return s == StatusEnrolled || s == StatusWaitlisted || s == StatusApplied
}

// closeGap removes waitlist position pos of offeringID: later places move up
// by one and the counter drops, so positions stay exactly 1..n.
func closeGap(tx *gorm.DB, offeringID int64, pos int) error {
	if err := tx.Exec("UPDATE offerings SET waitlisted_count = waitlisted_count - 1 WHERE id = ?", offeringID).Error; err != nil {
		return err
	}
	return tx.Exec("UPDATE enrollments SET waitlist_position = waitlist_position - 1 WHERE offering_id = ? AND status = ? AND waitlist_position > ?",
		offeringID, StatusWaitlisted, pos).Error
}

// fillFromWaitlist gives the free seats of offeringID to the waitlist, head
// first, inside tx (the caller holds the offering's row). A head whose
// enrolled clubs now overlap this one (rule 5) is skipped and keeps its
// place: promoting it would break the rule, and dropping it would punish a
// family for a choice the school may yet resolve. The limit (rule 6) cannot
// be broken by a promotion: a waitlist place already counts toward it. Each
// promoted family is notified. It returns the promoted enrollment ids.
func fillFromWaitlist(tx *gorm.DB, d Dialect, offeringID, actorID int64) ([]int64, error) {
	var promoted []int64
	after := 0
	for {
		var o Offering
		if err := tx.Where("id = ?", offeringID).Take(&o).Error; err != nil {
			return promoted, err
		}
		if o.EnrolledCount >= o.Capacity || o.WaitlistedCount == 0 {
			return promoted, nil
		}
		var heads []Enrollment
		if err := tx.Where("offering_id = ? AND status = ? AND waitlist_position > ?", offeringID, StatusWaitlisted, after).
			Order("waitlist_position").Limit(1).Find(&heads).Error; err != nil {
			return promoted, err
		}
		if len(heads) == 0 {
			return promoted, nil
		}
		h := heads[0]
		pos := *h.WaitlistPosition
		if d == Postgres {
			if err := tx.Exec("SELECT id FROM students WHERE id = ? FOR UPDATE", h.StudentID).Error; err != nil {
				return promoted, err
			}
		}
		if o.Kind == KindClub {
			var n int64
			if err := tx.Raw(`SELECT COUNT(*) FROM enrollments e JOIN offerings x ON x.id = e.offering_id
				WHERE e.student_id = ? AND e.term_id = ? AND e.status = ? AND x.kind = ? AND x.id <> ?
				AND (x.weekdays & ?) <> 0 AND x.start_min < ? AND x.end_min > ?`,
				h.StudentID, o.TermID, StatusEnrolled, KindClub, o.ID, o.Weekdays, o.EndMin, o.StartMin).Scan(&n).Error; err != nil {
				return promoted, err
			}
			if n > 0 {
				after = pos // skip this head; it keeps its place
				continue
			}
		}
		now := time.Now().UTC()
		if err := tx.Exec("UPDATE enrollments SET status = ?, waitlist_position = NULL, updated_at = ? WHERE id = ?",
			StatusEnrolled, now, h.ID).Error; err != nil {
			return promoted, err
		}
		res := tx.Exec("UPDATE offerings SET enrolled_count = enrolled_count + 1 WHERE id = ? AND enrolled_count < capacity", offeringID)
		if res.Error != nil {
			return promoted, res.Error
		}
		if res.RowsAffected != 1 {
			return promoted, fmt.Errorf("models: offering %d lost its free seat during promotion", offeringID)
		}
		if err := closeGap(tx, offeringID, pos); err != nil {
			return promoted, err
		}
		if err := NotifyGuardians(tx, NotifyWaitlistPromoted, h.StudentID, fmt.Sprintf("promoted:enrollment:%d", h.ID),
			map[string]string{"offering": o.Name, "status": "候补转正", "note": "已从候补转为正式报名", "enrollment_id": fmt.Sprint(h.ID),
				"time": FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin)}); err != nil {
			return promoted, err
		}
		// Skipped heads stand before the promoted one, so their places
		// did not move; the search resumes after them.
		promoted = append(promoted, h.ID)
	}
}

// StudentEnrollment is one enrollment of a student with its offering's
// name, kind and slot.
type StudentEnrollment struct {
	Enrollment
	OfferingName string `gorm:"column:offering_name"`
	Kind         string `gorm:"column:kind"`
	Weekdays     int    `gorm:"column:weekdays"`
	StartMin     int    `gorm:"column:start_min"`
	EndMin       int    `gorm:"column:end_min"`
}

// FindStudentEnrollments lists a student's enrollments, newest first, with
// ids below before (0: from the newest), at most limit, for a linked
// guardian or the school's staff (others get ErrNotFound).
func FindStudentEnrollments(ctx context.Context, db *DB, a Actor, studentID, before int64, limit int) ([]StudentEnrollment, error) {
	st, err := FindStudentFor(ctx, db, a, studentID)
	if err != nil {
		return nil, err
	}
	out := []StudentEnrollment{}
	err = db.Read(ctx).Raw(`SELECT e.*, o.name AS offering_name, o.kind, o.weekdays, o.start_min, o.end_min
		FROM enrollments e JOIN offerings o ON o.id = e.offering_id
		WHERE e.student_id = ? AND (? = 0 OR e.id < ?) ORDER BY e.id DESC LIMIT ?`, studentID, before, before, limit).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	if a.IsStaff() {
		LogStaffAccess(ctx, db, a, "list_student_enrollments", st.SchoolID, fmt.Sprintf("student:%d", studentID))
	}
	return out, nil
}
