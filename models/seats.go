package models

import (
	"encoding/json"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// Seats change hands here, and only here: this file is the one writer of
// the offerings' counters (enrolled_count, waitlisted_count,
// applied_count; TestOnlySeatsMovesCounters keeps it so). A seat (or a
// waitlist place, or a lottery application) is taken and freed under its
// offering's row lock (the caller holds it: lockOffering, the batch's
// locked read, the cancellation's UPDATE), and every move of the counters
// is guarded in its own statement: a seat is never taken past capacity and
// no counter goes below zero (a move refused by its guard fails the
// operation, it is never silently skipped).
//
//   - seatsTaken: the enrollment batch's new rows, the counters of every
//     offering it touched in one set-based statement (rendered per engine
//     with the batch's rows; its decisions are made in memory by
//     decideBatch on the facts read under the same locks);
//   - takeSeats: live enrollments without a seat (waitlisted; applied once
//     drawn) move to enrolled: waitlist promotion (fillFromWaitlist, one
//     at a time: takeSeat) and the lottery's winners (settleDraw, per
//     offering);
//   - freeSeats: live enrollments move to an ended status (release says
//     which, by whom, why): a withdrawal (Withdraw, one: freeSeat), a
//     cancellation (CancelOffering, every live one), an expired hold
//     (releaseOffering, every expired one of an offering) and the
//     lottery's losers (applied → rejected). The seats freed go to the
//     waitlist's heads (fillFromWaitlist) unless the offering is cancelled;
//     waitlist places freed close up (closeGaps), so positions stay 1..n.
//
// Each of takeSeats and freeSeats is two or three statements whatever the
// number of enrollments, before any promotion (fillFromWaitlist runs a few
// per head it promotes): the enrollments (one per status they leave, in
// chunks of 500 ids), the counters (moveCounters), the waitlist's
// positions. A late payment for a seat still held needs no move (a held
// seat is already counted); one for a seat released is refunded
// (order_money.go), it takes no seat back.
//
// Freeing a seat (or changing what an offering offers) changes facts the
// caches hold (the offering, "sold out"): freeSeats marks the transaction
// (offeringsChanged), and DB.Tx retires those caches when it ends — whoever
// called, a handler, a job or a payment notification. Taking a seat retires
// nothing: no cached fact becomes wrong when a seat is taken (a stale
// "free" is re-read by the batch; "sold out" is only cached once it is
// true).

// offeringsChanged marks tx as having freed seats or changed an offering: the
// offering and sold-out caches are retired when it ends (DB.Tx).
func offeringsChanged(tx *gorm.DB) {
	if fx := effectsOf(tx); fx != nil {
		fx.offers = true
	}
}

// seatMove is what a move does to an offering's counters.
type seatMove struct{ enrolled, waitlisted, applied int }

// leaving is the move of es leaving their live statuses.
func leaving(es []Enrollment) seatMove {
	var m seatMove
	for _, e := range es {
		switch {
		case holdsSeat(e.Status):
			m.enrolled--
		case e.Status == StatusWaitlisted:
			m.waitlisted--
		case e.Status == StatusApplied:
			m.applied--
		}
	}
	return m
}

// moveCounters moves offering oid's counters by m, unless that would take
// a seat past capacity or a counter below zero: it reports whether it moved
// them.
func moveCounters(tx *gorm.DB, oid int64, m seatMove) (bool, error) {
	if m == (seatMove{}) {
		return true, nil
	}
	res := tx.Exec(`UPDATE offerings SET enrolled_count = enrolled_count + ?, waitlisted_count = waitlisted_count + ?,
		applied_count = applied_count + ?
		WHERE id = ? AND enrolled_count + ? >= 0 AND waitlisted_count + ? >= 0 AND applied_count + ? >= 0
		AND (? <= 0 OR enrolled_count + ? <= capacity)`,
		m.enrolled, m.waitlisted, m.applied, oid, m.enrolled, m.waitlisted, m.applied, m.enrolled, m.enrolled)
	return res.RowsAffected == 1, res.Error
}

// seatsTaken is the enrollment batch's move of its offerings' counters, over
// rows (the engine's FROM item of counterColumns: each changed offering's
// id and what the batch added to each counter), guarded as moveCounters
// is: an offering the move would take past capacity is not updated, and the
// batch, counting the rows moved, fails.
func seatsTaken(rows string) string {
	return `UPDATE offerings SET enrolled_count = enrolled_count + v.enrolled, waitlisted_count = waitlisted_count + v.waitlisted,
		applied_count = applied_count + v.applied
	FROM ` + rows + ` WHERE offerings.id = v.id AND offerings.enrolled_count + v.enrolled <= offerings.capacity`
}

// takeSeat moves e, a live enrollment of o that holds no seat, to enrolled
// (takeSeats).
func takeSeat(tx *gorm.DB, o Offering, e Enrollment) error {
	return takeSeats(tx, o, []Enrollment{e})
}

// takeSeats moves es, live enrollments of o that hold no seat (waitlisted;
// applied once drawn), to enrolled, if o has a free seat for each: ErrFull
// when it has not, and nothing moved. The waitlist places they held close
// up.
func takeSeats(tx *gorm.DB, o Offering, es []Enrollment) error {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if holdsSeat(e.Status) || !e.Status.IsLive() {
			return fmt.Errorf("models: enrollment %d (%s) cannot take a seat", e.ID, e.Status)
		}
	}
	m := leaving(es)
	m.enrolled += len(es)
	moved, err := moveCounters(tx, o.ID, m)
	if err != nil {
		return err
	}
	if !moved {
		return ErrFull
	}
	n, err := setStatus(tx, es, "status = ?, waitlist_position = NULL, updated_at = ?", StatusEnrolled, txNow(tx))
	if err != nil {
		return err
	}
	if n != len(es) {
		return fmt.Errorf("models: %d of %d enrollments of offering %d took a seat", n, len(es), o.ID)
	}
	return closeGaps(tx, o.ID, es)
}

// release is how freed enrollments end: their status, who ended them (0:
// the system) and, for a withdrawal, why (withdraw_reason) and whether it
// was a hold left unpaid.
type release struct {
	to     EnrollmentStatus
	by     int64
	reason string
	unpaid bool
}

// freeSeat moves e, a live enrollment of o (read under o's lock), to the
// ended status how.to (freeSeats): ErrNotLive when e is no longer live.
func freeSeat(tx *gorm.DB, o Offering, e Enrollment, how release) error {
	return freeSeats(tx, o, []Enrollment{e}, how)
}

// freeSeats moves es, live enrollments of o read under o's lock, to the
// ended status how.to: their counters drop, the waitlist places they held
// close up, and the seats they held go to the waitlist's heads
// (fillFromWaitlist) unless o is cancelled. The offering and sold-out
// caches are retired when the transaction ends. ErrNotLive when one of
// them is no longer live (nothing is kept: the caller's transaction fails).
func freeSeats(tx *gorm.DB, o Offering, es []Enrollment, how release) error {
	if how.to.IsLive() {
		return fmt.Errorf("models: %s is not an ended status", how.to)
	}
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if !e.Status.IsLive() {
			return ErrNotLive
		}
	}
	now := txNow(tx)
	set, args := "status = ?, waitlist_position = NULL, updated_at = ?", []any{how.to, now}
	if how.to == StatusWithdrawn {
		set = "status = ?, waitlist_position = NULL, withdrawn_by = ?, withdrawn_at = ?, withdraw_reason = ?, unpaid_release = ?, updated_at = ?"
		var reason *string
		if how.reason != "" {
			reason = &how.reason
		}
		args = []any{how.to, nullID(how.by), now, reason, how.unpaid, now}
	}
	n, err := setStatus(tx, es, set, args...)
	if err != nil {
		return err
	}
	if n != len(es) {
		return ErrNotLive
	}
	offeringsChanged(tx)
	m := leaving(es)
	moved, err := moveCounters(tx, o.ID, m)
	if err != nil {
		return err
	}
	if !moved {
		return fmt.Errorf("models: freeing %d enrollments of offering %d would take its counters below zero", len(es), o.ID)
	}
	if err := closeGaps(tx, o.ID, es); err != nil {
		return err
	}
	if m.enrolled < 0 && o.Status != OfferingCancelled {
		_, err := fillFromWaitlist(tx, o.ID)
		return err
	}
	return nil
}

// setStatus runs "UPDATE enrollments SET <set>" (args are set's) over es,
// each only while it still has the status it was read with: one statement
// per status they have, in chunks of 500 ids. It answers the rows changed.
func setStatus(tx *gorm.DB, es []Enrollment, set string, args ...any) (int, error) {
	byStatus := map[EnrollmentStatus][]int64{}
	var order []EnrollmentStatus
	for _, e := range es {
		if _, ok := byStatus[e.Status]; !ok {
			order = append(order, e.Status)
		}
		byStatus[e.Status] = append(byStatus[e.Status], e.ID)
	}
	n := 0
	for _, s := range order {
		for ids := range slices.Chunk(byStatus[s], 500) {
			res := tx.Exec("UPDATE enrollments SET "+set+" WHERE id IN ? AND status = ?", append(append([]any{}, args...), ids, s)...)
			if res.Error != nil {
				return n, res.Error
			}
			n += int(res.RowsAffected)
		}
	}
	return n, nil
}

// closeGaps closes the waitlist places of o that es held (their waitlisted
// members, no longer waitlisted): each place after them moves up by the
// number of places freed before it, so positions stay exactly 1..n. One
// place is one shift; more are one statement too, the freed places passed
// as the engine's list (each row's new place depends on its old one only).
func closeGaps(tx *gorm.DB, oid int64, es []Enrollment) error {
	var gaps []int64
	for _, e := range es {
		if e.Status != StatusWaitlisted {
			continue
		}
		if e.WaitlistPosition == nil {
			return fmt.Errorf("models: waitlisted enrollment %d has no position", e.ID)
		}
		gaps = append(gaps, int64(*e.WaitlistPosition))
	}
	switch len(gaps) {
	case 0:
		return nil
	case 1:
		return tx.Exec("UPDATE enrollments SET waitlist_position = waitlist_position - 1 WHERE offering_id = ? AND status = ? AND waitlist_position > ?",
			oid, StatusWaitlisted, gaps[0]).Error
	}
	r := rawOf(tx)
	before, list := "(SELECT count(*) FROM json_each(?) g WHERE g.value < enrollments.waitlist_position)", any(nil)
	if r.d == Postgres {
		before, list = "(SELECT count(*) FROM unnest(CAST(? AS BIGINT[])) g WHERE g < enrollments.waitlist_position)", gaps
	} else {
		b, err := json.Marshal(gaps)
		if err != nil {
			return err
		}
		list = string(b)
	}
	_, err := r.exec("UPDATE enrollments SET waitlist_position = waitlist_position - "+before+
		" WHERE offering_id = ? AND status = ? AND waitlist_position > ?", list, oid, StatusWaitlisted, slices.Min(gaps))
	return err
}
