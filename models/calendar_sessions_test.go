package models_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestCalendarCancelsSessions: a no-service day declared for today or a
// later day cancels that day's sessions (today's included, before they
// start) and tells the families of the children enrolled (CANCELLED, one
// message per child and day); a session with marks is left alone; giving
// the day back restores the sessions the calendar cancelled (CHANGED) but
// not one a school admin cancelled by hand.
func TestCalendarCancelsSessions(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	w := newWorld(t, db, 3)
	// Tuesday 8 December 2026, 10:00: the Tue/Thu club meets today at 16:30.
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, models.Zone)
	db.Clock = func() time.Time { return now }
	o := w.offering(nil)
	other := w.offering(func(in *models.NewOffering) { in.Name = "美术社"; in.StartTime = "15:00"; in.EndTime = "16:00" })
	st := w.students(2)
	parent := modelstest.Parent(t, db, st[0].ID)
	for _, id := range []int64{o.ID, other.ID} {
		if _, err := w.enroll(w.admin.Actor(), st[0].ID, id); err != nil {
			t.Fatal(err)
		}
	}
	a := w.admin.Actor()
	sessionOn := func(off int64, date string) models.SessionView {
		t.Helper()
		ss, err := models.FindOfferingSessions(w.ctx, db, models.SystemActor, off, date, date, models.Paging{})
		if err != nil || len(ss) != 1 {
			t.Fatalf("sessions of %s: %v, %v", date, ss, err)
		}
		return ss[0]
	}
	notes := func(kind string) int64 {
		var n int64
		db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ? AND user_id = ?", kind, parent.ID).Scan(&n)
		return n
	}
	// Thursday the 10th is cancelled by hand first: the calendar must not
	// undo that.
	thu := sessionOn(o.ID, "2026-12-10")
	if _, err := models.CancelSession(w.ctx, db, a, thu.ID, "期末考试", now); err != nil {
		t.Fatal(err)
	}
	handNotes := notes(models.NotifySessionCancelled)

	cal := models.TermCalendar{NoServiceDays: []string{"2026-12-08", "2026-12-10", "2026-12-15"}}
	if _, err := models.SetTermCalendar(w.ctx, db, a, w.school.ID, w.term.ID, cal, now); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2026-12-08", "2026-12-15"} {
		for _, off := range []int64{o.ID, other.ID} {
			if s := sessionOn(off, d); s.Status != models.SessionCancelled || s.CancelReason != models.CalendarCancelReason {
				t.Fatalf("%s offering %d: %s %q, want cancelled by the calendar", d, off, s.Status, s.CancelReason)
			}
		}
	}
	// One message per child and day (two clubs on a day, one message):
	// today, the 10th (美术社; 篮球社 was already cancelled) and the 15th.
	if got := notes(models.NotifySessionCancelled) - handNotes; got != 3 {
		t.Fatalf("%d CANCELLED messages, want 3 (the 8th, 10th and 15th)", got)
	}
	var payload string
	db.R.Raw("SELECT payload FROM outbox WHERE kind = ? AND user_id = ? ORDER BY id DESC LIMIT 1",
		models.NotifySessionCancelled, parent.ID).Scan(&payload)
	for _, want := range []string{"篮球社", "美术社", "12月15日"} {
		if !strings.Contains(payload, want) {
			t.Fatalf("payload %s lacks %s", payload, want)
		}
	}

	// The day given back: the calendar's cancellations are undone, the
	// hand-cancelled Thursday stays, and the families hear it.
	if _, err := models.SetTermCalendar(w.ctx, db, a, w.school.ID, w.term.ID, models.TermCalendar{}, now); err != nil {
		t.Fatal(err)
	}
	got := []string{sessionOn(o.ID, "2026-12-08").Status, sessionOn(o.ID, "2026-12-10").Status, sessionOn(o.ID, "2026-12-15").Status}
	if want := []string{models.SessionScheduled, models.SessionCancelled, models.SessionScheduled}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after restoring: %v, want %v", got, want)
	}
	if n := notes(models.NotifyOfferingChanged); n != 3 {
		t.Fatalf("%d CHANGED messages on restoring, want 3 (the 8th, 10th and 15th)", n)
	}
}

// TestCalendarKeepsMarkedSessions: a session whose roll was taken is
// history: a no-service day declared afterwards leaves it scheduled.
func TestCalendarKeepsMarkedSessions(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	w := newWorld(t, db, 3)
	now := time.Date(2026, 12, 8, 17, 0, 0, 0, models.Zone)
	db.Clock = func() time.Time { return now }
	o := w.offering(nil)
	st := w.students(1)[0]
	if _, err := w.enroll(w.admin.Actor(), st.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	ss, err := models.FindOfferingSessions(w.ctx, db, models.SystemActor, o.ID, "2026-12-08", "2026-12-08", models.Paging{})
	if err != nil || len(ss) != 1 {
		t.Fatal(ss, err)
	}
	if _, err := models.MarkAttendance(w.ctx, db, w.admin.Actor(), ss[0].ID,
		[]models.MarkRecord{{StudentID: st.ID, Status: "present"}}, "", now); err != nil {
		t.Fatal(err)
	}
	cal := models.TermCalendar{NoServiceDays: []string{"2026-12-08"}}
	if _, err := models.SetTermCalendar(w.ctx, db, w.admin.Actor(), w.school.ID, w.term.ID, cal, now); err != nil {
		t.Fatal(err)
	}
	ss, _ = models.FindOfferingSessions(w.ctx, db, models.SystemActor, o.ID, "2026-12-08", "2026-12-08", models.Paging{})
	if len(ss) != 1 || ss[0].Status != models.SessionScheduled {
		t.Fatalf("the marked session: %+v", ss)
	}
}

// TestCalendarMakeUpDayTellsFamilies: a make-up day (调休: a Saturday
// running Tuesday's timetable) added to the calendar gets its sessions, and
// the families of the children enrolled in the offerings meeting that day
// hear of it (CHANGED, naming the day) — nobody else, and nobody for a
// make-up day already past; saving the same calendar again tells nobody.
func TestCalendarMakeUpDayTellsFamilies(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	w := newWorld(t, db, 3)
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, models.Zone) // a Tuesday
	db.Clock = func() time.Time { return now }
	tue := w.offering(func(in *models.NewOffering) { in.Weekdays = []int{2} })
	mon := w.offering(func(in *models.NewOffering) { in.Name = "美术社"; in.Weekdays = []int{1} })
	st := w.students(2)
	meets, misses := modelstest.Parent(t, db, st[0].ID), modelstest.Parent(t, db, st[1].ID)
	if _, err := w.enroll(w.admin.Actor(), st[0].ID, tue.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.enroll(w.admin.Actor(), st[1].ID, mon.ID); err != nil {
		t.Fatal(err)
	}
	changed := func(u models.User) []string {
		var ps []string
		db.R.Raw("SELECT payload FROM outbox WHERE kind = ? AND user_id = ? ORDER BY id", models.NotifyOfferingChanged, u.ID).Scan(&ps)
		return ps
	}
	cal := models.TermCalendar{ExtraDays: []models.ExtraDay{{Date: "2026-12-05", AsWeekday: 2}, {Date: "2026-12-12", AsWeekday: 2}}}
	for range 2 {
		if _, err := models.SetTermCalendar(w.ctx, db, w.admin.Actor(), w.school.ID, w.term.ID, cal, now); err != nil {
			t.Fatal(err)
		}
	}
	ss, err := models.FindOfferingSessions(w.ctx, db, models.SystemActor, tue.ID, "2026-12-12", "2026-12-12", models.Paging{})
	if err != nil || len(ss) != 1 || ss[0].Status != models.SessionScheduled {
		t.Fatalf("the make-up day's session: %v, %v", ss, err)
	}
	got := changed(meets)
	if len(got) != 1 || !strings.Contains(got[0], "12月12日") || !strings.Contains(got[0], "调休上课") || !strings.Contains(got[0], tue.Name) {
		t.Fatalf("the family of the Tuesday club got %q, want one message of the 12th", got)
	}
	if got := changed(misses); len(got) != 0 {
		t.Fatalf("the family of the Monday club got %q", got)
	}
}
