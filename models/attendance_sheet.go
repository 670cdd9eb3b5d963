package models

import (
	"context"
	"fmt"
	"time"
)

// AttendanceSheet is a month of an offering's rolls as schools print it:
// the children down, the sessions across, a mark in each cell.
type AttendanceSheet struct {
	Offering Offering
	Month    string // YYYY-MM
	Sessions []Session
	Students []SheetStudent
	// Marks maps (student id, session id) to the mark.
	Marks map[[2]int64]string
}

// SheetStudent is a row of the sheet.
type SheetStudent struct {
	ID        int64  `gorm:"column:id"`
	StudentNo string `gorm:"column:student_no"`
	Name      string `gorm:"column:name"`
	Grade     int    `gorm:"column:grade"`
	ClassName string `gorm:"column:class_name"`
}

// FindAttendanceSheet builds the sheet of offering id for month (YYYY-MM),
// for the offering's teacher or the school's admin (the roll's policy,
// CanTakeRoll). Its rows are the children enrolled now and every child with
// a mark in the month. The read is logged as staff access to children's
// data.
func FindAttendanceSheet(ctx context.Context, db *DB, a Actor, id int64, month string) (AttendanceSheet, error) {
	first, err := time.Parse("2006-01", month)
	if err != nil || first.Format("2006-01") != month {
		return AttendanceSheet{}, &ValidationError{Fields: map[string]string{"month": "月份须为 YYYY-MM"}}
	}
	o, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return AttendanceSheet{}, err
	}
	if err := CanTakeRoll(a, SessionView{Session: Session{SchoolID: o.SchoolID}, TeacherUserID: o.TeacherUserID}); err != nil {
		return AttendanceSheet{}, err
	}
	from, to := month+"-01", first.AddDate(0, 1, -1).Format(time.DateOnly)
	r := db.Read(ctx)
	sh := AttendanceSheet{Offering: o, Month: month, Marks: map[[2]int64]string{}}
	if err := r.Where("offering_id = ? AND session_date >= ? AND session_date <= ?", id, from, to).
		Order("session_date").Find(&sh.Sessions).Error; err != nil {
		return AttendanceSheet{}, err
	}
	if err := r.Raw(`SELECT id, student_no, name, grade, class_name FROM students WHERE id IN (
			SELECT student_id FROM enrollments WHERE offering_id = ? AND status = ?
			UNION SELECT student_id FROM attendance WHERE offering_id = ? AND session_date >= ? AND session_date <= ?)
		ORDER BY grade, class_name, student_no, id`, id, StatusEnrolled, id, from, to).Scan(&sh.Students).Error; err != nil {
		return AttendanceSheet{}, err
	}
	var marks []struct {
		StudentID int64  `gorm:"column:student_id"`
		SessionID int64  `gorm:"column:session_id"`
		Status    string `gorm:"column:status"`
	}
	if err := r.Raw(`SELECT a.student_id, s.id AS session_id, a.status FROM attendance a
		JOIN sessions s ON s.offering_id = a.offering_id AND s.session_date = a.session_date
		WHERE a.offering_id = ? AND a.session_date >= ? AND a.session_date <= ?`, id, from, to).Scan(&marks).Error; err != nil {
		return AttendanceSheet{}, err
	}
	for _, m := range marks {
		sh.Marks[[2]int64{m.StudentID, m.SessionID}] = m.Status
	}
	LogStaffAccess(ctx, db, a, "attendance_sheet", sh.Offering.SchoolID, fmt.Sprintf("offering:%d:%s", id, month))
	return sh, nil
}
