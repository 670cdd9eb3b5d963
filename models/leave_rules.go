package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The rules a leave request answers to beyond its shape (SPEC "Leave"):
// it must cover at least one of the child's sessions (not a weekend, a
// no-service day, a day outside the term, or an offering the child is not
// in); a child has at most MaxActiveLeaves requests that have not ended;
// a request overlapping or touching one the same guardian filed for the
// same offerings, neither started yet, is merged into it; and leave
// reasons, which are health data, are read only by the child's guardians,
// the school's admins, and the teachers of the child's own rolls
// (CanSeeLeave).

// MaxActiveLeaves bounds a child's active leave requests that have not
// ended: every roll read joins the requests covering its date, and one
// parent filed 5,000.
const MaxActiveLeaves = 20

// Errors of the leave rules.
var (
	// ErrLeaveNoSession refuses leave that covers none of the child's
	// sessions; its message says why (weekend, no-service day, outside the
	// term, not the child's day).
	ErrLeaveNoSession = E(KindInvalid, "leave_no_session", "所选日期孩子没有课，无需请假")
	// ErrLeaveLimit refuses a request beyond MaxActiveLeaves.
	ErrLeaveLimit = E(KindConflict, "leave_limit_reached",
		fmt.Sprintf("该学生未结束的请假已有%d条，已达上限，请先撤销不需要的请假", MaxActiveLeaves))
	// ErrNotYourStudent answers a teacher asking for the leave or
	// attendance of a child on none of their rolls.
	ErrNotYourStudent = E(KindForbidden, "not_your_student", "只能查看自己任教课程中学生的请假和考勤")
)

// CanSeeLeave is the one policy of who reads a child's leave requests (and
// so its leave reasons, which are health data) and its attendance: a
// guardian linked to the child, the school's admins, a platform admin, and
// a teacher of the school for a child on one of their own rolls (enrolled
// now in an offering they take the roll of, or marked on one of its
// sessions); another teacher of the school gets ErrNotYourStudent, anyone
// else ErrNotFound. st is the child as FindStudentFor loaded it for a.
func CanSeeLeave(ctx context.Context, db *DB, a Actor, st Student) error {
	if a.Role != RoleTeacher {
		return nil // FindStudentFor already decided: linked guardian, school staff, platform admin
	}
	var n int64
	err := db.Read(ctx).Raw(`SELECT COUNT(*) FROM offerings o WHERE o.teacher_user_id = ? AND o.school_id = ? AND (
			EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = o.id AND e.student_id = ? AND e.status = ?)
			OR EXISTS (SELECT 1 FROM attendance m WHERE m.offering_id = o.id AND m.student_id = ?))`,
		a.UserID, st.SchoolID, st.ID, StatusEnrolled, st.ID).Scan(&n).Error
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotYourStudent
	}
	return nil
}

// lockStudentRow takes the child's row lock on PostgreSQL, so two requests
// for one child (two instances) count and merge in turn; SQLite's single
// writer serialises them already.
func lockStudentRow(tx *gorm.DB, id int64) error {
	if dialectOf(tx) != Postgres {
		return nil
	}
	return tx.Exec("SELECT id FROM students WHERE id = ? FOR UPDATE", id).Error
}

// leaveOffering is an offering a child is enrolled in, as the leave rules
// read it.
type leaveOffering struct {
	ID       int64
	Name     string
	TermID   int64
	Weekdays int
}

// checkLeaveApplies refuses leave for studentID from…to over offerings ids
// (empty: all) that cannot apply: an offering the child is not enrolled in
// (a field error), or dates on which none of the child's sessions meets
// (ErrLeaveNoSession saying why).
func checkLeaveApplies(tx *gorm.DB, studentID int64, from, to string, ids []int64) error {
	var offs []leaveOffering
	if err := tx.Raw(`SELECT o.id, o.name, o.term_id, o.weekdays FROM offerings o
		JOIN enrollments e ON e.offering_id = o.id AND e.student_id = ? AND e.status = ? ORDER BY o.id`,
		studentID, StatusEnrolled).Scan(&offs).Error; err != nil {
		return err
	}
	if len(ids) > 0 {
		in := map[int64]bool{}
		for _, o := range offs {
			in[o.ID] = true
		}
		var missing []int64
		for _, id := range ids {
			if !in[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			var names []string
			if err := tx.Raw("SELECT name FROM offerings WHERE id IN ? ORDER BY id", missing).Scan(&names).Error; err != nil {
				return err
			}
			return &ValidationError{Fields: map[string]string{
				"offering_ids": "孩子没有参加" + strings.Join(names, "、") + "，不能为它请假"}}
		}
		kept := offs[:0]
		for _, o := range offs {
			for _, id := range ids {
				if o.ID == id {
					kept = append(kept, o)
				}
			}
		}
		offs = kept
	}
	if len(offs) == 0 {
		return ErrLeaveNoSession.WithMessage("孩子没有报名课后服务项目，无需请假")
	}
	oids := make([]int64, len(offs))
	for i, o := range offs {
		oids[i] = o.ID
	}
	var n int64
	if err := tx.Raw(`SELECT COUNT(*) FROM sessions WHERE offering_id IN ? AND status = ? AND session_date >= ? AND session_date <= ?`,
		oids, SessionScheduled, from, to).Scan(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var terms []Term
	if err := tx.Raw("SELECT * FROM terms WHERE id IN (SELECT term_id FROM offerings WHERE id IN ?)", oids).Scan(&terms).Error; err != nil {
		return err
	}
	var cancelled []string
	if err := tx.Raw(`SELECT session_date FROM sessions WHERE offering_id IN ? AND status = ? AND session_date >= ? AND session_date <= ?`,
		oids, SessionCancelled, from, to).Scan(&cancelled).Error; err != nil {
		return err
	}
	return ErrLeaveNoSession.WithMessage("%s", explainNoSession(from, to, offs, terms, cancelled))
}

// explainNoSession says, for a parent, why no session of offs meets from
// to…to (both valid dates): the reason shared by every date, or a short
// list of them. It is pure.
func explainNoSession(from, to string, offs []leaveOffering, terms []Term, cancelled []string) string {
	termOf := map[int64]Term{}
	for _, t := range terms {
		termOf[t.ID] = t
	}
	isCancelled := map[string]bool{}
	for _, d := range cancelled {
		isCancelled[d] = true
	}
	f, _ := time.Parse(time.DateOnly, from)
	l, _ := time.Parse(time.DateOnly, to)
	why := map[string]bool{}
	for d := f; !d.After(l); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		why[dayReason(day, offs, termOf, isCancelled[day])] = true
	}
	if len(why) == 1 {
		for r := range why {
			switch r {
			case "outside":
				t := termOf[offs[0].TermID]
				return fmt.Sprintf("所选日期不在学期内（%s 至 %s），没有课后服务", t.StartsOn, t.EndsOn)
			case "weekend":
				return "所选日期是周末，没有课后服务"
			case "no_service":
				return "所选日期是学校的不上课日，没有课后服务"
			case "cancelled":
				return "所选日期的课已停课，无需请假"
			case "unscheduled":
				return "所选日期还没有排课，无需请假"
			}
		}
		parts := make([]string, len(offs))
		for i, o := range offs {
			parts[i] = o.Name + "：" + WeekdaysText(o.Weekdays)
		}
		return "孩子在所选日期没有课（" + strings.Join(parts, "；") + "）"
	}
	return "所选日期孩子没有课（周末、不上课日、学期外或非上课日），无需请假"
}

// dayReason classifies why no session of offs meets on day: "outside"
// every term, a "weekend", a "no_service" day, "cancelled", "not_day" (a
// school day, but not one of the offerings' weekdays), or "unscheduled"
// (one of their days, with no session: published later, or not yet made).
func dayReason(day string, offs []leaveOffering, termOf map[int64]Term, cancelled bool) string {
	if cancelled {
		return "cancelled"
	}
	d, _ := time.Parse(time.DateOnly, day)
	inTerm, noService, extra, meets := false, false, false, false
	for _, o := range offs {
		t, ok := termOf[o.TermID]
		if !ok || day < t.StartsOn || day > t.EndsOn {
			continue
		}
		inTerm = true
		for _, n := range t.NoService() {
			noService = noService || n == day
		}
		wd := int(d.Weekday())
		for _, e := range t.Extra() {
			if e.Date == day {
				extra, wd = true, e.AsWeekday
			}
		}
		meets = meets || o.Weekdays&(1<<wd) != 0
	}
	switch {
	case !inTerm:
		return "outside"
	case noService:
		return "no_service"
	case !extra && (d.Weekday() == time.Saturday || d.Weekday() == time.Sunday):
		return "weekend"
	case meets:
		return "unscheduled" // the club's day, but no session was made for it
	}
	return "not_day"
}

// mergeLeave merges l (not yet written) into the active requests of the
// same child, guardian and offerings whose days overlap or touch l's and
// whose first covered session has not started at now: the oldest of them
// is widened to the union of the days, its reason joined with the others'
// and l's (mergeReasons), the others are cancelled. A union longer than
// MaxLeaveDays is not merged, nor is an l whose own first session has
// started: the union could no longer be withdrawn, so a request for the
// days after, which can, would be lost in it. It reports the merged
// request, or false when l merges with nothing.
func mergeLeave(tx *gorm.DB, l LeaveRequest, now time.Time) (LeaveRequest, bool, error) {
	day := func(s string, n int) string {
		d, _ := time.Parse(time.DateOnly, s)
		return d.AddDate(0, 0, n).Format(time.DateOnly)
	}
	if first, ok, err := firstCoveredSession(tx, l); err != nil || (ok && !now.Before(first.StartsAt())) {
		return LeaveRequest{}, false, err
	}
	var cands []LeaveRequest
	if err := tx.Where(`student_id = ? AND status = ? AND filed_by = ? AND offering_ids = ? AND from_date <= ? AND to_date >= ?`,
		l.StudentID, LeaveActive, *l.FiledBy, l.OfferingIDs, day(l.To, 1), day(l.From, -1)).Order("id").Find(&cands).Error; err != nil {
		return LeaveRequest{}, false, err
	}
	var target *LeaveRequest
	from, to, reason := l.From, l.To, ""
	var others []int64
	for i := range cands {
		c := cands[i]
		first, ok, err := firstCoveredSession(tx, c)
		if err != nil {
			return LeaveRequest{}, false, err
		}
		if ok && !now.Before(first.StartsAt()) {
			continue // started: it can no longer be withdrawn, so it stays as it is
		}
		f, t := min(from, c.From), max(to, c.To)
		if leaveDays(f, t) > MaxLeaveDays {
			continue
		}
		from, to = f, t
		if target == nil {
			target, reason = &cands[i], c.Reason
		} else {
			others, reason = append(others, c.ID), mergeReasons(reason, c.Reason)
		}
	}
	if target == nil {
		return LeaveRequest{}, false, nil
	}
	target.From, target.To, target.Reason = from, to, mergeReasons(reason, l.Reason)
	if err := tx.Exec("UPDATE leave_requests SET from_date = ?, to_date = ?, reason = ? WHERE id = ?",
		from, to, target.Reason, target.ID).Error; err != nil {
		return LeaveRequest{}, false, err
	}
	if len(others) > 0 {
		if err := tx.Exec("UPDATE leave_requests SET status = ?, cancelled_at = ? WHERE id IN ?",
			LeaveCancelled, now.UTC(), others).Error; err != nil {
			return LeaveRequest{}, false, err
		}
	}
	return *target, true, nil
}

// mergeReasons is the reason of a request widened by one whose reason is
// next: both, joined by "；", unless next is one of old's parts already or
// the two would pass MaxReasonLen (then next, as the family wrote last).
func mergeReasons(old, next string) string {
	if old == "" || next == "" || old == next || slices.Contains(strings.Split(old, "；"), next) {
		return cmp.Or(old, next)
	}
	if both := old + "；" + next; len([]rune(both)) <= MaxReasonLen {
		return both
	}
	return next
}

// leaveDays is the number of days from…to, both included.
func leaveDays(from, to string) int {
	f, _ := time.Parse(time.DateOnly, from)
	t, _ := time.Parse(time.DateOnly, to)
	return int(t.Sub(f)/(24*time.Hour)) + 1
}
