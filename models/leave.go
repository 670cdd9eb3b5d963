package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Leave request statuses.
const (
	LeaveActive    = "active"
	LeaveCancelled = "cancelled"
)

// LeaveRequest is a guardian's request that a child miss the sessions of
// whole days From…To (dates, inclusive), of the offerings in OfferingIDs
// (JSON array; empty means every offering).
type LeaveRequest struct {
	ID          int64      `gorm:"primaryKey"`
	StudentID   int64      `gorm:"column:student_id"`
	SchoolID    int64      `gorm:"column:school_id"`
	From        string     `gorm:"column:from_date"`
	To          string     `gorm:"column:to_date"`
	OfferingIDs string     `gorm:"column:offering_ids"`
	Reason      string     `gorm:"column:reason"`
	Status      string     `gorm:"column:status"`
	FiledBy     *int64     `gorm:"column:filed_by"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	CancelledAt *time.Time `gorm:"column:cancelled_at"`
}

// TableName maps LeaveRequest to the leave_requests table.
func (LeaveRequest) TableName() string { return "leave_requests" }

// Offerings returns the offerings the request names (empty: all).
func (l LeaveRequest) Offerings() []int64 {
	var out []int64
	_ = json.Unmarshal([]byte(l.OfferingIDs), &out)
	if out == nil {
		out = []int64{}
	}
	return out
}

// Covers reports whether l covers offering offeringID on date.
func (l LeaveRequest) Covers(offeringID int64, date string) bool {
	if l.Status != LeaveActive || date < l.From || date > l.To {
		return false
	}
	ids := l.Offerings()
	return len(ids) == 0 || slices.Contains(ids, offeringID)
}

// coveringLeaves maps each of students covered on date for offeringID to
// the (earliest filed) active leave request covering it, in one query.
func coveringLeaves(tx *gorm.DB, students []int64, date string, offeringID int64) (map[int64]LeaveRequest, error) {
	out := map[int64]LeaveRequest{}
	if len(students) == 0 {
		return out, nil
	}
	var ls []LeaveRequest
	if err := tx.Where("student_id IN ? AND status = ? AND from_date <= ? AND to_date >= ?",
		students, LeaveActive, date, date).Order("id").Find(&ls).Error; err != nil {
		return nil, err
	}
	for _, l := range ls {
		if _, seen := out[l.StudentID]; !seen && l.Covers(offeringID, date) {
			out[l.StudentID] = l
		}
	}
	return out, nil
}

// NewLeaveRequest is the input of CreateLeaveRequest.
type NewLeaveRequest struct {
	From        string
	To          string
	OfferingIDs []int64
	Reason      string
}

// MaxLeaveDays bounds one leave request's span.
const MaxLeaveDays = 92

// CreateLeaveRequest files a leave request for studentID by a, who must be
// a guardian linked to the child (staff get ErrForbidden; anyone else
// ErrNotFound). The days run from today (Asia/Shanghai, at now) on; the
// offerings named must be the school's.
func CreateLeaveRequest(ctx context.Context, db *DB, a Actor, studentID int64, in NewLeaveRequest, now time.Time) (LeaveRequest, error) {
	st, err := FindStudentFor(ctx, db, a, studentID)
	if err != nil {
		return LeaveRequest{}, err
	}
	if a.Role != RoleParent {
		return LeaveRequest{}, ErrForbidden
	}
	in.Reason = strings.TrimSpace(in.Reason)
	var v Validator
	v.Check(validDate(in.From), "from", "开始日期须为 YYYY-MM-DD")
	v.Check(validDate(in.To), "to", "结束日期须为 YYYY-MM-DD")
	if validDate(in.From) && validDate(in.To) {
		v.Check(in.To >= in.From, "to", "结束日期不能早于开始日期")
		v.Check(in.From >= LocalDate(now), "from", "不能为已过去的日期请假")
		f, _ := time.Parse(time.DateOnly, in.From)
		t, _ := time.Parse(time.DateOnly, in.To)
		v.Check(t.Sub(f) < MaxLeaveDays*24*time.Hour, "to", fmt.Sprintf("一次请假最多%d天", MaxLeaveDays))
	}
	v.Check(in.Reason != "" && len([]rune(in.Reason)) <= MaxReasonLen, "reason", fmt.Sprintf("请假原因必填，最多%d个字", MaxReasonLen))
	v.Check(len(in.OfferingIDs) <= 20, "offering_ids", "最多指定20个项目")
	ids := slices.Clone(in.OfferingIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 && len(ids) <= 20 {
		var n int64
		if err := db.Read(ctx).Raw("SELECT COUNT(*) FROM offerings WHERE id IN ? AND school_id = ?", ids, st.SchoolID).
			Scan(&n).Error; err != nil {
			return LeaveRequest{}, err
		}
		v.Check(n == int64(len(ids)), "offering_ids", "项目不存在或不属于该学生的学校")
	}
	if err := v.Err(); err != nil {
		return LeaveRequest{}, err
	}
	if ids == nil {
		ids = []int64{}
	}
	b, _ := json.Marshal(ids)
	l := LeaveRequest{StudentID: st.ID, SchoolID: st.SchoolID, From: in.From, To: in.To, OfferingIDs: string(b),
		Reason: in.Reason, Status: LeaveActive, FiledBy: &a.UserID, CreatedAt: now.UTC()}
	err = db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&l).Error })
	return l, err
}

// FindLeaveRequests lists studentID's leave requests, newest first, for a
// linked guardian or the school's staff (FindStudentFor): limit of them
// (plus one when there are more) with ids below before (0: the newest).
func FindLeaveRequests(ctx context.Context, db *DB, a Actor, studentID, before int64, limit int) ([]LeaveRequest, error) {
	if _, err := FindStudentFor(ctx, db, a, studentID); err != nil {
		return nil, err
	}
	q := db.Read(ctx).Where("student_id = ?", studentID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	out := []LeaveRequest{}
	err := q.Order("id DESC").Limit(limit + 1).Find(&out).Error
	return out, err
}

// CancelLeaveRequest withdraws leave request id, by the guardian who filed
// it (anyone else: ErrNotFound), before the first session it covers starts
// (ErrLeaveStarted after).
func CancelLeaveRequest(ctx context.Context, db *DB, a Actor, id int64, now time.Time) (LeaveRequest, error) {
	var l LeaveRequest
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&l).Error; err != nil {
			return notFound(err)
		}
		if l.FiledBy == nil || *l.FiledBy != a.UserID {
			return ErrNotFound
		}
		if l.Status != LeaveActive {
			return ErrLeaveCancelled
		}
		first, ok, err := firstCoveredSession(tx, l)
		if err != nil {
			return err
		}
		if ok && !now.Before(first.StartsAt()) {
			return ErrLeaveStarted
		}
		t := now.UTC()
		l.Status, l.CancelledAt = LeaveCancelled, &t
		return tx.Exec("UPDATE leave_requests SET status = ?, cancelled_at = ? WHERE id = ?", l.Status, t, id).Error
	})
	return l, err
}

// firstCoveredSession finds the earliest scheduled session l covers: of
// an offering the child is enrolled in, on a date of l.
func firstCoveredSession(tx *gorm.DB, l LeaveRequest) (Session, bool, error) {
	q := `SELECT s.* FROM sessions s JOIN enrollments e ON e.offering_id = s.offering_id
		WHERE e.student_id = ? AND e.status = ? AND s.status = ? AND s.session_date >= ? AND s.session_date <= ?`
	args := []any{l.StudentID, StatusEnrolled, SessionScheduled, l.From, l.To}
	if ids := l.Offerings(); len(ids) > 0 {
		q += " AND s.offering_id IN ?"
		args = append(args, ids)
	}
	var out []Session
	if err := tx.Raw(q+" ORDER BY s.session_date, s.start_min LIMIT 1", args...).Scan(&out).Error; err != nil {
		return Session{}, false, err
	}
	if len(out) == 0 {
		return Session{}, false, nil
	}
	return out[0], true, nil
}
