package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// PatchOffering changes the fields of in that are set (school admin or
// platform admin). Capacity cannot drop below the seats taken; term and mode
// cannot change once published; a cancelled offering cannot change. Raising
// the capacity promotes the head of the waitlist into the new seats. A
// change of a published offering's time, weekdays or grades that breaks a
// rule for students already in it answers *EnrolledConflictsError listing
// them, unless in.Force (offering_change.go).
func PatchOffering(ctx context.Context, db *DB, a Actor, id int64, in UpdateOffering) (Offering, error) {
	cur, err := findManagedOffering(ctx, db, a, id)
	if err != nil {
		return Offering{}, err
	}
	var out Offering
	err = db.writeOfferings(ctx, func(tx *gorm.DB) error {
		var o Offering
		if err := lockOffering(tx, id, &o); err != nil {
			return err
		}
		if o.Status == OfferingCancelled {
			return ErrInvalidStatus
		}
		before := o
		var v Validator
		if o.Status != OfferingDraft {
			v.Check(in.TermID == nil || *in.TermID == o.TermID, "term_id", "发布后不可修改学期")
			v.Check(in.Mode == nil || *in.Mode == o.Mode, "mode", "发布后不可修改报名方式")
			v.Check(in.Kind == nil || *in.Kind == o.Kind, "kind", "发布后不可修改类型")
		}
		patchField(&o.TermID, in.TermID)
		patchField(&o.Kind, in.Kind)
		patchField(&o.Name, in.Name)
		patchField(&o.Category, in.Category)
		patchField(&o.Description, in.Description)
		patchField(&o.Teacher, in.Teacher)
		patchField(&o.Venue, in.Venue)
		patchField(&o.Capacity, in.Capacity)
		patchField(&o.FeeFen, in.FeeFen)
		patchField(&o.Billing, in.Billing)
		patchField(&o.Mode, in.Mode)
		patchField(&o.Waitlist, in.Waitlist)
		if in.EnrollOpensAt != nil {
			o.EnrollOpensAt = in.EnrollOpensAt.UTC()
		}
		if in.EnrollClosesAt != nil {
			o.EnrollClosesAt = in.EnrollClosesAt.UTC()
		}
		var start, end string
		patchField(&start, in.StartTime)
		patchField(&end, in.EndTime)
		var weekdays, grades []int
		if in.Weekdays != nil {
			weekdays = *in.Weekdays
			if weekdays == nil {
				weekdays = []int{}
			}
		}
		if in.Grades != nil {
			grades = *in.Grades
			if grades == nil {
				grades = []int{}
			}
		}
		validateOffering(&v, &o, weekdays, grades, start, end)
		v.Check(o.Capacity >= o.EnrolledCount, "capacity", fmt.Sprintf("名额不能少于已报名人数（%d）", o.EnrolledCount))
		if in.TeacherUserID != nil {
			if *in.TeacherUserID == 0 {
				o.TeacherUserID = nil
			} else {
				if err := checkTeacherOf(tx, &v, o.SchoolID, *in.TeacherUserID); err != nil {
					return err
				}
				o.TeacherUserID = in.TeacherUserID
			}
		}
		if in.TermID != nil && *in.TermID != cur.TermID {
			var t Term
			err := tx.Where("id = ?", *in.TermID).Take(&t).Error
			v.Check(err == nil && t.SchoolID == o.SchoolID, "term_id", "学期不存在或不属于该学校")
		}
		// The window must lie in the term when either changes (a window
		// set before the rule existed does not block other edits).
		var term Term
		windowMoved := in.EnrollOpensAt != nil || in.EnrollClosesAt != nil || in.TermID != nil
		if windowMoved && tx.Where("id = ?", o.TermID).Take(&term).Error == nil {
			checkWindowInTerm(&v, o.EnrollOpensAt, o.EnrollClosesAt, term)
		}
		if err := v.Err(); err != nil {
			return err
		}
		if o.Status != OfferingDraft && (o.FeeFen > before.FeeFen || o.Billing != before.Billing) {
			// Raising a published fee is checked against the cap as
			// publishing it was; lowering it never is.
			if err := checkFeeCap(tx, o); err != nil {
				return err
			}
		}
		o.UpdatedAt = time.Now().UTC()
		var conflicts []EnrolledConflict
		if o.Status != OfferingDraft && slotOrGradesChanged(before, o) {
			var err error
			if conflicts, err = enrolledConflicts(tx, o); err != nil {
				return err
			}
			if len(conflicts) > 0 && !in.Force {
				return &EnrolledConflictsError{Conflicts: conflicts}
			}
		}
		res := tx.Model(&Offering{}).Where("id = ? AND enrolled_count <= ?", id, o.Capacity).Updates(map[string]any{
			"term_id": o.TermID, "kind": o.Kind, "name": o.Name, "category": o.Category, "description": o.Description,
			"teacher": o.Teacher, "venue": o.Venue, "weekdays": o.Weekdays, "start_min": o.StartMin, "end_min": o.EndMin,
			"capacity": o.Capacity, "grades": o.Grades, "fee_fen": o.FeeFen, "billing": o.Billing, "mode": o.Mode, "waitlist": o.Waitlist,
			"enroll_opens_at": o.EnrollOpensAt, "enroll_closes_at": o.EnrollClosesAt, "updated_at": o.UpdatedAt,
			"teacher_user_id": o.TeacherUserID,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return &ValidationError{Fields: map[string]string{"capacity": "名额不能少于已报名人数"}}
		}
		if err := notifyOfferingChanged(tx, before, o, conflicts); err != nil {
			return err
		}
		if o.Capacity > o.EnrolledCount && o.WaitlistedCount > 0 && o.Status != OfferingCancelled {
			if _, err := fillFromWaitlist(tx, o.ID); err != nil {
				return err
			}
		}
		if isRunning(o.Status) && (o.Weekdays != cur.Weekdays || o.StartMin != cur.StartMin || o.EndMin != cur.EndMin) {
			if err := syncOfferingSessions(tx, o, db.now()); err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&out).Error
	})
	return out, err
}

func patchField[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// lockOffering loads offering id inside tx, locking its row on PostgreSQL.
func lockOffering(tx *gorm.DB, id int64, o *Offering) error {
	q := "SELECT * FROM offerings WHERE id = ?"
	if dialectOf(tx) == Postgres {
		q += " FOR UPDATE"
	}
	return scanOne(tx.Raw(q, id), o)
}

// PublishOffering moves a draft offering to published.
func PublishOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	return transition(ctx, db, a, id, []string{OfferingDraft}, OfferingPublished)
}

// CloseOffering moves a published offering to closed: no more enrollments;
// the seats already taken stay.
func CloseOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	return transition(ctx, db, a, id, []string{OfferingPublished}, OfferingClosed)
}

// ReopenOffering moves a closed offering back to published: enrollment
// opens again (within its window) for a club closed too early.
func ReopenOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	return transition(ctx, db, a, id, []string{OfferingClosed}, OfferingPublished)
}

// findManagedOffering loads offering id for a change by a, who must manage
// its school (see requireManage).
func findManagedOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	o, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return Offering{}, err
	}
	if err := requireManage(ctx, db, a, o.SchoolID); err != nil {
		return Offering{}, err
	}
	return o, nil
}

func transition(ctx context.Context, db *DB, a Actor, id int64, from []string, to string) (Offering, error) {
	o, err := findManagedOffering(ctx, db, a, id)
	if err != nil {
		return Offering{}, err
	}
	err = db.writeOfferings(ctx, func(tx *gorm.DB) error {
		if to == OfferingPublished && slices.Contains(from, OfferingDraft) {
			// Fees are public and capped from the moment of publication.
			var cur Offering
			if err := tx.Where("id = ?", id).Take(&cur).Error; err != nil {
				return notFound(err)
			}
			if cur.Status == OfferingDraft {
				if err := checkFeeCap(tx, cur); err != nil {
					return err
				}
			}
		}
		res := tx.Exec("UPDATE offerings SET status = ?, updated_at = ? WHERE id = ? AND status IN ?",
			to, txNow(tx), id, from)
		if res.Error != nil {
			return res.Error
		}
		// The sessions follow the new status (rolled back with it when the
		// step is refused below).
		next := o
		next.Status = to
		if err := syncOfferingSessions(tx, next, db.now()); err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return ErrInvalidStatus
		}
		if to == OfferingPublished {
			if err := commitSeed(tx, id); err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&o).Error
	})
	return o, err
}

// CancelOffering cancels an offering: every live enrollment is withdrawn,
// the counters drop to zero and each family is notified (with reason, when
// given), all in one transaction.
func CancelOffering(ctx context.Context, db *DB, a Actor, id int64, reason string) (Offering, error) {
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > 100 {
		return Offering{}, &ValidationError{Fields: map[string]string{"reason": "取消原因最多100个字符"}}
	}
	if reason == "" {
		reason = "学校已取消该项目"
	}
	o, err := findManagedOffering(ctx, db, a, id)
	if err != nil {
		return Offering{}, err
	}
	err = db.writeOfferings(ctx, func(tx *gorm.DB) error {
		now := txNow(tx)
		res := tx.Exec("UPDATE offerings SET status = ?, updated_at = ? WHERE id = ? AND status <> ?",
			OfferingCancelled, now, id, OfferingCancelled)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInvalidStatus
		}
		// The row is locked by that UPDATE: every live enrollment is
		// withdrawn by freeSeats (the counters drop to zero; a cancelled
		// offering promotes no one). On PostgreSQL the live rows are
		// locked as they are read: a payment committing meanwhile moves a
		// held seat to enrolled without the offering's lock, and freeSeats
		// must see the status it commits (read unlocked, the seat would
		// still say pending_payment, match no row and fail the cancel).
		q := "SELECT * FROM enrollments WHERE offering_id = ? AND status IN ? ORDER BY id"
		if dialectOf(tx) == Postgres {
			q += " FOR UPDATE"
		}
		var live []Enrollment
		if err := tx.Raw(q, id, liveStatuses).Scan(&live).Error; err != nil {
			return err
		}
		o.Status = OfferingCancelled
		if err := freeSeats(tx, o, live, release{to: StatusWithdrawn, by: a.UserID, reason: WithdrawnOfferingCancelled}); err != nil {
			return err
		}
		var students, seats []int64
		for _, e := range live {
			students = append(students, e.StudentID)
			if holdsSeat(e.Status) {
				seats = append(seats, e.ID)
			}
		}
		slices.Sort(students)
		students = slices.Compact(students)
		// The school cancelled: every seat's unheld sessions come back
		// (pro rata, whatever the region's rule), unpaid bills are voided.
		for _, eid := range seats {
			if err := settleWithdrawal(tx, eid, RefundProRata, "cancel", a.UserID, db.now()); err != nil {
				return err
			}
		}
		note, detail := offeringCancelNote(reason)
		for _, sid := range students {
			if err := NotifyGuardians(tx, NotifyOfferingCancelled, sid, fmt.Sprintf("cancelled:offering:%d:student:%d", id, sid),
				map[string]string{"offering": o.Name, "status": "已取消", "note": note, "detail": detail, "offering_id": fmt.Sprint(id)}); err != nil {
				return err
			}
		}
		if err := tx.Where("id = ?", id).Take(&o).Error; err != nil {
			return err
		}
		return syncOfferingSessions(tx, o, db.now())
	})
	return o, err
}
