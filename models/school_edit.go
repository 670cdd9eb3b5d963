package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// School statuses.
const (
	SchoolActive = "active"
	SchoolClosed = "closed"
)

// ErrSchoolNameTaken: a region has one school of a name.
var ErrSchoolNameTaken = E(KindConflict, "school_name_taken", "该行政区已有同名学校")

// schoolTaken answers ErrSchoolNameTaken or ErrCodeTaken when another
// school than id holds name in regionID or holds code; nil when neither.
func schoolTaken(tx *gorm.DB, id, regionID int64, name string, code *string) error {
	var n int64
	if err := tx.Raw("SELECT COUNT(*) FROM schools WHERE region_id = ? AND name = ? AND id <> ?", regionID, name, id).
		Scan(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return ErrSchoolNameTaken
	}
	if code != nil {
		if err := tx.Raw("SELECT COUNT(*) FROM schools WHERE code = ? AND id <> ?", *code, id).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrCodeTaken
		}
	}
	return nil
}

// whichTaken names the unique rule a write of s (school id, 0 for a new
// one) broke, after the database refused it.
func whichTaken(ctx context.Context, db *DB, id int64, s School) error {
	if err := schoolTaken(db.W.WithContext(ctx), id, s.RegionID, s.Name, s.Code); err != nil {
		return err
	}
	return ErrConflict
}

// UpdateSchool is the input of PatchSchool: nil fields stay as they are.
// Code "" removes the code; Status is active or closed.
type UpdateSchool struct {
	Name   *string
	Code   *string
	Status *string
}

// PatchSchool renames a school, changes its code, or closes (or reopens)
// it: a bureau admin of a region above it, or a platform admin. A closed
// school leaves the statistics computed from then on (its snapshots, and
// every record, stay). Other staff in scope get ErrForbidden, anyone else
// ErrNotFound.
func PatchSchool(ctx context.Context, db *DB, a Actor, id int64, in UpdateSchool, now time.Time) (School, error) {
	s, err := FindSchoolInScope(ctx, db, a, id)
	if err != nil {
		return School{}, err
	}
	if a.Role != RoleBureauAdmin && a.Role != RolePlatformAdmin {
		return School{}, ErrForbidden
	}
	var v Validator
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(ValidName(name, 100), "name", "学校名称必填，最多100个字符，不能含控制字符或不可见字符")
		s.Name = name
	}
	if in.Code != nil {
		c := strings.TrimSpace(*in.Code)
		v.Check(len(c) <= 32, "code", "编码最多32个字符")
		s.Code = &c
		if c == "" {
			s.Code = nil
		}
	}
	if in.Status != nil {
		st := strings.TrimSpace(*in.Status)
		v.Check(st == SchoolActive || st == SchoolClosed, "status", "状态须为 active（开办）或 closed（已关闭）")
		if st == SchoolClosed && s.Status != SchoolClosed {
			t := now.UTC()
			s.ClosedAt = &t
		}
		if st == SchoolActive {
			s.ClosedAt = nil
		}
		s.Status = st
	}
	if err := v.Err(); err != nil {
		return School{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if err := schoolTaken(tx, s.ID, s.RegionID, s.Name, s.Code); err != nil {
			return err
		}
		return tx.Model(&School{}).Where("id = ?", s.ID).Updates(map[string]any{
			"name": s.Name, "code": s.Code, "status": s.Status, "closed_at": s.ClosedAt}).Error
	})
	if isUniqueViolation(err) {
		return School{}, whichTaken(ctx, db, s.ID, s)
	}
	return s, err
}
