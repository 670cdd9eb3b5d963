package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// How a child left after a session.
const (
	DismissedGuardian = "guardian"
	DismissedSelf     = "self"
	DismissedBus      = "bus"
	DismissedOther    = "other"
)

var dismissalPhrases = map[string]string{DismissedGuardian: "家长接走", DismissedSelf: "自行离校",
	DismissedBus: "校车送离", DismissedOther: "其他方式离校"}

// ValidDismissal reports whether s is one of the ways a child leaves.
func ValidDismissal(s string) bool { _, ok := dismissalPhrases[s]; return ok }

// DismissalRecord is one child's dismissal in a POST. At nil means now for
// a child's first record, and the time already recorded for a correction
// (changing how a child left does not move when).
type DismissalRecord struct {
	StudentID int64
	By        string
	At        *time.Time
}

// Dismissal is how and when a child left after a session.
type Dismissal struct {
	ID          int64     `gorm:"primaryKey"`
	SessionID   int64     `gorm:"column:session_id"`
	StudentID   int64     `gorm:"column:student_id"`
	SchoolID    int64     `gorm:"column:school_id"`
	By          string    `gorm:"column:dismissed_by"`
	At          time.Time `gorm:"column:dismissed_at"`
	RecordedBy  int64     `gorm:"column:recorded_by"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	StudentName string    `gorm:"->;column:student_name"`
}

// TableName maps Dismissal to the dismissals table.
func (Dismissal) TableName() string { return "dismissals" }

// CheckDismissalTime is the rule of when a child of session s may be
// recorded as having left, at now: on the session's day, not before it
// started and not after now. It answers the reason it refuses at, or "".
func CheckDismissalTime(s Session, at, now time.Time) string {
	switch {
	case LocalDate(at) != s.Date:
		return "离校时间须在上课当天（" + s.Date + "）"
	case at.Before(s.StartsAt()):
		return "离校时间不能早于上课时间 " + FormatClock(s.StartMin)
	case at.After(now):
		return "离校时间不能晚于现在"
	}
	return ""
}

// canDismiss reports whether a child with mark on the roll can have left:
// only a child who came (present or late) did.
func canDismiss(mark sql.NullString) bool {
	return mark.Valid && (mark.String == MarkPresent || mark.String == MarkLate)
}

// dismissalChange is one dismissal a POST changes; from is nil for a
// child's first record.
type dismissalChange struct {
	student rollStudent
	fromBy  *string
	fromAt  *time.Time
	by      string
	at      time.Time
}

// RecordDismissal records how each child of records left session id, for a
// (CanTakeRoll), at now, and answers the session's dismissals. The roll's
// time rule applies (from the session's start; after its day only a school
// admin, with a reason); each time must be on the session's day, from its
// start, and not in the future (CheckDismissalTime); and only a child marked
// present or late on the session can have left (ErrNotPresent). Only
// records that change something are written, each with a history row (who,
// when, old, new, reason), so the same POST twice writes nothing. A
// child's first dismissal of a day queues one "已离校" message to the
// guardians when it is recorded on the session's day — one a child and day,
// keyed by the date: a child in the base service and a club that afternoon
// who is dismissed from both leaves school once; a correction, or a record
// made after the day, tells no family.
func RecordDismissal(ctx context.Context, db *DB, a Actor, id int64, records []DismissalRecord, reason string, now time.Time) ([]Dismissal, error) {
	reason = strings.TrimSpace(reason)
	var v Validator
	v.Check(len(records) > 0, "records", "records 不能为空")
	v.Check(len(records) <= MaxRollRecords, "records", fmt.Sprintf("一次最多提交%d条", MaxRollRecords))
	v.Check(len([]rune(reason)) <= MaxReasonLen, "reason", fmt.Sprintf("原因最多%d个字", MaxReasonLen))
	seen := map[int64]bool{}
	for i, r := range records {
		v.Check(ValidDismissal(r.By), fmt.Sprintf("records[%d].by", i), "离校方式须为 guardian、self、bus 或 other")
		v.Check(!seen[r.StudentID], fmt.Sprintf("records[%d].student_id", i), "同一学生不能重复提交")
		seen[r.StudentID] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	s, err := FindSessionFor(ctx, db, a, id)
	if err != nil {
		return nil, err
	}
	if err := checkDismissalWindow(a, s.Session, now, reason); err != nil {
		return nil, err
	}
	var out []Dismissal
	// The messages it queues are made at now (the seed's simulated days too).
	err = db.Tx(withClock(ctx, now), func(tx *gorm.DB) error {
		cur, err := lockSession(tx, id)
		if err != nil {
			return err
		}
		if err := checkDismissalWindow(a, cur, now, reason); err != nil {
			return err
		}
		students, err := rollStudents(tx, cur)
		if err != nil {
			return err
		}
		byID := make(map[int64]rollStudent, len(students))
		for _, st := range students {
			byID[st.StudentID] = st
		}
		var changed []dismissalChange
		var tv Validator
		for i, r := range records {
			st, ok := byID[r.StudentID]
			if !ok {
				return notOnRoll(tx, cur.SchoolID, r.StudentID)
			}
			if !canDismiss(st.Mark) {
				return notPresent(st)
			}
			c := dismissalChange{student: st, by: r.By, at: now}
			if st.DismissedBy.Valid {
				c.fromBy, c.fromAt = &st.DismissedBy.String, ptrTo(st.DismissedAt.Time)
				c.at = st.DismissedAt.Time
			}
			if r.At != nil {
				c.at = *r.At
			}
			field := fmt.Sprintf("records[%d].at", i)
			switch msg := CheckDismissalTime(cur, c.at, now); {
			case r.At == nil && c.fromBy == nil && LocalDate(now) != cur.Date:
				tv.Check(false, field, "补记往日的离校须填写离校时间")
				continue
			case msg != "" && (r.At != nil || c.fromBy == nil):
				tv.Check(false, field, msg)
				continue
			}
			if c.fromBy != nil && *c.fromBy == c.by && c.fromAt.Equal(c.at) {
				continue
			}
			changed = append(changed, c)
		}
		if err := tv.Err(); err != nil {
			return err
		}
		if len(changed) > 0 {
			if err := writeDismissals(tx, cur, a, changed, reason, now); err != nil {
				return err
			}
		}
		if LocalDate(now) == cur.Date {
			var notes []guardianNote
			for _, c := range changed {
				if c.fromBy != nil {
					continue
				}
				notes = append(notes, guardianNote{c.student.StudentID,
					fmt.Sprintf("dismissal:%s:student:%d", cur.Date, c.student.StudentID),
					map[string]string{"student": c.student.Name, "offering": s.OfferingName, "status": "已离校",
						"note":       dismissalNote(c.at, c.by),
						"session_id": fmt.Sprint(id)}})
			}
			if err := notifyGuardiansMany(tx, NotifyDismissal, notes); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The session's dismissals as they stand, read once the write has
	// committed: the writer is not held while they are read. A failed read
	// answers an error for a write that stands; sent again, the same
	// records change nothing and queue no second message.
	err = db.Read(ctx).Raw(`SELECT d.*, st.name AS student_name FROM dismissals d JOIN students st ON st.id = d.student_id
		WHERE d.session_id = ? ORDER BY d.dismissed_at, d.id`, id).Scan(&out).Error
	return out, err
}

// checkDismissalWindow is the roll's time rule (checkMarkWindow: from the
// session's start; after its day only a school admin, with a reason), its
// refusals worded for a dismissal: a teacher who taps 确认离校 before the
// session starts reads about dismissals, not about taking the roll.
func checkDismissalWindow(a Actor, s Session, now time.Time, reason string) error {
	err := checkMarkWindow(a, s, now, reason)
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrSessionNotStarted):
		return ErrSessionNotStarted.WithMessage("本节课%s开始，开始后才能登记离校", FormatClock(s.StartMin))
	case errors.Is(err, ErrRollClosed):
		return ErrRollClosed.WithMessage("当天的离校登记已结束，更正往日离校记录须由学校管理员填写原因")
	case errors.Is(err, ErrSessionCancelled):
		return ErrSessionCancelled.WithMessage("本节课已停课，无需登记离校")
	case errors.As(err, &ve):
		return &ValidationError{Fields: map[string]string{"reason": "更正往日离校记录须填写原因"}}
	}
	return err
}

// notPresent refuses the dismissal of a child who did not come, naming the
// child and the mark (the teacher sees at once which row was wrong).
func notPresent(st rollStudent) error {
	mark := "未点名"
	if st.Mark.Valid {
		mark = "记为" + markPhrases[st.Mark.String]
	}
	return ErrNotPresent.WithMessage("学生 %s（%d）本节课%s，只能为出勤或迟到的学生登记离校", st.Name, st.StudentID, mark)
}

// writeDismissals upserts the changed dismissals and appends their history
// rows: two statements, whatever the number of children.
func writeDismissals(tx *gorm.DB, s Session, a Actor, changed []dismissalChange, reason string, now time.Time) error {
	t := now.UTC()
	var up, hist strings.Builder
	up.WriteString(`INSERT INTO dismissals (session_id, student_id, school_id, dismissed_by, dismissed_at, recorded_by,
		created_at) VALUES `)
	hist.WriteString(`INSERT INTO dismissal_changes (session_id, student_id, school_id, session_date, old_by, old_at,
		new_by, new_at, changed_by, reason, changed_at) VALUES `)
	upArgs := make([]any, 0, len(changed)*7)
	histArgs := make([]any, 0, len(changed)*11)
	for i, c := range changed {
		if i > 0 {
			up.WriteString(", ")
			hist.WriteString(", ")
		}
		up.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		hist.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		upArgs = append(upArgs, s.ID, c.student.StudentID, s.SchoolID, c.by, c.at.UTC(), a.UserID, t)
		var oldBy, oldAt any
		if c.fromBy != nil {
			oldBy, oldAt = *c.fromBy, c.fromAt.UTC()
		}
		histArgs = append(histArgs, s.ID, c.student.StudentID, s.SchoolID, s.Date, oldBy, oldAt, c.by, c.at.UTC(),
			a.UserID, reason, t)
	}
	up.WriteString(` ON CONFLICT (session_id, student_id) DO UPDATE SET dismissed_by = excluded.dismissed_by,
		dismissed_at = excluded.dismissed_at, recorded_by = excluded.recorded_by`)
	r := rawOf(tx)
	if _, err := r.exec(up.String(), upArgs...); err != nil {
		return err
	}
	_, err := r.exec(hist.String(), histArgs...)
	return err
}

// DismissalChange is one entry of a session's dismissal history.
type DismissalChange struct {
	ID          int64      `gorm:"column:id"`
	SessionID   int64      `gorm:"column:session_id"`
	StudentID   int64      `gorm:"column:student_id"`
	StudentName string     `gorm:"column:student_name"`
	OldBy       *string    `gorm:"column:old_by"`
	OldAt       *time.Time `gorm:"column:old_at"`
	NewBy       string     `gorm:"column:new_by"`
	NewAt       time.Time  `gorm:"column:new_at"`
	ChangedBy   int64      `gorm:"column:changed_by"`
	ChangerName string     `gorm:"column:changer_name"`
	Reason      string     `gorm:"column:reason"`
	ChangedAt   time.Time  `gorm:"column:changed_at"`
}

// FindDismissalChanges answers the history of session id's dismissals,
// oldest first, for a (see CanTakeRoll): limit changes (plus one when there
// are more) with ids above after. The read is written to the staff access
// log: a correction's reason may describe a child.
func FindDismissalChanges(ctx context.Context, db *DB, a Actor, id, after int64, limit int) ([]DismissalChange, error) {
	s, err := FindSessionFor(ctx, db, a, id)
	if err != nil {
		return nil, err
	}
	out := []DismissalChange{}
	err = db.Read(ctx).Raw(`SELECT c.id, c.session_id, c.student_id, st.name AS student_name, c.old_by, c.old_at, c.new_by,
			c.new_at, c.changed_by, COALESCE(NULLIF(u.display_name, ''), u.username, '') AS changer_name, c.reason, c.changed_at
		FROM dismissal_changes c JOIN students st ON st.id = c.student_id JOIN users u ON u.id = c.changed_by
		WHERE c.session_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`, id, after, limit+1).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	LogStaffAccess(ctx, db, a, "dismissal_changes", s.SchoolID, fmt.Sprintf("session:%d", id))
	return out, nil
}
