package models

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// What a change of the term calendar does to sessions already generated.
// A date that stops being a teaching date (it became a no-service day, or a
// make-up day was taken back) cancels that date's sessions from today on —
// today included, so a no-service day declared at noon stops this
// afternoon's clubs — exactly as a school admin's cancellation does: the
// session stays, cancelled (cancel_source 'calendar'), and the families of
// the children enrolled hear it (CANCELLED). A date the calendar gives back
// restores the sessions it had cancelled, and the families hear that too
// (CHANGED); a date it adds (a make-up day, 调休) gets its new sessions
// (syncTermSessions) and the families of the offerings meeting that day
// hear of it the same way (CHANGED). Sessions with marks or dismissals are history and never
// change; a session a school admin cancelled by hand stays cancelled.

// CalendarCancelReason is the cancel_reason of sessions the calendar
// cancelled.
const CalendarCancelReason = "停课日"

// cancelSourceCalendar marks a session the calendar cancelled.
const cancelSourceCalendar = "calendar"

// calendarSession is a session a calendar change may cancel or restore.
type calendarSession struct {
	ID           int64  `gorm:"column:id"`
	OfferingID   int64  `gorm:"column:offering_id"`
	OfferingName string `gorm:"column:offering_name"`
	Date         string `gorm:"column:session_date"`
	Status       string `gorm:"column:status"`
	Source       string `gorm:"column:cancel_source"`
}

// applyCalendarToSessions cancels and restores, inside tx, the sessions of
// term t's running offerings from today on whose dates the change of the
// term's calendar from before to t takes away or gives back, and tells the
// families — also those of the offerings that meet on a date it adds,
// whose sessions syncTermSessions creates. Only the dates the change itself touches count: a session left
// on a date its offering no longer meets for another reason (today's, after
// a change of weekdays) is not the calendar's business. It runs before
// syncTermSessions, which then only creates what is missing.
func applyCalendarToSessions(tx *gorm.DB, before, t Term, now time.Time) error {
	today := LocalDate(now)
	var offs []Offering
	if err := tx.Where("term_id = ? AND status IN ?", t.ID, runningStatuses).Find(&offs).Error; err != nil {
		return err
	}
	teachingIn := func(t Term) map[int64]map[string]bool {
		out := make(map[int64]map[string]bool, len(offs))
		for _, o := range offs {
			set := map[string]bool{}
			for _, d := range TeachingDates(t.StartsOn, t.EndsOn, t.NoService(), t.Extra(), o.Weekdays) {
				set[d.Date] = true
			}
			out[o.ID] = set
		}
		return out
	}
	was, is := teachingIn(before), teachingIn(t)
	var ss []calendarSession
	if err := tx.Raw(`SELECT s.id, s.offering_id, o.name AS offering_name, s.session_date, s.status, s.cancel_source
		FROM sessions s JOIN offerings o ON o.id = s.offering_id
		WHERE s.term_id = ? AND s.session_date >= ? AND o.status IN ?
		AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)
		AND NOT EXISTS (SELECT 1 FROM dismissals d WHERE d.session_id = s.id)
		ORDER BY s.session_date, s.id`, t.ID, today, runningStatuses).Scan(&ss).Error; err != nil {
		return err
	}
	added, err := addedCalendarSessions(tx, t, offs, was, is, today)
	if err != nil {
		return err
	}
	var cancel, restore []calendarSession
	for _, s := range ss {
		was, is := was[s.OfferingID][s.Date], is[s.OfferingID][s.Date]
		switch {
		case s.Status == SessionScheduled && was && !is:
			cancel = append(cancel, s)
		case s.Status == SessionCancelled && s.Source == cancelSourceCalendar && !was && is:
			restore = append(restore, s)
		}
	}
	at := now.UTC()
	for _, s := range cancel {
		if err := tx.Exec(`UPDATE sessions SET status = ?, cancel_reason = ?, cancel_source = ?, cancelled_by = NULL,
			cancelled_at = ? WHERE id = ?`, SessionCancelled, CalendarCancelReason, cancelSourceCalendar, at, s.ID).Error; err != nil {
			return err
		}
		// A session the calendar takes away is not billed, as one the school
		// cancels by hand: paid orders get its share back, unpaid ones a credit.
		if err := settleCancelledSession(tx, s.OfferingID, s.ID, s.Date, 0, now); err != nil {
			return err
		}
	}
	for _, s := range restore {
		if err := tx.Exec(`UPDATE sessions SET status = ?, cancel_reason = '', cancel_source = '', cancelled_by = NULL,
			cancelled_at = NULL WHERE id = ?`, SessionScheduled, s.ID).Error; err != nil {
			return err
		}
	}
	if err := notifyCalendarSessions(tx, t, cancel, NotifySessionCancelled, "停课", "停课（学校调整校历）", at); err != nil {
		return err
	}
	if err := notifyCalendarSessions(tx, t, restore, NotifyOfferingChanged, "恢复上课", "恢复上课（学校调整校历）", at); err != nil {
		return err
	}
	return notifyCalendarSessions(tx, t, added, NotifyOfferingChanged, "调休上课", "调休上课（学校调整校历）", at)
}

// addedCalendarSessions are the sessions, from today on, that the change
// from was to is adds and that do not exist yet (syncTermSessions makes
// them): the offerings meeting on a new make-up day. A date whose session
// exists already (restored above, or cancelled by hand) is not new.
func addedCalendarSessions(tx *gorm.DB, t Term, offs []Offering, was, is map[int64]map[string]bool, today string) ([]calendarSession, error) {
	var have []struct {
		OfferingID int64  `gorm:"column:offering_id"`
		Date       string `gorm:"column:session_date"`
	}
	if err := tx.Raw(`SELECT offering_id, session_date FROM sessions WHERE term_id = ? AND session_date >= ?`,
		t.ID, today).Scan(&have).Error; err != nil {
		return nil, err
	}
	exists := make(map[int64]map[string]bool, len(offs))
	for _, h := range have {
		if exists[h.OfferingID] == nil {
			exists[h.OfferingID] = map[string]bool{}
		}
		exists[h.OfferingID][h.Date] = true
	}
	var added []calendarSession
	for _, o := range offs {
		for d := range is[o.ID] {
			if d >= today && !was[o.ID][d] && !exists[o.ID][d] {
				added = append(added, calendarSession{OfferingID: o.ID, OfferingName: o.Name, Date: d})
			}
		}
	}
	sort.Slice(added, func(i, j int) bool {
		if added[i].Date != added[j].Date {
			return added[i].Date < added[j].Date
		}
		return added[i].OfferingID < added[j].OfferingID
	})
	return added, nil
}

// notifyCalendarSessions tells the families of the children enrolled in
// the sessions ss what the calendar did to them: one message per child and
// date, naming every club of that child the date touches.
func notifyCalendarSessions(tx *gorm.DB, t Term, ss []calendarSession, kind, status, what string, at time.Time) error {
	if len(ss) == 0 {
		return nil
	}
	offeringIDs := map[int64]bool{}
	for _, s := range ss {
		offeringIDs[s.OfferingID] = true
	}
	ids := make([]int64, 0, len(offeringIDs))
	for id := range offeringIDs {
		ids = append(ids, id)
	}
	var enrolled []struct {
		OfferingID int64  `gorm:"column:offering_id"`
		StudentID  int64  `gorm:"column:student_id"`
		Name       string `gorm:"column:name"`
	}
	if err := tx.Raw(`SELECT e.offering_id, e.student_id, st.name FROM enrollments e JOIN students st ON st.id = e.student_id
		WHERE e.offering_id IN ? AND e.status = ? ORDER BY e.student_id`, ids, StatusEnrolled).Scan(&enrolled).Error; err != nil {
		return err
	}
	studentsOf := map[int64][]int64{}
	names := map[int64]string{}
	for _, e := range enrolled {
		studentsOf[e.OfferingID] = append(studentsOf[e.OfferingID], e.StudentID)
		names[e.StudentID] = e.Name
	}
	type key struct {
		student int64
		date    string
	}
	clubs := map[key][]string{}
	var order []key
	for _, s := range ss {
		for _, st := range studentsOf[s.OfferingID] {
			k := key{st, s.Date}
			if clubs[k] == nil {
				order = append(order, k)
			}
			clubs[k] = append(clubs[k], s.OfferingName)
		}
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].date != order[j].date {
			return order[i].date < order[j].date
		}
		return order[i].student < order[j].student
	})
	for _, k := range order {
		note := shortDate(k.date) + what
		p := map[string]string{"student": names[k.student], "offering": clubsText(clubs[k]), "status": status,
			"note": note, "date": k.date, "term_id": fmt.Sprint(t.ID), NoteSaysStatus: "1"}
		event := fmt.Sprintf("calendar:%s:term:%d:date:%s:student:%d:%d", kind, t.ID, k.date, k.student, at.UnixNano())
		if err := NotifyGuardians(tx, kind, k.student, event, p); err != nil {
			return err
		}
	}
	return nil
}

// clubsText names the clubs of one child's day in a WeChat "thing" field
// (20 characters): "篮球社、美术社", or "篮球社等3个项目" when they do not fit.
func clubsText(names []string) string {
	all := strings.Join(names, "、")
	if len([]rune(all)) <= 20 {
		return all
	}
	first := []rune(names[0])
	if len(first) > 12 {
		first = first[:12]
	}
	return fmt.Sprintf("%s等%d个项目", string(first), len(names))
}
