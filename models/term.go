package models

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Term is a school's term: its dates, the most clubs a student may hold, and
// the days without service.
type Term struct {
	ID            int64     `gorm:"primaryKey"`
	SchoolID      int64     `gorm:"column:school_id"`
	Name          string    `gorm:"column:name"`
	StartsOn      string    `gorm:"column:starts_on"`
	EndsOn        string    `gorm:"column:ends_on"`
	MaxClubs      int       `gorm:"column:max_clubs"`
	NoServiceDays string    `gorm:"column:no_service_days"` // JSON array of dates
	ExtraDays     string    `gorm:"column:extra_days"`      // JSON array of ExtraDay (calendar.go)
	CreatedAt     time.Time `gorm:"column:created_at"`
}

// NoService returns the term's no-service days.
func (t Term) NoService() []string {
	var out []string
	_ = json.Unmarshal([]byte(t.NoServiceDays), &out)
	if out == nil {
		out = []string{}
	}
	return out
}

// NewTerm is the input of CreateTerm.
type NewTerm struct {
	Name          string
	StartsOn      string
	EndsOn        string
	MaxClubs      *int
	NoServiceDays []string
	ExtraDays     []ExtraDay
}

// Validate answers a *ValidationError unless in is a valid term: a name,
// dates in order, max_clubs in range and a calendar inside the term. It
// reads nothing, so the demo can check a term for every day of a year.
func (in NewTerm) Validate() error {
	var v Validator
	v.Check(in.Name != "" && len([]rune(in.Name)) <= 50, "name", "学期名称必填，最多50个字符")
	checkTermDates(&v, in.StartsOn, in.EndsOn, in.MaxClubs)
	checkCalendar(&v, in.StartsOn, in.EndsOn, in.NoServiceDays, in.ExtraDays)
	return v.Err()
}

// MaxClubsLimit bounds a term's max_clubs.
const MaxClubsLimit = 10

func validDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// CreateTerm creates a term of schoolID (its school admin, or a platform
// admin; other staff in scope get ErrForbidden, everyone else ErrNotFound).
func CreateTerm(ctx context.Context, db *DB, a Actor, schoolID int64, in NewTerm) (Term, error) {
	if err := requireManage(ctx, db, a, schoolID); err != nil {
		return Term{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := in.Validate(); err != nil {
		return Term{}, err
	}
	days, extra := calendarJSON(in.NoServiceDays, in.ExtraDays)
	t := Term{SchoolID: schoolID, Name: in.Name, StartsOn: in.StartsOn, EndsOn: in.EndsOn,
		MaxClubs: *in.MaxClubs, NoServiceDays: days, ExtraDays: extra}
	err := db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&t).Error })
	return t, err
}

// FindTermByID loads one term, with no scope check.
func FindTermByID(ctx context.Context, db *DB, id int64) (Term, error) {
	var t Term
	err := db.Read(ctx).First(&t, id).Error
	return t, notFound(err)
}

// FindTerms lists the terms of schoolID for its staff in scope and for
// parents with a child there; anyone else gets ErrNotFound.
func FindTerms(ctx context.Context, db *DB, a Actor, schoolID int64) ([]Term, error) {
	if _, err := canSeeSchoolOfferings(ctx, db, a, schoolID); err != nil {
		return nil, err
	}
	var out []Term
	err := db.Read(ctx).Where("school_id = ?", schoolID).Order("starts_on DESC, id DESC").Find(&out).Error
	return out, err
}

// requireManage checks that a may manage schoolID: its admin or a platform
// admin. Staff who can see the school but not manage it get ErrForbidden;
// anyone else ErrNotFound (the school is not theirs to know about).
func requireManage(ctx context.Context, db *DB, a Actor, schoolID int64) error {
	if a.Role == RoleParent {
		return ErrForbidden
	}
	s, err := FindSchoolInScope(ctx, db, a, schoolID)
	if err != nil {
		return err
	}
	if !a.CanManageSchool(s.ID) {
		return ErrForbidden
	}
	return nil
}

// canSeeSchoolOfferings reports whether a may see the offerings of schoolID
// and whether as staff (all statuses) or as a parent (published and closed
// only). Anyone else gets ErrNotFound.
func canSeeSchoolOfferings(ctx context.Context, db *DB, a Actor, schoolID int64) (staff bool, err error) {
	if a.Role == RoleParent {
		ok, err := ParentHasChildInSchool(ctx, db, a.UserID, schoolID)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, ErrNotFound
		}
		return false, nil
	}
	if _, err := FindSchoolInScope(ctx, db, a, schoolID); err != nil {
		return false, err
	}
	return true, nil
}
