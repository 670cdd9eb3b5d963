package models

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// The term calendar: which dates of a term are teaching dates, and on which
// weekday's timetable. A date is a teaching date of weekday w when
//
//   - it lies in [starts_on, ends_on], is a Monday–Friday with weekday w, and
//     is not a no-service day; or
//   - it is an extra day (a make-up school day, 调休) with as_weekday w.
//
// Extra days are Saturdays or Sundays: every Monday–Friday is a school day
// already (a weekday holiday is a no-service day, and a make-up day in China
// always falls on a weekend), so "an extra day is not already a school day"
// means exactly that. An extra day may not also be a no-service day.

// ExtraDay is a make-up school day that runs AsWeekday's timetable.
type ExtraDay struct {
	Date      string `json:"date"`
	AsWeekday int    `json:"as_weekday"`
}

// Extra returns the term's extra days.
func (t Term) Extra() []ExtraDay {
	var out []ExtraDay
	_ = json.Unmarshal([]byte(t.ExtraDays), &out)
	if out == nil {
		out = []ExtraDay{}
	}
	return out
}

// TeachingDate is one date an offering meets, with the weekday whose
// timetable it runs (differs from the date's own weekday on an extra day).
type TeachingDate struct {
	Date    string
	Weekday int
}

// TeachingDates lists, ascending, the dates of the term's calendar
// (startsOn…endsOn, minus noService, plus extra) on which an offering with
// weekday mask weekdays meets. It is pure: the whole rule of the calendar.
func TeachingDates(startsOn, endsOn string, noService []string, extra []ExtraDay, weekdays int) []TeachingDate {
	from, err1 := time.Parse(time.DateOnly, startsOn)
	to, err2 := time.Parse(time.DateOnly, endsOn)
	if err1 != nil || err2 != nil || to.Before(from) {
		return nil
	}
	skip := make(map[string]bool, len(noService))
	for _, d := range noService {
		skip[d] = true
	}
	extraOf := make(map[string]int, len(extra))
	for _, e := range extra {
		extraOf[e.Date] = e.AsWeekday
	}
	var out []TeachingDate
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		s := d.Format(time.DateOnly)
		wd := int(d.Weekday()) // Sunday = 0
		if as, ok := extraOf[s]; ok {
			wd = as
		} else if wd == 0 || wd == 6 || skip[s] {
			continue
		}
		if weekdays&(1<<wd) != 0 {
			out = append(out, TeachingDate{Date: s, Weekday: wd})
		}
	}
	return out
}

// MaxCalendarDays bounds each of a term's no-service and extra day lists.
const MaxCalendarDays = 200

// checkCalendar records field errors unless noService and extra form a
// valid calendar of a term from startsOn to endsOn (both valid dates).
func checkCalendar(v *Validator, startsOn, endsOn string, noService []string, extra []ExtraDay) {
	v.Check(len(noService) <= MaxCalendarDays, "no_service_days", fmt.Sprintf("停课日最多%d个", MaxCalendarDays))
	seen := map[string]bool{}
	for _, d := range noService {
		ok := validDate(d) && d >= startsOn && d <= endsOn && !seen[d]
		v.Check(ok, "no_service_days", "停课日须为学期内不重复的 YYYY-MM-DD 日期")
		seen[d] = true
	}
	checkExtraDays(v, startsOn, endsOn, noService, extra)
}

// checkExtraDays records field errors unless extra are valid make-up days
// of a term from startsOn to endsOn with no-service days noService.
func checkExtraDays(v *Validator, startsOn, endsOn string, noService []string, extra []ExtraDay) {
	v.Check(len(extra) <= MaxCalendarDays, "extra_days", fmt.Sprintf("调休上课日最多%d个", MaxCalendarDays))
	seen := make(map[string]bool, len(noService))
	for _, d := range noService {
		seen[d] = true
	}
	seenExtra := map[string]bool{}
	for _, e := range extra {
		day, err := time.Parse(time.DateOnly, e.Date)
		if err != nil || e.Date < startsOn || e.Date > endsOn || seenExtra[e.Date] {
			v.Check(false, "extra_days", "调休上课日须为学期内不重复的 YYYY-MM-DD 日期")
			continue
		}
		seenExtra[e.Date] = true
		wd := day.Weekday()
		v.Check(wd == time.Saturday || wd == time.Sunday, "extra_days",
			fmt.Sprintf("%s 是周一至周五，本来就是上课日；调休上课日须为周六或周日", e.Date))
		v.Check(!seen[e.Date], "extra_days", fmt.Sprintf("%s 不能既是停课日又是调休上课日", e.Date))
		v.Check(e.AsWeekday >= 1 && e.AsWeekday <= 5, "extra_days", "as_weekday 须为1-5（按周几的课表上课）")
	}
}

// calendarJSON encodes the two lists for the terms row, sorted by date.
func calendarJSON(noService []string, extra []ExtraDay) (string, string) {
	ns := append([]string{}, noService...)
	sort.Strings(ns)
	ex := append([]ExtraDay{}, extra...)
	sort.Slice(ex, func(i, j int) bool { return ex[i].Date < ex[j].Date })
	a, _ := json.Marshal(ns)
	b, _ := json.Marshal(ex)
	return string(a), string(b)
}

// TermCalendar is the input of SetTermCalendar: the whole calendar, both
// lists replaced.
type TermCalendar struct {
	NoServiceDays []string
	ExtraDays     []ExtraDay
}

// SetTermCalendar replaces the no-service and extra days of term termID of
// schoolID (its school admin or a platform admin) and brings the sessions
// of the term's running offerings in step, in one transaction: the
// sessions of a date it takes away from today on are cancelled and the
// families told, those of a date it gives back are restored
// (calendar_sessions.go); the past is never rewritten (see SyncSessions).
func SetTermCalendar(ctx context.Context, db *DB, a Actor, schoolID, termID int64, in TermCalendar, now time.Time) (Term, error) {
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
	var v Validator
	checkCalendar(&v, t.StartsOn, t.EndsOn, in.NoServiceDays, in.ExtraDays)
	if err := v.Err(); err != nil {
		return Term{}, err
	}
	before := t
	t.NoServiceDays, t.ExtraDays = calendarJSON(in.NoServiceDays, in.ExtraDays)
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		// On PostgreSQL the term's offerings first, in id order (as an
		// enrollment batch takes them): a batch pricing a seat then either
		// reads the new calendar (priceBatch reads it after its locks) or
		// has committed its order, which applyCalendarToSessions settles.
		if dialectOf(tx) == Postgres {
			if err := tx.Exec("SELECT id FROM offerings WHERE term_id = ? ORDER BY id FOR UPDATE", t.ID).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec("UPDATE terms SET no_service_days = ?, extra_days = ? WHERE id = ?",
			t.NoServiceDays, t.ExtraDays, t.ID).Error; err != nil {
			return err
		}
		if err := applyCalendarToSessions(tx, before, t, now); err != nil {
			return err
		}
		return syncTermSessions(tx, t, now)
	})
	return t, err
}

// syncTermSessions brings the sessions of every running offering of term t
// in step with it (syncSessions), inside tx: for any change of a term's
// dates or calendar.
func syncTermSessions(tx *gorm.DB, t Term, now time.Time) error {
	var offs []Offering
	if err := tx.Where("term_id = ? AND status IN ?", t.ID, runningStatuses).Find(&offs).Error; err != nil {
		return err
	}
	for _, o := range offs {
		if err := syncSessions(tx, o, t, now); err != nil {
			return err
		}
	}
	return nil
}
