package models

import (
	"context"
	"errors"
	"strings"
)

// The enrollment rules answer named errors (ErrLimitReached,
// ErrScheduleConflict) decided inside the enrollment transaction, where the
// cheapest facts are at hand. What a parent needs to act on — the term's
// limit, the club it clashes with and when — is added here, on the way
// out, with a read or two on the error path only: ExplainEnrollError.

// weekdayNames are the Chinese names of weekdays 1–7.
var weekdayNames = [...]string{1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}

// WeekdaysText names the weekdays of a mask ("周二、周四").
func WeekdaysText(mask int) string {
	var out []string
	for _, d := range Unmask(mask) {
		if d >= 1 && d <= 7 {
			out = append(out, weekdayNames[d])
		}
	}
	return strings.Join(out, "、")
}

// LimitReached is ErrLimitReached saying the term's limit.
func LimitReached(maxClubs int) *Error {
	return ErrLimitReached.WithMessage("每位学生本学期最多报名 %d 个社团，已达上限", maxClubs)
}

// ScheduleConflict is ErrScheduleConflict naming the enrolled club it
// clashes with and that club's weekdays and time.
func ScheduleConflict(club string, weekdays, startMin, endMin int) *Error {
	return ErrScheduleConflict.WithMessage("与已报名的「%s」（%s %s-%s）时间冲突", club,
		WeekdaysText(weekdays), FormatClock(startMin), FormatClock(endMin))
}

// EnrollRefusal is a refusal of an enrollment with the ids a screen acts
// on: the child's enrollment already in the offering (already_enrolled),
// or the club it clashes with (schedule_conflict). errors.Is and errors.As
// see the *Error inside.
type EnrollRefusal struct {
	Err              *Error
	EnrollmentID     int64
	EnrollmentStatus string
	OfferingID       int64
}

func (e *EnrollRefusal) Error() string { return e.Err.Error() }

// Unwrap returns the named error.
func (e *EnrollRefusal) Unwrap() error { return e.Err }

// ExplainEnrollError returns err with the message a parent can act on when
// it is a limit_reached or schedule_conflict answer to enrolling studentID
// in offeringID; any other error, or one whose facts have changed since,
// comes back as it was.
func ExplainEnrollError(ctx context.Context, db *DB, studentID, offeringID int64, err error) error {
	limit, clash := errors.Is(err, ErrLimitReached), errors.Is(err, ErrScheduleConflict)
	if errors.Is(err, ErrAlreadyEnrolled) {
		var e Enrollment
		if qerr := db.Read(ctx).Where("student_id = ? AND offering_id = ? AND status IN ?", studentID, offeringID, liveStatuses).
			Take(&e).Error; qerr != nil {
			return err
		}
		return &EnrollRefusal{Err: ErrAlreadyEnrolled, EnrollmentID: e.ID, EnrollmentStatus: string(e.Status)}
	}
	if !limit && !clash {
		return err
	}
	o, ferr := FindOfferingByID(ctx, db, offeringID)
	if ferr != nil {
		return err
	}
	if limit {
		t, terr := FindTermByID(ctx, db, o.TermID)
		if terr != nil {
			return err
		}
		return LimitReached(t.MaxClubs)
	}
	var held []struct {
		ID       int64  `gorm:"column:id"`
		Name     string `gorm:"column:name"`
		Weekdays int    `gorm:"column:weekdays"`
		StartMin int    `gorm:"column:start_min"`
		EndMin   int    `gorm:"column:end_min"`
	}
	if qerr := db.Read(ctx).Raw(`SELECT o.id, o.name, o.weekdays, o.start_min, o.end_min
		FROM enrollments e JOIN offerings o ON o.id = e.offering_id
		WHERE e.student_id = ? AND e.term_id = ? AND e.status IN ? AND o.kind = ? AND o.id <> ?
		ORDER BY o.start_min, o.id`, studentID, o.TermID, seatStatuses, KindClub, o.ID).Scan(&held).Error; qerr != nil {
		return err
	}
	for _, h := range held {
		if Overlaps(h.Weekdays, h.StartMin, h.EndMin, o.Weekdays, o.StartMin, o.EndMin) {
			return &EnrollRefusal{Err: ScheduleConflict(h.Name, h.Weekdays, h.StartMin, h.EndMin), OfferingID: h.ID}
		}
	}
	return err
}
