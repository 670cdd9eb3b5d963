package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Seats change hands here. A seat (or a waitlist place, or a lottery
// application) is taken and freed under its offering's row lock (the
// caller holds it: lockOffering, or the batch's locked read), with the
// offering's counters moved in the same statement order everywhere, never
// past capacity:
//
//   - the enrollment batch takes many at once from counters it decided in
//     memory (decideBatch; its rules are the ones below, on the facts it
//     read under the same locks);
//   - takeSeat gives one live enrollment a seat: a waitlist head promoted
//     (fillFromWaitlist), and — next — a hold whose payment lands;
//   - freeSeat moves one live enrollment out: a withdrawal, and — next — a
//     hold that expires; the seat it freed goes to the waitlist's head;
//   - the lottery and a cancellation settle a whole offering in a few
//     set-based statements, and say so with offeringsChanged.
//
// Freeing a seat (or changing what an offering offers) changes facts the
// caches hold (the offering, "sold out"): offeringsChanged marks the transaction,
// and DB.Tx retires those caches when it ends — whoever called, a handler,
// a job or a payment notification. Taking a seat retires nothing: no cached
// fact becomes wrong when a seat is taken (a stale "free" is re-read by the
// batch; "sold out" is only cached once it is true).

// offeringsChanged marks tx as having freed seats or changed an offering: the
// offering and sold-out caches are retired when it ends (DB.Tx).
func offeringsChanged(tx *gorm.DB) {
	if fx := effectsOf(tx); fx != nil {
		fx.offers = true
	}
}

// takeSeat moves e, a live enrollment of o that holds no seat (waitlisted;
// applied once drawn), to enrolled, if o has a free seat: ErrFull when it
// has none. A waitlist place it held closes up.
func takeSeat(tx *gorm.DB, o Offering, e Enrollment) error {
	if e.Status == StatusEnrolled || !e.Status.IsLive() {
		return fmt.Errorf("models: enrollment %d (%s) cannot take a seat", e.ID, e.Status)
	}
	res := tx.Exec("UPDATE offerings SET enrolled_count = enrolled_count + 1 WHERE id = ? AND enrolled_count < capacity", o.ID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrFull
	}
	if err := tx.Exec("UPDATE enrollments SET status = ?, waitlist_position = NULL, updated_at = ? WHERE id = ? AND status = ?",
		StatusEnrolled, txNow(tx), e.ID, e.Status).Error; err != nil {
		return err
	}
	return leaveStatus(tx, o, e)
}

// freeSeat moves e, a live enrollment of o (read under o's lock), to the
// ended status to, by user by (0: the system): its counter drops, a
// waitlist place closes up, and a seat it held goes to the waitlist's head
// (fillFromWaitlist) unless o is cancelled. ErrNotLive when e is no longer
// live.
func freeSeat(tx *gorm.DB, o Offering, e Enrollment, to EnrollmentStatus, by int64) error {
	if to.IsLive() {
		return fmt.Errorf("models: %s is not an ended status", to)
	}
	if !e.Status.IsLive() {
		return ErrNotLive
	}
	now := txNow(tx)
	q := "UPDATE enrollments SET status = ?, waitlist_position = NULL, updated_at = ? WHERE id = ? AND status = ?"
	args := []any{to, now, e.ID, e.Status}
	if to == StatusWithdrawn {
		q = `UPDATE enrollments SET status = ?, waitlist_position = NULL, withdrawn_by = ?, withdrawn_at = ?, updated_at = ?
			WHERE id = ? AND status = ?`
		args = []any{to, nullID(by), now, now, e.ID, e.Status}
	}
	res := tx.Exec(q, args...)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotLive
	}
	offeringsChanged(tx)
	if holdsSeat(e.Status) {
		if err := tx.Exec("UPDATE offerings SET enrolled_count = enrolled_count - 1 WHERE id = ?", o.ID).Error; err != nil {
			return err
		}
		if o.Status != OfferingCancelled {
			_, err := fillFromWaitlist(tx, o.ID)
			return err
		}
		return nil
	}
	return leaveStatus(tx, o, e)
}

// leaveStatus moves o's counters for e leaving its seatless live status:
// a waitlist place closes up, an application is uncounted.
func leaveStatus(tx *gorm.DB, o Offering, e Enrollment) error {
	switch e.Status {
	case StatusWaitlisted:
		if e.WaitlistPosition == nil {
			return fmt.Errorf("models: waitlisted enrollment %d has no position", e.ID)
		}
		return closeGap(tx, o.ID, *e.WaitlistPosition)
	case StatusApplied:
		return tx.Exec("UPDATE offerings SET applied_count = applied_count - 1 WHERE id = ?", o.ID).Error
	}
	return nil
}
