package models

import (
	"fmt"
	"time"
)

// The enrollment rules of SPEC.md as pure functions: no database, no clock
// of their own. Every path that gives a student a place calls them — the
// enrollment batch (decideBatch) and the pre-checks before it, the waitlist
// promotion (fillFromWaitlist), the lottery draw (runLottery) and the
// sold-out answer (soldOutAnswer) — so each rule is written once.

// Held is one live enrollment of a student in a term, with the slot of its
// offering: what the rules compare a new place against.
type Held struct {
	OfferingID int64            `gorm:"column:offering_id" json:"offering_id"`
	Status     EnrollmentStatus `gorm:"column:status" json:"status"`
	Rank       int              `gorm:"column:rank" json:"rank"`
	Kind       string           `gorm:"column:kind" json:"kind"`
	Weekdays   int              `gorm:"column:weekdays" json:"weekdays"`
	StartMin   int              `gorm:"column:start_min" json:"start_min"`
	EndMin     int              `gorm:"column:end_min" json:"end_min"`
}

// isApplication reports whether enrolling in o now files a lottery
// application (before its draw) rather than taking a seat.
func isApplication(o Offering) bool { return o.Mode == ModeLottery && o.DrawnAt == nil }

// CheckEnrollable applies SPEC's enrollment rules that do not depend on the
// seat count, in the order their answers take precedence: the student is of
// the offering's school and active (rule 3 is the caller's scope check),
// holds no live enrollment in it (rule 2), the offering is open to the
// student (rule 4, checkOpen), and the student's timetable and club limit
// allow it (rules 5 and 6, checkTimetable). existing are the student's live
// enrollments in the offering's term.
func CheckEnrollable(st Student, o Offering, t Term, existing []Held, now time.Time, staffOverride bool) error {
	if err := checkStudent(st, o); err != nil {
		return err
	}
	for _, h := range existing {
		if h.OfferingID == o.ID {
			return ErrAlreadyEnrolled
		}
	}
	if err := checkOpen(st, o, now, staffOverride); err != nil {
		return err
	}
	return checkTimetable(o, t.MaxClubs, existing)
}

// checkStudent: the student is of the offering's school and active.
func checkStudent(st Student, o Offering) error {
	switch {
	case o.SchoolID != st.SchoolID:
		return ErrSchoolMismatch
	case !st.Active:
		return ErrStudentInactive
	}
	return nil
}

// checkOpen is rule 4: the offering is published, the student's grade is
// eligible and the window is open, unless staffOverride (staff may enroll
// outside the window).
func checkOpen(st Student, o Offering, now time.Time, staffOverride bool) error {
	switch {
	case o.Status != OfferingPublished:
		return ErrNotOpen
	case !gradeEligible(o, st.Grade):
		return ErrGradeNotEligible
	case !staffOverride && (now.Before(o.EnrollOpensAt) || !now.Before(o.EnrollClosesAt)):
		return ErrWindowClosed
	}
	return nil
}

// gradeEligible reports whether grade is among o's eligible grades.
func gradeEligible(o Offering, grade int) bool {
	return grade >= 1 && grade <= 9 && o.Grades&(1<<grade) != 0
}

// checkTimetable is rules 5 and 6 for a place in club o, against held (the
// student's other live enrollments in the term; never one in o itself):
// o does not overlap an enrolled club (rule 5: a waitlisted club holds no
// slot yet, its promotion checks again), and the student's clubs stay
// within maxClubs (rule 6). Rule 6 counts enrolled and waitlisted clubs,
// plus one for any pending lottery applications: a draw gives an applicant
// at most one of the clubs ranked, so ranking several costs one place, not
// several. Basic offerings never count.
func checkTimetable(o Offering, maxClubs int, held []Held) error {
	if o.Kind != KindClub {
		return nil
	}
	clubs, applied := 0, false
	for _, h := range held {
		if h.Kind != KindClub {
			continue
		}
		if h.Status == StatusApplied {
			applied = true
		} else {
			clubs++
		}
		if holdsSeat(h.Status) && Overlaps(h.Weekdays, h.StartMin, h.EndMin, o.Weekdays, o.StartMin, o.EndMin) {
			return ErrScheduleConflict
		}
	}
	if applied {
		clubs++
	}
	if !(isApplication(o) && applied) {
		clubs++ // the place asked for
	}
	if clubs > maxClubs {
		return ErrLimitReached
	}
	return nil
}

// MaxRank bounds a lottery preference rank.
const MaxRank = 20

// pickRank validates or assigns a lottery rank against the student's other
// pending applications (held); outside a lottery it is 0.
func pickRank(o Offering, want *int, held []Held) (int, error) {
	if !isApplication(o) {
		return 0, nil
	}
	maxRank := 0
	for _, h := range held {
		if h.Status == StatusApplied && h.Rank > maxRank {
			maxRank = h.Rank
		}
	}
	if want == nil {
		if maxRank >= MaxRank {
			return 0, &ValidationError{Fields: map[string]string{"rank": "志愿数量已达上限"}}
		}
		return maxRank + 1, nil
	}
	r := *want
	if r < 1 || r > MaxRank {
		return 0, &ValidationError{Fields: map[string]string{"rank": fmt.Sprintf("志愿顺序须为1-%d", MaxRank)}}
	}
	for _, h := range held {
		if h.Status == StatusApplied && h.Rank == r {
			return 0, &ValidationError{Fields: map[string]string{"rank": "该志愿顺序已被其他报名使用"}}
		}
	}
	return r, nil
}
