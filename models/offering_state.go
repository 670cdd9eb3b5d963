package models

import (
	"context"
	"errors"
	"time"
)

// A club as one child sees it (GET …/offerings?student_id=): what tapping
// "报名" would do, decided by the same rules as the enrollment
// (CheckEnrollable), so the phone recomputes nothing.
const (
	StateEnrolled     = string(StatusEnrolled)   // already in
	StateWaitlisted   = string(StatusWaitlisted) // on its waitlist
	StateApplied      = string(StatusApplied)    // applied to its lottery
	StateOpen         = "open"                   // a seat (or a lottery application) is there to take
	StateWaitlistOpen = "waitlist_open"          // full, the waitlist takes the child
	StateFull         = "full"                   // full, no waitlist
	StateClosed       = "closed"                 // not open now (before or after its window, or not published)
	StateGrade        = "grade"                  // not for the child's grade
	StateConflict     = "time_conflict"          // overlaps a club the child is in
	StateLimit        = "limit_reached"          // the child has the term's most clubs
)

// OfferingState is one club's state for one child, and its next session.
type OfferingState struct {
	State           string
	NextSessionDate *string
}

// FindOfferingStates gives each of os (offerings of one school, as
// FindOfferings lists them) its state for student studentID and its next
// scheduled session not yet ended at now: three queries for the whole list.
// The student must be a's (a linked guardian or the school's staff) and of
// the offerings' school: otherwise ErrNotFound.
func FindOfferingStates(ctx context.Context, db *DB, a Actor, schoolID, studentID int64, os []Offering, now time.Time) (map[int64]OfferingState, error) {
	st, err := FindStudentFor(ctx, db, a, studentID)
	if err != nil {
		return nil, err
	}
	if st.SchoolID != schoolID {
		return nil, ErrNotFound
	}
	var held []struct {
		Held
		TermID int64 `gorm:"column:term_id"`
	}
	if err := db.Read(ctx).Raw(`SELECT e.offering_id, e.status, e.rank, o.kind, o.weekdays, o.start_min, o.end_min, o.term_id
		FROM enrollments e JOIN offerings o ON o.id = e.offering_id WHERE e.student_id = ? AND e.status IN ?`,
		studentID, liveStatuses).Scan(&held).Error; err != nil {
		return nil, err
	}
	byTerm := map[int64][]Held{}
	mine := map[int64]string{}
	for _, h := range held {
		byTerm[h.TermID] = append(byTerm[h.TermID], h.Held)
		mine[h.OfferingID] = string(h.Status)
	}
	var terms []Term
	if err := db.Read(ctx).Where("school_id = ?", schoolID).Find(&terms).Error; err != nil {
		return nil, err
	}
	termByID := map[int64]Term{}
	for _, t := range terms {
		termByID[t.ID] = t
	}
	ids := make([]int64, 0, len(os))
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	next := map[int64]string{}
	if len(ids) > 0 {
		var rows []struct {
			OfferingID int64  `gorm:"column:offering_id"`
			Date       string `gorm:"column:d"`
		}
		// Today's counts until it has ended: at 18:10 a club that ended at
		// 18:00 meets next on its next day.
		local := now.In(Zone)
		today, minute := local.Format(time.DateOnly), local.Hour()*60+local.Minute()
		if err := db.Read(ctx).Raw(`SELECT offering_id, MIN(session_date) AS d FROM sessions
			WHERE offering_id IN ? AND (session_date > ? OR (session_date = ? AND end_min > ?)) AND status = ? GROUP BY offering_id`,
			ids, today, today, minute, SessionScheduled).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			next[r.OfferingID] = r.Date
		}
	}
	out := make(map[int64]OfferingState, len(os))
	for _, o := range os {
		s := OfferingState{State: offeringState(st, o, termByID[o.TermID], byTerm[o.TermID], mine[o.ID], now)}
		if d, ok := next[o.ID]; ok {
			s.NextSessionDate = &d
		}
		out[o.ID] = s
	}
	return out, nil
}

// offeringState is o's state for st (held: st's live enrollments in o's
// term; status: st's live status in o, if any).
func offeringState(st Student, o Offering, t Term, held []Held, status string, now time.Time) string {
	if status != "" {
		return status
	}
	err := CheckEnrollable(st, o, t, held, now, false)
	switch {
	case err == nil:
	case errors.Is(err, ErrGradeNotEligible):
		return StateGrade
	case errors.Is(err, ErrScheduleConflict):
		return StateConflict
	case errors.Is(err, ErrLimitReached):
		return StateLimit
	default:
		return StateClosed
	}
	switch {
	case isApplication(o) || o.Remaining() > 0:
		return StateOpen
	case o.Waitlist:
		return StateWaitlistOpen
	}
	return StateFull
}
