package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The rules of a term's dates and of the enrollment windows inside it.
//
// An offering's enrollment window must lie inside its term, with room for
// enrolling before the service starts (schools usually open enrollment in
// the weeks before a term): it may open at the earliest WindowLeadDays days
// before the term's first day (00:00 Asia/Shanghai) and must close by the
// end of the term's last day (24:00 Asia/Shanghai).
//
// A term may be edited (dates, max_clubs) until its first day; after that
// only its name. It may be deleted while no offering and no survey names it.

// WindowLeadDays is how long before its term an enrollment window may open.
const WindowLeadDays = 60

// Term errors.
var (
	ErrTermStarted      = E(KindConflict, "term_started", "学期已开始，只能修改名称")
	ErrTermHasOfferings = E(KindConflict, "term_has_offerings", "该学期已有项目，不能删除")
	ErrTermInUse        = E(KindConflict, "term_in_use", "该学期已被问卷引用，不能删除")
)

// dayStart is 00:00 Asia/Shanghai of date (YYYY-MM-DD).
func dayStart(date string) time.Time {
	t, _ := time.ParseInLocation(time.DateOnly, date, Zone)
	return t
}

// windowBounds is the earliest opening and the latest closing of an
// enrollment window of t.
func windowBounds(t Term) (earliest, latest time.Time) {
	start := dayStart(t.StartsOn)
	return start.AddDate(0, 0, -WindowLeadDays), dayStart(t.EndsOn).AddDate(0, 0, 1)
}

// checkWindowInTerm records a field error when the window opens..closes
// does not lie inside term t (see WindowLeadDays).
func checkWindowInTerm(v *Validator, opens, closes time.Time, t Term) {
	if opens.IsZero() || closes.IsZero() || !validDate(t.StartsOn) || !validDate(t.EndsOn) {
		return
	}
	earliest, latest := windowBounds(t)
	v.Check(!opens.Before(earliest), "enroll_opens_at",
		fmt.Sprintf("报名开始时间最早为学期开始前%d天（%s）", WindowLeadDays, earliest.Format(time.DateOnly)))
	v.Check(!closes.After(latest), "enroll_closes_at",
		fmt.Sprintf("报名截止时间不能晚于学期结束（%s）", t.EndsOn))
}

// termStarted reports whether t's first day has come at now (Asia/Shanghai).
func termStarted(t Term, now time.Time) bool {
	return LocalDate(now) >= t.StartsOn
}

// UpdateTerm is the input of PatchTerm: nil fields stay as they are.
type UpdateTerm struct {
	Name     *string
	StartsOn *string
	EndsOn   *string
	MaxClubs *int
}

// findManagedTerm loads term termID of schoolID for a, who must manage the
// school; a term of another school is ErrNotFound.
func findManagedTerm(ctx context.Context, db *DB, a Actor, schoolID, termID int64) (Term, error) {
	if err := requireManage(ctx, db, a, schoolID); err != nil {
		return Term{}, err
	}
	t, err := FindTermByID(ctx, db, termID)
	if err != nil {
		return Term{}, err
	}
	if t.SchoolID != schoolID {
		return Term{}, ErrNotFound
	}
	return t, nil
}

// PatchTerm edits term termID of schoolID (its school admin or a platform
// admin). Before the term's first day every field may change; from then on
// only the name (ErrTermStarted). New dates must still hold the enrollment
// windows of the term's offerings.
func PatchTerm(ctx context.Context, db *DB, a Actor, schoolID, termID int64, in UpdateTerm, now time.Time) (Term, error) {
	t, err := findManagedTerm(ctx, db, a, schoolID, termID)
	if err != nil {
		return Term{}, err
	}
	old := t
	changes := (in.StartsOn != nil && *in.StartsOn != t.StartsOn) || (in.EndsOn != nil && *in.EndsOn != t.EndsOn) ||
		(in.MaxClubs != nil && *in.MaxClubs != t.MaxClubs)
	if changes && termStarted(t, now) {
		return Term{}, ErrTermStarted
	}
	var v Validator
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
		v.Check(t.Name != "" && len([]rune(t.Name)) <= 50, "name", "学期名称必填，最多50个字符")
	}
	patchField(&t.StartsOn, in.StartsOn)
	patchField(&t.EndsOn, in.EndsOn)
	patchField(&t.MaxClubs, in.MaxClubs)
	checkTermDates(&v, t.StartsOn, t.EndsOn, &t.MaxClubs)
	if err := v.Err(); err != nil {
		return Term{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var offs []Offering
		if err := tx.Where("term_id = ? AND status <> ?", t.ID, OfferingCancelled).Order("id").Find(&offs).Error; err != nil {
			return err
		}
		for _, o := range offs {
			var w Validator
			checkWindowInTerm(&w, o.EnrollOpensAt, o.EnrollClosesAt, t)
			if w.Err() != nil {
				field := "starts_on"
				if _, late := w.fields["enroll_closes_at"]; late {
					field = "ends_on"
				}
				return &ValidationError{Fields: map[string]string{field: fmt.Sprintf("项目「%s」的报名时间不在新的学期日期内", o.Name)}}
			}
		}
		if err := tx.Model(&Term{}).Where("id = ?", t.ID).Updates(map[string]any{
			"name": t.Name, "starts_on": t.StartsOn, "ends_on": t.EndsOn, "max_clubs": t.MaxClubs}).Error; err != nil {
			return err
		}
		if t.StartsOn != old.StartsOn || t.EndsOn != old.EndsOn {
			return syncTermSessions(tx, t, now) // the sessions follow the dates
		}
		return nil
	})
	if err != nil {
		return Term{}, err
	}
	db.offersChanged() // max_clubs is among the cached offering facts (cache.go)
	return t, nil
}

// checkTermDates records the field errors of a term's dates and max_clubs
// (max_clubs nil: missing).
func checkTermDates(v *Validator, startsOn, endsOn string, maxClubs *int) {
	v.Check(validDate(startsOn), "starts_on", "开始日期须为 YYYY-MM-DD")
	v.Check(validDate(endsOn), "ends_on", "结束日期须为 YYYY-MM-DD")
	if validDate(startsOn) && validDate(endsOn) {
		v.Check(endsOn > startsOn, "ends_on", "结束日期须晚于开始日期")
	}
	v.Check(maxClubs != nil && *maxClubs >= 1 && *maxClubs <= MaxClubsLimit, "max_clubs",
		fmt.Sprintf("每生社团上限须为 1-%d", MaxClubsLimit))
}

// DeleteTerm deletes term termID of schoolID (its school admin or a
// platform admin) while no offering (ErrTermHasOfferings) and no survey
// (ErrTermInUse) names it.
func DeleteTerm(ctx context.Context, db *DB, a Actor, schoolID, termID int64) error {
	t, err := findManagedTerm(ctx, db, a, schoolID, termID)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM offerings WHERE term_id = ?", t.ID).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrTermHasOfferings
		}
		if err := tx.Raw("SELECT COUNT(*) FROM surveys WHERE term_id = ?", t.ID).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrTermInUse
		}
		res := tx.Exec("DELETE FROM terms WHERE id = ?", t.ID)
		if isForeignKeyViolation(res.Error) {
			return ErrTermHasOfferings // an offering made meanwhile
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
}
