package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// The waitlist of an offering: places 1..n, gapless, moved under the
// offering's row lock (the caller holds it). Its places are taken and
// closed up by seats.go (takeSeats, freeSeats, closeGaps); this file
// decides who is promoted.

// fillFromWaitlist gives the free seats of offeringID to the waitlist, head
// first, inside tx (the caller holds the offering's row). Each head is
// checked against its other live enrollments by the rules a new place
// meets (checkTimetable: rules 5 and 6); a head they refuse — a club it
// enrolled in since overlaps this one — is skipped and keeps its place:
// promoting it would break the rule, and dropping it would punish a family
// for a choice the school may yet resolve. Each promoted family is
// notified. It returns the promoted enrollment ids.
//
// On PostgreSQL each head's student row is locked before its enrollments
// are read, as the batch does, so no batch can give that student an
// overlapping club meanwhile. That lock comes after the offering's (the
// batch takes students first): the callers rely on retryTx when the two
// deadlock.
func fillFromWaitlist(tx *gorm.DB, offeringID int64) ([]int64, error) {
	var promoted []int64
	after := 0
	var maxClubs int
	maxRead := false
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
		if dialectOf(tx) == Postgres {
			if err := tx.Exec("SELECT id FROM students WHERE id = ? FOR UPDATE", h.StudentID).Error; err != nil {
				return promoted, err
			}
		}
		if o.Kind == KindClub {
			if !maxRead {
				if err := tx.Raw("SELECT max_clubs FROM terms WHERE id = ?", o.TermID).Scan(&maxClubs).Error; err != nil {
					return promoted, err
				}
				maxRead = true
			}
			var held []Held
			if err := tx.Raw(`SELECT e.offering_id, e.status, e.rank, x.kind, x.weekdays, x.start_min, x.end_min
				FROM enrollments e JOIN offerings x ON x.id = e.offering_id
				WHERE e.student_id = ? AND e.term_id = ? AND e.status IN ? AND e.offering_id <> ?`,
				h.StudentID, o.TermID, liveStatuses, o.ID).Scan(&held).Error; err != nil {
				return promoted, err
			}
			if checkTimetable(o, maxClubs, held) != nil {
				after = pos // skip this head; it keeps its place
				continue
			}
		}
		if err := takeSeat(tx, o, h); err != nil {
			if errors.Is(err, ErrFull) {
				err = fmt.Errorf("models: offering %d lost its free seat during promotion", offeringID)
			}
			return promoted, err
		}
		// A seat in a priced offering is held for payment (order_hold.go).
		note, detail := "已从候补转为正式报名", ""
		h.Status = StatusEnrolled
		if held, err := holdSeat(tx, &h, o, txNow(tx)); err != nil {
			return promoted, err
		} else if held {
			note, detail = holdNote(h), "候补转正，"+holdDetail(h)
		}
		p := map[string]string{"offering": o.Name, "status": "候补转正", "note": note, "enrollment_id": fmt.Sprint(h.ID),
			"time": FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin)}
		if detail != "" {
			p["detail"] = detail
		}
		if err := NotifyGuardians(tx, NotifyWaitlistPromoted, h.StudentID, fmt.Sprintf("promoted:enrollment:%d", h.ID), p); err != nil {
			return promoted, err
		}
		// Skipped heads stand before the promoted one, so their places
		// did not move; the search resumes after them.
		promoted = append(promoted, h.ID)
	}
}
