package models

import (
	"context"
	"fmt"
)

// The school's leave requests in one list (the console's 请假申请): what
// the school office reads each morning, without opening child after child.

// SchoolLeave is a leave request of a school's list, with its student.
type SchoolLeave struct {
	LeaveRequest
	StudentName string `gorm:"column:student_name"`
	StudentNo   string `gorm:"column:student_no"`
	Grade       int    `gorm:"column:grade"`
	ClassName   string `gorm:"column:class_name"`
}

// LeaveListFilter narrows a school's leave requests: Status (active or
// cancelled; "" both), the days (requests covering any day From…To; ""
// leaves that end open), and the page (ids below Before, at most Limit).
type LeaveListFilter struct {
	Status   string
	From, To string
	Before   int64
	Limit    int
}

// maxSchoolLeaves bounds one page of a school's leave requests.
const maxSchoolLeaves = 500

// FindSchoolLeaves lists schoolID's leave requests, newest first, narrowed
// by f, for its school admin or a platform admin (other staff of the
// school: ErrForbidden; teachers read a child's own through
// FindLeaveRequests, limited to their rolls; anyone else: ErrNotFound).
// The read is written to the staff access log: leave reasons are health
// data.
func FindSchoolLeaves(ctx context.Context, db *DB, a Actor, schoolID int64, f LeaveListFilter) ([]SchoolLeave, error) {
	// Who may read comes first: another school's admin gets 404 whatever
	// the filters say.
	if err := requireManage(ctx, db, a, schoolID); err != nil {
		return nil, err
	}
	var v Validator
	v.Check(f.Status == "" || f.Status == LeaveActive || f.Status == LeaveCancelled, "status", "status 须为 active 或 cancelled")
	v.Check(f.From == "" || validDate(f.From), "from", "from 须为日期 YYYY-MM-DD")
	v.Check(f.To == "" || validDate(f.To), "to", "to 须为日期 YYYY-MM-DD")
	v.Check(f.From == "" || f.To == "" || f.From <= f.To, "to", "to 不能早于 from")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > maxSchoolLeaves+1 {
		f.Limit = maxSchoolLeaves + 1
	}
	q := `SELECT l.*, s.name AS student_name, s.student_no, s.grade, s.class_name
		FROM leave_requests l JOIN students s ON s.id = l.student_id WHERE l.school_id = ?`
	args := []any{schoolID}
	if f.Status != "" {
		q += " AND l.status = ?"
		args = append(args, f.Status)
	}
	if f.From != "" {
		q += " AND l.to_date >= ?"
		args = append(args, f.From)
	}
	if f.To != "" {
		q += " AND l.from_date <= ?"
		args = append(args, f.To)
	}
	if f.Before > 0 {
		q += " AND l.id < ?"
		args = append(args, f.Before)
	}
	q += " ORDER BY l.id DESC LIMIT ?"
	args = append(args, f.Limit)
	out := []SchoolLeave{}
	if err := db.Read(ctx).Raw(q, args...).Scan(&out).Error; err != nil {
		return nil, err
	}
	LogStaffAccess(ctx, db, a, "school_leave_requests", schoolID, fmt.Sprintf("status=%s from=%s to=%s", f.Status, f.From, f.To))
	return out, nil
}
