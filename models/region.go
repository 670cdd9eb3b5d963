package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Region is a node of the administrative tree (province › city › county).
type Region struct {
	ID        int64     `gorm:"primaryKey"`
	ParentID  *int64    `gorm:"column:parent_id"`
	Name      string    `gorm:"column:name"`
	Code      string    `gorm:"column:code"`
	Path      string    `gorm:"column:path"`
	Level     int       `gorm:"column:level"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// NewRegion is the input of CreateRegion.
type NewRegion struct {
	Name     string
	Code     string
	ParentID *int64
}

// CreateRegion creates a region under ParentID (or a root). Only a platform
// admin creates regions.
func CreateRegion(ctx context.Context, db *DB, a Actor, in NewRegion) (Region, error) {
	if a.Role != RolePlatformAdmin {
		return Region{}, ErrForbidden
	}
	var v Validator
	in.Name, in.Code = strings.TrimSpace(in.Name), strings.TrimSpace(in.Code)
	v.Check(in.Name != "" && len([]rune(in.Name)) <= 64, "name", "名称必填，最多64个字符")
	v.Check(in.Code != "" && len(in.Code) <= 32, "code", "编码必填，最多32个字符")
	if err := v.Err(); err != nil {
		return Region{}, err
	}
	r := Region{Name: in.Name, Code: in.Code, ParentID: in.ParentID, Level: 1}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		parentPath := "/"
		if in.ParentID != nil {
			var p Region
			if err := tx.First(&p, *in.ParentID).Error; err != nil {
				if errors.Is(err, gorm.ErrRecordNotFound) {
					return &ValidationError{Fields: map[string]string{"parent_id": "上级行政区不存在"}}
				}
				return err
			}
			parentPath, r.Level = p.Path, p.Level+1
		}
		if err := tx.Create(&r).Error; err != nil {
			if isUniqueViolation(err) {
				return ErrCodeTaken
			}
			return err
		}
		r.Path = pathFor(parentPath, r.ID)
		return tx.Model(&r).Update("path", r.Path).Error
	})
	return r, err
}

// FindRegionByID loads one region.
func FindRegionByID(ctx context.Context, db *DB, id int64) (Region, error) {
	var r Region
	err := db.Read(ctx).First(&r, id).Error
	return r, notFound(err)
}

// FindRegionByCode loads the region with code, or ErrNotFound.
func FindRegionByCode(ctx context.Context, db *DB, code string) (Region, error) {
	var r Region
	err := db.Read(ctx).Where("code = ?", code).First(&r).Error
	return r, notFound(err)
}
