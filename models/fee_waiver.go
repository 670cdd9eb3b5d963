package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Hardship waivers (困难家庭减免). A student's waiver is applied when an
// order is made, never to an order already made.
const (
	WaiverNone = "none"
	WaiverHalf = "half"
	WaiverFull = "full"
)

// The reasons a waiver is granted for.
const (
	WaiverPovertyRegistered = "poverty_registered" // 建档立卡
	WaiverDibao             = "dibao"              // 低保
	WaiverDisability        = "disability"
	WaiverOther             = "other"
)

// WaiverRule is the waiver rule as the public fee list states it.
const WaiverRule = "建档立卡、低保、残疾等困难家庭学生经学校审核可减半或全免；减免在下单时按学生当时的减免资格计算，不追溯已缴费的订单。减半时应缴金额向下取整到分。"

// ValidWaiver reports whether w is a waiver level.
func ValidWaiver(w string) bool { return w == WaiverNone || w == WaiverHalf || w == WaiverFull }

// ValidWaiverReason reports whether r is a waiver reason.
func ValidWaiverReason(r string) bool {
	return r == WaiverPovertyRegistered || r == WaiverDibao || r == WaiverDisability || r == WaiverOther
}

// WaiverFen is the part of gross a waiver level takes off: all of it
// (full), the larger half (half: the family pays gross/2 rounded down), or
// nothing.
func WaiverFen(waiver string, gross int64) int64 {
	switch waiver {
	case WaiverFull:
		return gross
	case WaiverHalf:
		return gross - mulDivDown(gross, 1, 2)
	}
	return 0
}

// StudentWaiver is a student's waiver as PATCH /students/{id} answers it.
type StudentWaiver struct {
	StudentID    int64
	SchoolID     int64
	FeeWaiver    string
	WaiverReason string
}

// SetStudentWaiver sets student id's fee waiver (the school admin of its
// school, or a platform admin), recording who changed it, when, from what
// and to what. A waiver other than none needs a reason; none clears it.
func SetStudentWaiver(ctx context.Context, db *DB, a Actor, id int64, waiver, reason string) (StudentWaiver, error) {
	st, err := FindStudentByID(ctx, db, id)
	if err != nil {
		return StudentWaiver{}, err
	}
	if a.Role != RolePlatformAdmin && !(a.Role == RoleSchoolAdmin && a.SchoolID == st.SchoolID) {
		if a.IsSchoolStaff(st.SchoolID) {
			return StudentWaiver{}, ErrForbidden
		}
		return StudentWaiver{}, ErrNotFound
	}
	var v Validator
	v.Check(ValidWaiver(waiver), "fee_waiver", "减免须为 none、half 或 full")
	if waiver == WaiverNone {
		v.Check(reason == "", "waiver_reason", "不减免时不填原因")
	} else {
		v.Check(ValidWaiverReason(reason), "waiver_reason", "减免原因须为 poverty_registered、dibao、disability 或 other")
	}
	if err := v.Err(); err != nil {
		return StudentWaiver{}, err
	}
	out := StudentWaiver{StudentID: id, SchoolID: st.SchoolID, FeeWaiver: waiver, WaiverReason: reason}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		return setWaiverTx(tx, a.UserID, st.SchoolID, id, waiver, reason, WaiverSourceAPI, db.now())
	})
	return out, err
}

// Where a waiver change came from (waiver_changes.source).
const (
	WaiverSourceAPI    = "api"    // PATCH /students/{id}
	WaiverSourceRoster = "roster" // the roster's fee_waiver column
)

// setWaiverTx sets a waiver inside tx and records the change (nothing when
// nothing changes). source is WaiverSourceAPI or WaiverSourceRoster.
func setWaiverTx(tx *gorm.DB, by, schoolID, id int64, waiver, reason, source string, now time.Time) error {
	// Locked before it is read: two changes of one child's waiver at once
	// (two instances, the API beside an import) each record the waiver the
	// other left as their old one, not both the one before.
	if err := lockStudentRow(tx, id); err != nil {
		return err
	}
	var old struct{ FeeWaiver, WaiverReason string }
	if err := tx.Raw("SELECT fee_waiver, waiver_reason FROM students WHERE id = ?", id).Scan(&old).Error; err != nil {
		return err
	}
	if old.FeeWaiver == waiver && old.WaiverReason == reason {
		return nil
	}
	now = now.UTC()
	if err := tx.Exec("UPDATE students SET fee_waiver = ?, waiver_reason = ?, updated_at = ? WHERE id = ?",
		waiver, reason, now, id).Error; err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO waiver_changes (student_id, school_id, old_waiver, old_reason, new_waiver, new_reason, source, changed_by, changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, schoolID, old.FeeWaiver, old.WaiverReason, waiver, reason, source, nullID(by), now).Error
}

// WaiverChange is one entry of a student's waiver audit trail.
type WaiverChange struct {
	ID           int64     `gorm:"primaryKey"`
	StudentID    int64     `gorm:"column:student_id"`
	SchoolID     int64     `gorm:"column:school_id"`
	OldWaiver    string    `gorm:"column:old_waiver"`
	OldReason    string    `gorm:"column:old_reason"`
	NewWaiver    string    `gorm:"column:new_waiver"`
	NewReason    string    `gorm:"column:new_reason"`
	Source       string    `gorm:"column:source"`
	ChangedBy    *int64    `gorm:"column:changed_by"`
	ChangedAt    time.Time `gorm:"column:changed_at"`
	StudentLabel string    `gorm:"-"`
}

// TableName maps WaiverChange to waiver_changes.
func (WaiverChange) TableName() string { return "waiver_changes" }

// FindWaiverChanges lists student id's waiver changes, oldest first.
func FindWaiverChanges(ctx context.Context, db *DB, id int64) ([]WaiverChange, error) {
	var out []WaiverChange
	err := db.Read(ctx).Where("student_id = ?", id).Order("id").Find(&out).Error
	return out, err
}

// waiverOf reads student id's waiver inside tx.
func waiverOf(tx *gorm.DB, id int64) (string, error) {
	var w string
	if err := tx.Raw("SELECT fee_waiver FROM students WHERE id = ?", id).Scan(&w).Error; err != nil {
		return "", err
	}
	if w == "" {
		return "", fmt.Errorf("models: student %d has no waiver column", id)
	}
	return w, nil
}
