package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Deletion of a child's data on a guardian's request (PIPL art. 47): the
// guardian asks, the school confirms, and ConfirmDeletion erases in one
// transaction what names or describes the child or links it to a person —
// name, student number, gender, guardians, links, binding codes, messages,
// leave reasons, correction reasons, survey comments, the request's own
// reason — while the rows the statistics count (enrollments, attendance,
// survey answers) stay, pointing at the erased student and, where they
// named a guardian, at the erased guardian (one disabled account). The
// table-by-table list is ErasureRules (erasure.go). The student is made
// inactive, so it leaves the figures from then on; the past figures
// (snapshots) are not rewritten.

// Deletion request statuses.
const (
	DeletionPending = "pending"
	DeletionDone    = "done"
)

// ErasedName is the name an erased student carries.
const ErasedName = "已删除"

// Errors of deletion requests.
var (
	ErrDeletionPending    = E(KindConflict, "deletion_pending", "该学生已有待学校确认的删除申请")
	ErrDeletionNotPending = E(KindConflict, "deletion_not_pending", "该删除申请已处理")
)

// DeletionRequest is a guardian's request to delete a child's data.
type DeletionRequest struct {
	ID          int64      `gorm:"primaryKey"`
	StudentID   int64      `gorm:"column:student_id"`
	SchoolID    int64      `gorm:"column:school_id"`
	RequestedBy int64      `gorm:"column:requested_by"`
	Reason      string     `gorm:"column:reason"`
	Status      string     `gorm:"column:status"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	DecidedBy   *int64     `gorm:"column:decided_by"`
	DecidedAt   *time.Time `gorm:"column:decided_at"`
}

// TableName is deletion_requests.
func (DeletionRequest) TableName() string { return "deletion_requests" }

// RequestDeletion records parent a's request to delete the data of linked
// child id. A child not linked to a is ErrNotFound; a request already
// pending is ErrDeletionPending.
func RequestDeletion(ctx context.Context, db *DB, a Actor, id int64, reason string, now time.Time) (DeletionRequest, error) {
	if a.Role != RoleParent {
		return DeletionRequest{}, ErrForbidden
	}
	reason = strings.TrimSpace(reason)
	var v Validator
	v.Check(len([]rune(reason)) <= 200 && PlainText(reason), "reason", "原因最多200个字符，不含控制字符")
	if err := v.Err(); err != nil {
		return DeletionRequest{}, err
	}
	var r DeletionRequest
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		ok, err := ParentOf(ctx, tx, a.UserID, id)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		var st Student
		if err := tx.First(&st, id).Error; err != nil {
			return notFound(err)
		}
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM deletion_requests WHERE student_id = ? AND status = ?", id, DeletionPending).
			Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrDeletionPending
		}
		r = DeletionRequest{StudentID: id, SchoolID: st.SchoolID, RequestedBy: a.UserID, Reason: reason,
			Status: DeletionPending, CreatedAt: now.UTC()}
		return tx.Create(&r).Error
	})
	if err != nil && isUniqueViolation(err) {
		return DeletionRequest{}, ErrDeletionPending
	}
	return r, err
}

// FindDeletionRequests lists the deletion requests of schoolID with
// status (all when empty) after id `after`, at most limit, for its school
// admin or a platform admin; others get ErrNotFound.
func FindDeletionRequests(ctx context.Context, db *DB, a Actor, schoolID int64, status string, after int64, limit int) ([]DeletionRequest, error) {
	if a.Role != RolePlatformAdmin && (a.Role != RoleSchoolAdmin || a.SchoolID != schoolID) {
		return nil, ErrNotFound
	}
	q := db.Read(ctx).Where("school_id = ? AND id > ?", schoolID, after)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []DeletionRequest
	err := q.Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// ConfirmDeletion carries out pending deletion request id for a school
// admin of its school (or a platform admin): the child's live enrollments
// are withdrawn, then its data erased. Another school's request is
// ErrNotFound, one already carried out ErrDeletionNotPending.
func ConfirmDeletion(ctx context.Context, db *DB, a Actor, id int64, now time.Time) (DeletionRequest, error) {
	defer db.linksChanged()
	now = now.UTC()
	var r DeletionRequest
	if err := db.Read(ctx).First(&r, id).Error; err != nil {
		return DeletionRequest{}, notFound(err)
	}
	if a.Role != RolePlatformAdmin && (a.Role != RoleSchoolAdmin || a.SchoolID != r.SchoolID) {
		return DeletionRequest{}, ErrNotFound
	}
	if r.Status != DeletionPending {
		return DeletionRequest{}, ErrDeletionNotPending
	}
	// The child leaves the service: its live enrollments are withdrawn
	// the usual way first, so their seats go to the waitlists (and those
	// families are told) before the child is erased.
	var live []int64
	if err := db.W.WithContext(ctx).Raw("SELECT id FROM enrollments WHERE student_id = ? AND status IN ? ORDER BY id",
		r.StudentID, liveStatuses).Scan(&live).Error; err != nil {
		return DeletionRequest{}, err
	}
	for _, e := range live {
		if _, err := Withdraw(ctx, db, a, e); err != nil && !errors.Is(err, ErrNotFound) {
			return DeletionRequest{}, err
		}
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&r, id).Error; err != nil {
			return notFound(err)
		}
		if a.Role != RolePlatformAdmin && (a.Role != RoleSchoolAdmin || a.SchoolID != r.SchoolID) {
			return ErrNotFound
		}
		res := tx.Model(&DeletionRequest{}).Where("id = ? AND status = ?", id, DeletionPending).
			Updates(map[string]any{"status": DeletionDone, "decided_by": a.UserID, "decided_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrDeletionNotPending
		}
		if err := eraseStudent(tx, r.StudentID, now); err != nil {
			return err
		}
		return tx.First(&r, id).Error
	})
	if err != nil {
		return DeletionRequest{}, err
	}
	LogStaffAccess(ctx, db, a, "confirm_deletion", r.SchoolID, fmt.Sprintf("student:%d request:%d", r.StudentID, r.ID))
	return r, nil
}
