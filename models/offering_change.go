package models

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// A published offering whose time, weekdays or grades change may no longer
// suit the students already in it: a new slot can overlap another club a
// student is enrolled in (rule 5), new grades can leave a student out (rule
// 4). PatchOffering finds them (enrolledConflicts) and refuses the change
// with the list, unless a school admin forces it: then the change stands
// and the families of the students listed are told.

// EnrolledConflict is a student in an offering that a change would break a
// rule for.
type EnrolledConflict struct {
	StudentID int64  `json:"student_id"`
	Name      string `json:"name"`
	// Reason is the rule's code: grade_not_eligible or schedule_conflict.
	Reason string `json:"reason"`
	// OfferingID is the enrolled club the new slot overlaps
	// (schedule_conflict).
	OfferingID int64 `json:"offering_id,omitempty"`
}

// EnrolledConflictsError refuses an offering change that breaks a rule for
// students already in it (409 enrolled_conflicts, with the list).
type EnrolledConflictsError struct {
	Conflicts []EnrolledConflict
}

// ErrEnrolledConflicts is the Error that EnrolledConflictsError answers as.
var ErrEnrolledConflicts = E(KindConflict, "enrolled_conflicts", "修改会与已报名学生冲突（年级或时间），请确认后强制修改")

func (e *EnrolledConflictsError) Error() string {
	return fmt.Sprintf("%s (%d students)", ErrEnrolledConflicts.Error(), len(e.Conflicts))
}

// Unwrap lets errors.Is and errors.As see ErrEnrolledConflicts.
func (e *EnrolledConflictsError) Unwrap() error { return ErrEnrolledConflicts }

// slotOrGradesChanged reports whether after differs from before in what the
// rules of students already in it depend on.
func slotOrGradesChanged(before, after Offering) bool {
	return before.Weekdays != after.Weekdays || before.StartMin != after.StartMin || before.EndMin != after.EndMin ||
		before.Grades != after.Grades
}

// conflictWith is the rule offering o (as changed) breaks for a student of
// grade, in status, holding the enrolled places held: "" when none.
func conflictWith(o Offering, grade int, status EnrollmentStatus, held []Held) (reason string, with int64) {
	if !gradeEligible(o, grade) {
		return ErrGradeNotEligible.Code, 0
	}
	if o.Kind != KindClub || !holdsSeat(status) {
		return "", 0 // rule 5 binds two enrolled clubs; a promotion checks again
	}
	for _, h := range held {
		if h.Kind == KindClub && holdsSeat(h.Status) && Overlaps(h.Weekdays, h.StartMin, h.EndMin, o.Weekdays, o.StartMin, o.EndMin) {
			return ErrScheduleConflict.Code, h.OfferingID
		}
	}
	return "", 0
}

// enrolledConflicts lists the students with a live enrollment in o (as
// changed) whom the change breaks a rule for, inside tx, which holds o's
// row. On PostgreSQL it locks those students' rows first, so no batch gives
// one of them an overlapping club meanwhile; that lock comes after the
// offering's, the reverse of the batch's order, and PatchOffering relies on
// retryTx when the two deadlock.
func enrolledConflicts(tx *gorm.DB, o Offering) ([]EnrolledConflict, error) {
	var students []struct {
		ID     int64            `gorm:"column:id"`
		Name   string           `gorm:"column:name"`
		Grade  int              `gorm:"column:grade"`
		Status EnrollmentStatus `gorm:"column:status"`
	}
	q := `SELECT s.id, s.name, s.grade, e.status FROM enrollments e JOIN students s ON s.id = e.student_id
		WHERE e.offering_id = ? AND e.status IN ? ORDER BY s.id`
	if dialectOf(tx) == Postgres {
		q += " FOR UPDATE OF s"
	}
	if err := tx.Raw(q, o.ID, liveStatuses).Scan(&students).Error; err != nil {
		return nil, err
	}
	if len(students) == 0 {
		return nil, nil
	}
	var held []struct {
		StudentID int64 `gorm:"column:student_id"`
		Held
	}
	if err := tx.Raw(`SELECT e.student_id, e.offering_id, e.status, e.rank, x.kind, x.weekdays, x.start_min, x.end_min
		FROM enrollments e JOIN offerings x ON x.id = e.offering_id
		WHERE e.term_id = ? AND e.status IN ? AND e.offering_id <> ?
		AND e.student_id IN (SELECT student_id FROM enrollments WHERE offering_id = ? AND status IN ?)`,
		o.TermID, seatStatuses, o.ID, o.ID, liveStatuses).Scan(&held).Error; err != nil {
		return nil, err
	}
	heldBy := map[int64][]Held{}
	for _, h := range held {
		heldBy[h.StudentID] = append(heldBy[h.StudentID], h.Held)
	}
	var out []EnrolledConflict
	for _, s := range students {
		if reason, with := conflictWith(o, s.Grade, s.Status, heldBy[s.ID]); reason != "" {
			out = append(out, EnrolledConflict{StudentID: s.ID, Name: s.Name, Reason: reason, OfferingID: with})
		}
	}
	return out, nil
}

// slotText is o's schedule as a family reads it: "周二、周四 16:30-18:00".
func slotText(o Offering) string {
	return WeekdaysText(o.Weekdays) + " " + FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin)
}

// shortSlot is o's schedule in at most 17 characters, for a WeChat
// "thing" field of 20 with "改为" before it: "周二四 16:30-18:00",
// "周一至五 15:30-17:30".
func shortSlot(o Offering) string {
	days := Unmask(o.Weekdays)
	digits := [...]string{"", "一", "二", "三", "四", "五", "六", "日"}
	var b strings.Builder
	b.WriteString("周")
	run := len(days) >= 3
	for i := 1; i < len(days); i++ {
		run = run && days[i] == days[i-1]+1
	}
	if run {
		b.WriteString(digits[days[0]] + "至" + digits[days[len(days)-1]])
	} else {
		for _, d := range days {
			if d >= 1 && d <= 7 {
				b.WriteString(digits[d])
			}
		}
	}
	return b.String() + " " + FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin)
}

// notifyOfferingChanged tells families that offering o (before, as it
// was) changed under them: when a running offering's weekdays or times
// change, every family with a live enrollment in it hears the new
// schedule (SPEC: changing a running offering's times or weekdays tells
// every affected family); otherwise only the families of the students in
// conflicts (a forced change of grades) hear it. One message per child.
func notifyOfferingChanged(tx *gorm.DB, before, o Offering, conflicts []EnrolledConflict) error {
	slotMoved := isRunning(o.Status) &&
		(before.Weekdays != o.Weekdays || before.StartMin != o.StartMin || before.EndMin != o.EndMin)
	type target struct {
		ID   int64  `gorm:"column:id"`
		Name string `gorm:"column:name"`
	}
	var to []target
	if slotMoved {
		if err := tx.Raw(`SELECT s.id, s.name FROM enrollments e JOIN students s ON s.id = e.student_id
			WHERE e.offering_id = ? AND e.status IN ? ORDER BY s.id`, o.ID, liveStatuses).Scan(&to).Error; err != nil {
			return err
		}
	} else {
		for _, c := range conflicts {
			to = append(to, target{c.StudentID, c.Name})
		}
	}
	weekdays := make([]string, 0, 5)
	for _, d := range Unmask(o.Weekdays) {
		weekdays = append(weekdays, fmt.Sprint(d))
	}
	// note fits a WeChat "thing" field (20 characters); the inbox reads
	// the whole schedule, new and old, from "schedule" and "before".
	note := "项目已调整"
	if slotMoved {
		note = "改为" + shortSlot(o)
	}
	for _, c := range to {
		p := map[string]string{"student": c.Name, "offering": o.Name, "status": "项目已变更",
			"time": FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin), "weekdays": strings.Join(weekdays, ","),
			"note": note, "schedule": slotText(o), "before": slotText(before), "offering_id": fmt.Sprint(o.ID)}
		event := fmt.Sprintf("changed:offering:%d:%d:student:%d", o.ID, o.UpdatedAt.UnixNano(), c.ID)
		if err := NotifyGuardians(tx, NotifyOfferingChanged, c.ID, event, p); err != nil {
			return err
		}
	}
	return nil
}
