package models

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// On PostgreSQL enrollments run side by side, and those into one club
// queue on its offering row, whose lock the seat UPDATE holds until
// COMMIT. writeEnrollmentPG keeps that lock for one round trip before the
// commit instead of three: the seat UPDATE also draws the enrollment's id
// from its sequence, so the confirmation and the Idempotency-Key answer can
// be built in Go, and one statement (data-modifying CTEs) then writes the
// row, the guardians' notifications and the stored answer.

const nextEnrollmentID = "nextval(pg_get_serial_sequence('enrollments', 'id'))"

// writeEnrollmentPG takes e's place in o and writes it, in tx. e has every
// field but ID, Status and WaitlistPosition, which it sets.
func writeEnrollmentPG(tx *gorm.DB, st Student, o Offering, e *Enrollment, key, hash string, now time.Time) error {
	r := rawOf(tx)
	var err error
	switch {
	case applies(o):
		e.Status = StatusApplied
		err = r.queryRow("UPDATE offerings SET applied_count = applied_count + 1 WHERE id = ? AND status = ? AND drawn_at IS NULL RETURNING "+
			nextEnrollmentID, o.ID, OfferingPublished).Scan(&e.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotOpen
		}
	default:
		e.Status = StatusEnrolled
		err = r.queryRow("UPDATE offerings SET enrolled_count = enrolled_count + 1 WHERE id = ? AND status = ? AND enrolled_count < capacity RETURNING "+
			nextEnrollmentID, o.ID, OfferingPublished).Scan(&e.ID)
		if errors.Is(err, sql.ErrNoRows) {
			var pos int
			e.Status, e.WaitlistPosition = StatusWaitlisted, &pos
			err = r.queryRow("UPDATE offerings SET waitlisted_count = waitlisted_count + 1 WHERE id = ? AND status = ? AND waitlist RETURNING waitlisted_count, "+
				nextEnrollmentID, o.ID, OfferingPublished).Scan(&pos, &e.ID)
			if errors.Is(err, sql.ErrNoRows) {
				return fullOrNotOpen(r, o.ID)
			}
		}
	}
	if err != nil {
		return err
	}

	q := `WITH e AS (INSERT INTO enrollments (id, student_id, offering_id, school_id, term_id, status, waitlist_position,
		rank, applied_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))`
	args := []any{e.ID, e.StudentID, e.OfferingID, e.SchoolID, e.TermID, e.Status, e.WaitlistPosition, e.Rank,
		e.AppliedBy, e.CreatedAt, e.UpdatedAt}
	if e.Status == StatusEnrolled {
		nq, nargs, err := notifyInsert(true, NotifyEnrollmentConfirmed, st.ID, fmt.Sprintf("enrolled:enrollment:%d", e.ID),
			enrollmentPayload(st, o, *e))
		if err != nil {
			return err
		}
		q += ", n AS (" + nq + ")"
		args = append(args, nargs...)
	}
	if key == "" {
		_, err := r.exec(q+" SELECT 1", args...)
		return asEnrollmentInsertError(err)
	}
	kq, kargs, err := idempotencyInsert(e.AppliedBy, key, hash, *e, now)
	if err != nil {
		return err
	}
	var stored int64
	err = r.queryRow(q+", k AS ("+kq+" RETURNING 1) SELECT count(*) FROM k", append(args, kargs...)...).Scan(&stored)
	if err != nil {
		return asEnrollmentInsertError(err)
	}
	return afterIdempotencyInsert(tx, stored, e.AppliedBy, key, hash, now)
}

// fullOrNotOpen tells why no place was taken: the offering closed, or it is
// full without a waitlist.
func fullOrNotOpen(r raw, offeringID int64) error {
	var status string
	if err := r.queryRow("SELECT status FROM offerings WHERE id = ?", offeringID).Scan(&status); err != nil {
		return err
	}
	if status != OfferingPublished {
		return ErrNotOpen
	}
	return ErrFull
}

// asEnrollmentInsertError maps the live-enrollment index's verdict to rule 2.
func asEnrollmentInsertError(err error) error {
	if isUniqueViolation(err) {
		return ErrAlreadyEnrolled
	}
	return err
}
