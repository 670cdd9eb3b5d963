package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A child's attendance by month, as the parents' mini-program shows it
// (SPEC "Parents see their child's attendance"): every session of the
// month the child is on the roll of — by the roll's own rule, rollStudents
// — with its mark, the leave covering it and how the child left.

// StudentSession is one session of a child's month.
type StudentSession struct {
	SessionID     int64
	Date          string
	OfferingID    int64
	OfferingName  string
	StartMin      int
	EndMin        int
	SessionStatus string
	// Status is the mark, or "leave" when unmarked and covered by leave,
	// or nil (not marked yet, or cancelled).
	Status      *string
	Marked      bool
	Leave       *LeaveRequest
	DismissedBy string
	DismissedAt *time.Time
}

// FindStudentAttendance answers the sessions of month (YYYY-MM) of
// studentID for a: a linked guardian, the school's admins, a platform
// admin, or a teacher for a child on their own rolls (CanSeeLeave: the
// answer carries leave reasons). Anyone else gets ErrNotFound. A session
// is the child's when the child was enrolled in its offering before its
// day ended, or has a mark on it (as on the roll). A staff read is
// written to the staff access log.
func FindStudentAttendance(ctx context.Context, db *DB, a Actor, studentID int64, month string) ([]StudentSession, error) {
	first, err := time.Parse("2006-01", month)
	if err != nil || first.Format("2006-01") != month {
		return nil, &ValidationError{Fields: map[string]string{"month": "月份须为 YYYY-MM"}}
	}
	st, err := FindStudentFor(ctx, db, a, studentID)
	if err != nil {
		return nil, err
	}
	if err := CanSeeLeave(ctx, db, a, st); err != nil {
		return nil, err
	}
	from, to := month+"-01", first.AddDate(0, 1, -1).Format(time.DateOnly)
	r := db.Read(ctx)
	type row struct {
		StudentSession
		Mark       sql.NullString
		EnrolledAt sql.NullTime
		DBy        sql.NullString
		DAt        sql.NullTime
	}
	var rows []row
	err = rawOf(r).each(`SELECT s.id, s.session_date, s.offering_id, o.name, s.start_min, s.end_min, s.status,
			a.status, e.updated_at, d.dismissed_by, d.dismissed_at
		FROM sessions s JOIN offerings o ON o.id = s.offering_id
		LEFT JOIN attendance a ON a.session_id = s.id AND a.student_id = ?
		LEFT JOIN enrollments e ON e.offering_id = s.offering_id AND e.student_id = ? AND e.status = ?
		LEFT JOIN dismissals d ON d.session_id = s.id AND d.student_id = ?
		WHERE s.school_id = ? AND s.session_date >= ? AND s.session_date <= ? AND (a.id IS NOT NULL OR e.id IS NOT NULL)
		ORDER BY s.session_date, s.start_min, s.offering_id`,
		[]any{st.ID, st.ID, StatusEnrolled, st.ID, st.SchoolID, from, to}, func(q *sql.Rows) error {
			var x row
			if err := q.Scan(&x.SessionID, &x.Date, &x.OfferingID, &x.OfferingName, &x.StartMin, &x.EndMin, &x.SessionStatus,
				&x.Mark, &x.EnrolledAt, &x.DBy, &x.DAt); err != nil {
				return err
			}
			rows = append(rows, x)
			return nil
		})
	if err != nil {
		return nil, err
	}
	var leaves []LeaveRequest
	if err := r.Where("student_id = ? AND status = ? AND from_date <= ? AND to_date >= ?", st.ID, LeaveActive, to, from).
		Order("id").Find(&leaves).Error; err != nil {
		return nil, err
	}
	out := make([]StudentSession, 0, len(rows))
	for _, x := range rows {
		// Enrolled after the session's day: not on that roll (rollStudents).
		if !x.Mark.Valid && !x.EnrolledAt.Time.Before(at(x.Date, 24*60)) {
			continue
		}
		s := x.StudentSession
		for i := range leaves {
			if leaves[i].Covers(s.OfferingID, s.Date) {
				s.Leave = &leaves[i]
				break
			}
		}
		switch {
		case x.Mark.Valid:
			s.Status, s.Marked = &x.Mark.String, true
		case s.Leave != nil && s.SessionStatus == SessionScheduled:
			s.Status = ptrTo(MarkLeave)
		}
		if x.DBy.Valid {
			s.DismissedBy = x.DBy.String
			t := x.DAt.Time.UTC()
			s.DismissedAt = &t
		}
		out = append(out, s)
	}
	LogStaffAccess(ctx, db, a, "student_attendance", st.SchoolID, fmt.Sprintf("student:%d month:%s", st.ID, month))
	return out, nil
}
