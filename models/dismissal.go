package models

import (
	"context"
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

// DismissalRecord is one child's dismissal in a POST; At nil means now.
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

// RecordDismissal records how each child of records left session id, for a
// (CanTakeRoll), at now, under the roll's time rule (from the session's
// start; after its day only a school admin), and answers the session's
// dismissals. A child's first dismissal queues one "已离校" message to the
// guardians; recording it again corrects the record without a second
// message.
func RecordDismissal(ctx context.Context, db *DB, a Actor, id int64, records []DismissalRecord, now time.Time) ([]Dismissal, error) {
	var v Validator
	v.Check(len(records) > 0, "records", "records 不能为空")
	v.Check(len(records) <= MaxRollRecords, "records", fmt.Sprintf("一次最多提交%d条", MaxRollRecords))
	seen := map[int64]bool{}
	for i, r := range records {
		v.Check(ValidDismissal(r.By), fmt.Sprintf("records[%d].by", i), "离校方式须为 guardian、self、bus 或 other")
		v.Check(r.At == nil || !r.At.After(now.Add(5*time.Minute)), fmt.Sprintf("records[%d].at", i), "离校时间不能晚于现在")
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
	// Dismissal follows the roll's time rule; after the day an admin
	// records it without a reason (it changes no mark).
	if err := checkMarkWindow(a, s.Session, now, "dismissal"); err != nil {
		return nil, err
	}
	var out []Dismissal
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		cur, err := lockSession(tx, id)
		if err != nil {
			return err
		}
		if cur.Status == SessionCancelled {
			return ErrSessionCancelled
		}
		students, err := rollStudents(tx, cur)
		if err != nil {
			return err
		}
		byID := make(map[int64]rollStudent, len(students))
		for _, st := range students {
			byID[st.StudentID] = st
		}
		t := now.UTC()
		var sb strings.Builder
		sb.WriteString(`INSERT INTO dismissals (session_id, student_id, school_id, dismissed_by, dismissed_at, recorded_by,
			created_at) VALUES `)
		args := make([]any, 0, len(records)*7)
		for i, r := range records {
			if _, ok := byID[r.StudentID]; !ok {
				return notOnRoll(tx, cur.SchoolID, r.StudentID)
			}
			when := t
			if r.At != nil {
				when = r.At.UTC()
			}
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, id, r.StudentID, cur.SchoolID, r.By, when, a.UserID, t)
		}
		sb.WriteString(` ON CONFLICT (session_id, student_id) DO UPDATE SET dismissed_by = excluded.dismissed_by,
			dismissed_at = excluded.dismissed_at, recorded_by = excluded.recorded_by`)
		if _, err := rawOf(tx).exec(sb.String(), args...); err != nil {
			return err
		}
		for _, r := range records {
			when := t
			if r.At != nil {
				when = r.At.UTC()
			}
			st := byID[r.StudentID]
			if err := NotifyGuardians(tx, NotifyDismissal, r.StudentID,
				fmt.Sprintf("dismissal:session:%d:student:%d", id, r.StudentID),
				map[string]string{"student": st.Name, "offering": s.OfferingName, "status": "已离校",
					"note":       dismissalNote(when.In(StatsZone).Format("15:04"), r.By),
					"session_id": fmt.Sprint(id)}); err != nil {
				return err
			}
		}
		return tx.Raw(`SELECT d.*, st.name AS student_name FROM dismissals d JOIN students st ON st.id = d.student_id
			WHERE d.session_id = ? ORDER BY d.dismissed_at, d.id`, id).Scan(&out).Error
	})
	return out, err
}
