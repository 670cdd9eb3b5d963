package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// School is a school in one region. A closed school (Status SchoolClosed)
// leaves the statistics; its records stay.
type School struct {
	ID        int64      `gorm:"primaryKey"`
	RegionID  int64      `gorm:"column:region_id"`
	Name      string     `gorm:"column:name"`
	Code      *string    `gorm:"column:code"`
	Status    string     `gorm:"column:status;default:active"`
	ClosedAt  *time.Time `gorm:"column:closed_at"`
	CreatedAt time.Time  `gorm:"column:created_at"`
}

// NewSchool is the input of CreateSchool.
type NewSchool struct {
	Name     string
	RegionID int64
	Code     *string
}

// CreateSchool creates a school in a region within a's scope (platform admin,
// or a bureau admin for its subtree).
func CreateSchool(ctx context.Context, db *DB, a Actor, in NewSchool) (School, error) {
	if a.Role != RolePlatformAdmin && a.Role != RoleBureauAdmin {
		return School{}, ErrForbidden
	}
	var v Validator
	in.Name = strings.TrimSpace(in.Name)
	v.Check(ValidName(in.Name, 100), "name", "学校名称必填，最多100个字符，不能含控制字符或不可见字符")
	v.Check(in.RegionID > 0, "region_id", "行政区必填")
	if in.Code != nil {
		c := strings.TrimSpace(*in.Code)
		v.Check(c != "" && len(c) <= 32, "code", "编码最多32个字符")
		in.Code = &c
	}
	if err := v.Err(); err != nil {
		return School{}, err
	}
	ok, err := RegionInScope(ctx, db, a, in.RegionID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return School{}, err
	}
	if !ok {
		return School{}, &ValidationError{Fields: map[string]string{"region_id": "行政区不存在"}}
	}
	s := School{Name: in.Name, RegionID: in.RegionID, Code: in.Code, Status: SchoolActive}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if err := schoolTaken(tx, 0, s.RegionID, s.Name, s.Code); err != nil {
			return err
		}
		return tx.Create(&s).Error
	})
	if isUniqueViolation(err) {
		// A concurrent create took the name or the code: say which.
		return School{}, whichTaken(ctx, db, 0, s)
	}
	return s, err
}

// FindSchoolByID loads one school, with no scope check.
func FindSchoolByID(ctx context.Context, db *DB, id int64) (School, error) {
	var s School
	err := db.Read(ctx).First(&s, id).Error
	return s, notFound(err)
}

// FindSchoolByCode loads the school with code, or ErrNotFound.
func FindSchoolByCode(ctx context.Context, db *DB, code string) (School, error) {
	var s School
	err := db.Read(ctx).Where("code = ?", code).First(&s).Error
	return s, notFound(err)
}
