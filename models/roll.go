// The roll of a session: who is on it, their marks and leave, and marking
// it in one transaction with its audit rows and alerts. One file past 400
// lines because reading and writing a roll share its membership query and
// the mark rules; split them and each half needs the other.

package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Attendance marks.
const (
	MarkPresent = "present"
	MarkAbsent  = "absent"
	MarkLeave   = "leave"
	MarkLate    = "late"
)

// ValidMark reports whether s is one of the four marks.
func ValidMark(s string) bool {
	return s == MarkPresent || s == MarkAbsent || s == MarkLeave || s == MarkLate
}

// markPhrases are the marks as families read them (WeChat phrase values
// hold at most 5 characters).
var markPhrases = map[string]string{MarkPresent: "出勤", MarkAbsent: "缺勤", MarkLeave: "请假", MarkLate: "迟到"}

// RollEntry is one child on a session's roll. Status is the mark, or
// "leave" when unmarked and covered by a leave request, or nil.
type RollEntry struct {
	StudentID   int64
	StudentNo   string
	Name        string
	Grade       int
	ClassName   string
	Status      *string
	Marked      bool
	Leave       *LeaveRequest
	DismissedBy string
	DismissedAt *time.Time
}

// Roll is a session and the children on its roll, by grade, class and
// student number.
type Roll struct {
	Session SessionView
	Entries []RollEntry
}

// rollStudent is a child on a roll as rollStudents reads it.
type rollStudent struct {
	StudentID   int64
	StudentNo   string
	Name        string
	Grade       int
	ClassName   string
	Mark        sql.NullString
	DismissedBy sql.NullString
	DismissedAt sql.NullTime
}

// rollStudents reads who is on session s's roll, with their marks and
// dismissals, in one statement: the children enrolled in the offering now
// who became enrolled before the session's day ended (enrolled_at, set
// when a held seat is paid; else the row's updated_at, when it became
// enrolled: taken at once, promoted from the waitlist, won in the draw), and every child with a mark on the session
// (a child withdrawn later keeps the marks of the days they came; an
// unmarked past roll does not show them, since a withdrawn row does not
// tell whether it ever held a seat).
func rollStudents(tx *gorm.DB, s Session) ([]rollStudent, error) {
	endOfDay := at(s.Date, 24*60).UTC()
	var out []rollStudent
	err := rawOf(tx).each(`SELECT st.id, st.student_no, st.name, st.grade, st.class_name, a.status, d.dismissed_by, d.dismissed_at
		FROM students st
		LEFT JOIN attendance a ON a.session_id = ? AND a.student_id = st.id
		LEFT JOIN dismissals d ON d.session_id = ? AND d.student_id = st.id
		WHERE st.id IN (SELECT e.student_id FROM enrollments e WHERE e.offering_id = ? AND e.status = ? AND COALESCE(e.enrolled_at, e.updated_at) < ?
			UNION SELECT m.student_id FROM attendance m WHERE m.session_id = ?)
		ORDER BY st.grade, st.class_name, st.student_no, st.id`,
		[]any{s.ID, s.ID, s.OfferingID, StatusEnrolled, endOfDay, s.ID}, func(r *sql.Rows) error {
			var x rollStudent
			if err := r.Scan(&x.StudentID, &x.StudentNo, &x.Name, &x.Grade, &x.ClassName, &x.Mark, &x.DismissedBy, &x.DismissedAt); err != nil {
				return err
			}
			out = append(out, x)
			return nil
		})
	return out, err
}

// buildRoll joins the roll's children with the leave requests covering
// them.
func buildRoll(tx *gorm.DB, s SessionView, students []rollStudent) (Roll, error) {
	ids := make([]int64, len(students))
	for i, st := range students {
		ids[i] = st.StudentID
	}
	leaves, err := coveringLeaves(tx, ids, s.Date, s.OfferingID)
	if err != nil {
		return Roll{}, err
	}
	return rollOf(s, students, leaves), nil
}

// rollOf is session s's roll: its children, each with the leave covering
// it (leaves, by student) and its mark and dismissal.
func rollOf(s SessionView, students []rollStudent, leaves map[int64]LeaveRequest) Roll {
	r := Roll{Session: s, Entries: make([]RollEntry, 0, len(students))}
	for _, st := range students {
		e := RollEntry{StudentID: st.StudentID, StudentNo: st.StudentNo, Name: st.Name, Grade: st.Grade, ClassName: st.ClassName}
		if lr, ok := leaves[st.StudentID]; ok {
			e.Leave = &lr
		}
		switch {
		case st.Mark.Valid:
			e.Status, e.Marked = &st.Mark.String, true
		case e.Leave != nil:
			e.Status = ptrTo(MarkLeave)
		}
		if st.DismissedBy.Valid {
			e.DismissedBy = st.DismissedBy.String
			t := st.DismissedAt.Time.UTC()
			e.DismissedAt = &t
		}
		r.Entries = append(r.Entries, e)
	}
	return r
}

func ptrTo[T any](v T) *T { return &v }

// FindRoll answers the roll of session id for a (see CanTakeRoll). The
// read is logged as staff access to children's data.
func FindRoll(ctx context.Context, db *DB, a Actor, id int64) (Roll, error) {
	s, err := FindSessionFor(ctx, db, a, id)
	if err != nil {
		return Roll{}, err
	}
	r := db.Read(ctx)
	students, err := rollStudents(r, s.Session)
	if err != nil {
		return Roll{}, err
	}
	roll, err := buildRoll(r, s, students)
	if err != nil {
		return Roll{}, err
	}
	LogStaffAccess(ctx, db, a, "roll", s.SchoolID, fmt.Sprintf("session:%d", id))
	return roll, nil
}

// MarkRecord is one child's mark in a PUT of the roll.
type MarkRecord struct {
	StudentID int64
	Status    string
}

// MaxRollRecords bounds one PUT of a roll.
const MaxRollRecords = 500

// checkMarkWindow applies the rule of when a may change session s's roll
// at now: not before the session starts (ErrSessionNotStarted); on its day
// the teacher or an admin; after its day only a school admin (or platform
// admin), with a reason.
func checkMarkWindow(a Actor, s Session, now time.Time, reason string) error {
	if s.Status == SessionCancelled {
		return ErrSessionCancelled
	}
	if now.Before(s.StartsAt()) {
		return ErrSessionNotStarted
	}
	if LocalDate(now) == s.Date {
		return nil
	}
	if a.Role != RoleSchoolAdmin && a.Role != RolePlatformAdmin {
		return ErrRollClosed
	}
	if strings.TrimSpace(reason) == "" {
		return &ValidationError{Fields: map[string]string{"reason": "更正往日考勤须填写原因"}}
	}
	return nil
}

// MarkAttendance applies records to session id's roll for a, at now, and
// answers the roll. The whole PUT is one transaction on the locked session
// row: children not on the roll fail it whole (ErrNotOnRoll naming the
// first); only marks that change are written, each with an audit row (who,
// when, old, new, reason), in one statement per table; so the same PUT twice
// writes nothing the second time. A child with a dismissal recorded came,
// so only present or late fits them (ErrAlreadyDismissed refuses the whole
// PUT, naming the child: RollRefusal). On the session's day, a child newly
// marked absent without leave queues one absence alert to the guardians
// (once per session: the outbox dedupe key), and a child an alert was sent
// for who is then marked present or late queues one "已到" correction;
// corrections after the day send nothing.
func MarkAttendance(ctx context.Context, db *DB, a Actor, id int64, records []MarkRecord, reason string, now time.Time) (Roll, error) {
	reason = strings.TrimSpace(reason)
	var v Validator
	v.Check(len(records) > 0, "records", "records 不能为空")
	v.Check(len(records) <= MaxRollRecords, "records", fmt.Sprintf("一次最多提交%d条", MaxRollRecords))
	v.Check(len([]rune(reason)) <= MaxReasonLen, "reason", fmt.Sprintf("原因最多%d个字", MaxReasonLen))
	seen := make(map[int64]bool, len(records))
	for i, r := range records {
		v.Check(ValidMark(r.Status), fmt.Sprintf("records[%d].status", i), "状态须为 present、absent、leave 或 late")
		v.Check(!seen[r.StudentID], fmt.Sprintf("records[%d].student_id", i), "同一学生不能重复提交")
		seen[r.StudentID] = true
	}
	if err := v.Err(); err != nil {
		return Roll{}, err
	}
	s, err := FindSessionFor(ctx, db, a, id)
	if err != nil {
		return Roll{}, err
	}
	if err := checkMarkWindow(a, s.Session, now, reason); err != nil {
		return Roll{}, err
	}
	var roll Roll
	// The messages it queues are made at now (the seed's simulated days too).
	err = db.Tx(withClock(ctx, now), func(tx *gorm.DB) error {
		cur, err := lockSession(tx, id)
		if err != nil {
			return err
		}
		if err := checkMarkWindow(a, cur, now, reason); err != nil {
			return err
		}
		s.Session = cur
		students, err := rollStudents(tx, cur)
		if err != nil {
			return err
		}
		byID := make(map[int64]int, len(students))
		for i, st := range students {
			byID[st.StudentID] = i
		}
		var changed []markChange
		for _, r := range records {
			i, ok := byID[r.StudentID]
			if !ok {
				return notOnRoll(tx, cur.SchoolID, r.StudentID)
			}
			st := &students[i]
			if st.Mark.Valid && st.Mark.String == r.Status {
				continue
			}
			if !canMarkAfterDismissal(*st, r.Status) {
				return alreadyDismissed(*st, r.Status)
			}
			c := markChange{student: *st, to: r.Status}
			if st.Mark.Valid {
				c.from = ptrTo(st.Mark.String)
			}
			changed = append(changed, c)
			st.Mark = sql.NullString{String: r.Status, Valid: true}
		}
		if len(changed) > 0 {
			if err := writeMarks(tx, cur, a, changed, reason, now); err != nil {
				return err
			}
			if cur.RollTakenAt == nil {
				t := now.UTC()
				if err := tx.Exec("UPDATE sessions SET roll_taken_at = ? WHERE id = ? AND roll_taken_at IS NULL", t, id).Error; err != nil {
					return err
				}
				s.RollTakenAt = &t
			}
		}
		roll, err = buildRoll(tx, s, students)
		if err != nil || len(changed) == 0 || LocalDate(now) != cur.Date {
			// A correction after the day tells no family: the alert is
			// for the afternoon it happens, not for the records.
			return err
		}
		return notifyMarks(tx, s, roll, changed)
	})
	return roll, err
}

// markChange is one mark a PUT changes; from is nil for a first mark.
type markChange struct {
	student rollStudent
	from    *string
	to      string
}

// notOnRoll names the child: by name when they are a child of the
// session's school (it helps the teacher find the slip), else by id only —
// another school's child's name is not this caller's to learn.
func notOnRoll(tx *gorm.DB, schoolID, studentID int64) error {
	var name string
	_ = tx.Raw("SELECT name FROM students WHERE id = ? AND school_id = ?", studentID, schoolID).Row().Scan(&name)
	if name == "" {
		return ErrNotOnRoll.WithMessage("学生 %d 不在本节课的名单上", studentID)
	}
	return ErrNotOnRoll.WithMessage("学生 %s（%d）不在本节课的名单上", name, studentID)
}

// writeMarks upserts the changed marks and appends their audit rows: two
// statements, whatever the size of the roll.
func writeMarks(tx *gorm.DB, s Session, a Actor, changed []markChange, reason string, now time.Time) error {
	t := now.UTC()
	var up, audit strings.Builder
	up.WriteString(`INSERT INTO attendance (offering_id, student_id, school_id, session_date, status, recorded_by,
		created_at, session_id, updated_at) VALUES `)
	audit.WriteString(`INSERT INTO attendance_changes (session_id, student_id, school_id, session_date, old_status,
		new_status, changed_by, reason, changed_at) VALUES `)
	upArgs := make([]any, 0, len(changed)*9)
	auditArgs := make([]any, 0, len(changed)*9)
	for i, c := range changed {
		if i > 0 {
			up.WriteString(", ")
			audit.WriteString(", ")
		}
		up.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		audit.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		upArgs = append(upArgs, s.OfferingID, c.student.StudentID, s.SchoolID, s.Date, c.to, nullID(a.UserID), t, s.ID, t)
		var from any
		if c.from != nil {
			from = *c.from
		}
		auditArgs = append(auditArgs, s.ID, c.student.StudentID, s.SchoolID, s.Date, from, c.to, a.UserID, reason, t)
	}
	up.WriteString(` ON CONFLICT (offering_id, student_id, session_date) DO UPDATE SET status = excluded.status,
		recorded_by = excluded.recorded_by, updated_at = excluded.updated_at, session_id = excluded.session_id`)
	r := rawOf(tx)
	if _, err := r.exec(up.String(), upArgs...); err != nil {
		return err
	}
	_, err := r.exec(audit.String(), auditArgs...)
	return err
}

// Notification dedupe events of the roll, one per session and child.
func absenceEvent(sessionID, studentID int64) string {
	return fmt.Sprintf("absence:session:%d:student:%d", sessionID, studentID)
}

func arrivedEvent(sessionID, studentID int64) string {
	return fmt.Sprintf("arrived:session:%d:student:%d", sessionID, studentID)
}

// notifyMarks queues the absence alerts and "已到" corrections of a PUT.
func notifyMarks(tx *gorm.DB, s SessionView, roll Roll, changed []markChange) error {
	leave := make(map[int64]bool, len(roll.Entries))
	for _, e := range roll.Entries {
		leave[e.StudentID] = e.Leave != nil
	}
	for _, c := range changed {
		sid := c.student.StudentID
		switch {
		case c.to == MarkAbsent && !leave[sid]:
			if err := NotifyGuardians(tx, NotifyAbsence, sid, absenceEvent(s.ID, sid), map[string]string{
				"student": c.student.Name, "offering": s.OfferingName, "status": markPhrases[MarkAbsent],
				"note": absenceNote(s.Date, s.StartMin), "session_id": fmt.Sprint(s.ID)}); err != nil {
				return err
			}
		case c.from != nil && *c.from == MarkAbsent && (c.to == MarkPresent || c.to == MarkLate):
			alerted, err := outboxHasEvent(tx, absenceEvent(s.ID, sid))
			if err != nil {
				return err
			}
			if !alerted {
				continue
			}
			if err := NotifyGuardians(tx, NotifyAbsence, sid, arrivedEvent(s.ID, sid), map[string]string{
				"student": c.student.Name, "offering": s.OfferingName, "status": "已到",
				"note": arrivedNote(s.Date, s.StartMin), "session_id": fmt.Sprint(s.ID), NoteSaysStatus: "1"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// outboxHasEvent reports whether a notification of event was queued (to any
// guardian: NotifyGuardians keys are "<event>:user:<id>"). A range on the
// unique dedupe_key index, not LIKE, so both engines use the index.
func outboxHasEvent(tx *gorm.DB, event string) (bool, error) {
	var n int64
	err := tx.Raw("SELECT COUNT(*) FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ?",
		event+":user:", event+":user;").Scan(&n).Error
	return n > 0, err
}

// AttendanceChange is one entry of a roll's audit trail.
type AttendanceChange struct {
	ID          int64     `gorm:"column:id"`
	SessionID   int64     `gorm:"column:session_id"`
	StudentID   int64     `gorm:"column:student_id"`
	StudentName string    `gorm:"column:student_name"`
	OldStatus   *string   `gorm:"column:old_status"`
	NewStatus   string    `gorm:"column:new_status"`
	ChangedBy   int64     `gorm:"column:changed_by"`
	ChangerName string    `gorm:"column:changer_name"`
	Reason      string    `gorm:"column:reason"`
	ChangedAt   time.Time `gorm:"column:changed_at"`
}

// FindAttendanceChanges answers the audit trail of session id's roll,
// oldest first, for a (see CanTakeRoll): limit changes (plus one when there
// are more) with ids above after. The read is written to the staff access
// log: a correction's reason may describe a child.
func FindAttendanceChanges(ctx context.Context, db *DB, a Actor, id, after int64, limit int) ([]AttendanceChange, error) {
	s, err := FindSessionFor(ctx, db, a, id)
	if err != nil {
		return nil, err
	}
	out := []AttendanceChange{}
	err = db.Read(ctx).Raw(`SELECT c.id, c.session_id, c.student_id, st.name AS student_name, c.old_status, c.new_status,
			c.changed_by, COALESCE(NULLIF(u.display_name, ''), u.username, '') AS changer_name, c.reason, c.changed_at
		FROM attendance_changes c JOIN students st ON st.id = c.student_id JOIN users u ON u.id = c.changed_by
		WHERE c.session_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`, id, after, limit+1).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	LogStaffAccess(ctx, db, a, "attendance_changes", s.SchoolID, fmt.Sprintf("session:%d", id))
	return out, nil
}
