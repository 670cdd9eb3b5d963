package models_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func dates(ds []models.TeachingDate) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Date)
	}
	return out
}

// TestTeachingDates: the calendar rule on hand-picked weeks of 2030 (Sep 4
// is a Wednesday, Sep 8 a Sunday).
func TestTeachingDates(t *testing.T) {
	tueThu := 1<<2 | 1<<4
	cases := []struct {
		name      string
		from, to  string
		noService []string
		extra     []models.ExtraDay
		weekdays  int
		want      []string
	}{
		{"term starting mid-week", "2030-09-04", "2030-09-13", nil, nil, tueThu,
			[]string{"2030-09-05", "2030-09-10", "2030-09-12"}},
		{"no-service day on a club day", "2030-09-04", "2030-09-13", []string{"2030-09-10"}, nil, tueThu,
			[]string{"2030-09-05", "2030-09-12"}},
		{"extra day runs Thursday", "2030-09-04", "2030-09-13", nil,
			[]models.ExtraDay{{Date: "2030-09-08", AsWeekday: 4}}, tueThu,
			[]string{"2030-09-05", "2030-09-08", "2030-09-10", "2030-09-12"}},
		{"extra day of another weekday", "2030-09-04", "2030-09-13", nil,
			[]models.ExtraDay{{Date: "2030-09-08", AsWeekday: 1}}, tueThu,
			[]string{"2030-09-05", "2030-09-10", "2030-09-12"}},
		{"no-service on a weekend changes nothing", "2030-09-04", "2030-09-13", []string{"2030-09-07"}, nil, tueThu,
			[]string{"2030-09-05", "2030-09-10", "2030-09-12"}},
		{"every weekday", "2030-09-06", "2030-09-10", nil, nil, 0b111110,
			[]string{"2030-09-06", "2030-09-09", "2030-09-10"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := dates(models.TeachingDates(c.from, c.to, c.noService, c.extra, c.weekdays))
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	ds := models.TeachingDates("2030-09-04", "2030-09-13", nil, []models.ExtraDay{{Date: "2030-09-08", AsWeekday: 4}}, tueThu)
	if ds[1].Weekday != 4 {
		t.Fatalf("extra day runs weekday %d, want 4", ds[1].Weekday)
	}
}

// TestTermCalendarValidation: each invalid calendar is a 422 naming the
// field; a valid one is stored sorted.
func TestTermCalendarValidation(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	r := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, r.ID)
	ctx := context.Background()
	two := 2
	mk := func(ns []string, ex []models.ExtraDay) (models.Term, error) {
		return models.CreateTerm(ctx, db, models.SystemActor, sc.ID, models.NewTerm{Name: "秋", StartsOn: "2030-09-01",
			EndsOn: "2031-01-20", MaxClubs: &two, NoServiceDays: ns, ExtraDays: ex})
	}
	bad := map[string]struct {
		ns []string
		ex []models.ExtraDay
	}{
		"extra day on a weekday":     {nil, []models.ExtraDay{{Date: "2030-09-10", AsWeekday: 2}}},
		"extra day outside the term": {nil, []models.ExtraDay{{Date: "2031-02-01", AsWeekday: 2}}},
		"extra day also no-service":  {[]string{"2030-09-08"}, []models.ExtraDay{{Date: "2030-09-08", AsWeekday: 2}}},
		"as_weekday 6":               {nil, []models.ExtraDay{{Date: "2030-09-08", AsWeekday: 6}}},
		"extra day twice":            {nil, []models.ExtraDay{{Date: "2030-09-08", AsWeekday: 2}, {Date: "2030-09-08", AsWeekday: 3}}},
		"bad extra date":             {nil, []models.ExtraDay{{Date: "2030-9-8", AsWeekday: 2}}},
		"no-service outside":         {[]string{"2031-02-01"}, nil},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := mk(c.ns, c.ex)
			var ve *models.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		term, err := mk([]string{"2030-10-02", "2030-10-01"}, []models.ExtraDay{{Date: "2030-10-12", AsWeekday: 5}, {Date: "2030-09-29", AsWeekday: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if got := term.NoService(); !reflect.DeepEqual(got, []string{"2030-10-01", "2030-10-02"}) {
			t.Fatalf("no_service_days = %v", got)
		}
		if got := term.Extra(); len(got) != 2 || got[0].Date != "2030-09-29" {
			t.Fatalf("extra_days = %v", got)
		}
	})
}

// sessionDates lists offering id's sessions as "date status".
func sessionDates(t *testing.T, db *models.DB, id int64) []string {
	t.Helper()
	ss, err := models.FindOfferingSessions(context.Background(), db, models.SystemActor, id, "", "", models.Paging{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, s := range ss {
		d := s.Date
		if s.Status != models.SessionScheduled {
			d += " " + s.Status
		}
		out = append(out, d)
	}
	return out
}

// TestSessionsFollowCalendar: sessions are generated at publish from the
// clock's day on, follow a change of weekdays and of the calendar from
// tomorrow on, keep the past and marked sessions, and a second sync
// changes nothing.
func TestSessionsFollowCalendar(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	r := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, r.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0).Actor()
	two := 2
	// Wednesday 4 September to Friday 20 September 2030.
	term, err := models.CreateTerm(ctx, db, admin, sc.ID, models.NewTerm{Name: "秋", StartsOn: "2030-09-04",
		EndsOn: "2030-09-20", MaxClubs: &two})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)
	db.Clock = func() time.Time { return now }
	opens, closes := now.Add(-time.Hour), now.Add(time.Hour)
	o, err := models.CreateOffering(ctx, db, admin, sc.ID, models.NewOffering{TermID: term.ID, Kind: models.KindClub,
		Name: "篮球社", Weekdays: []int{2, 4}, StartTime: "16:30", EndTime: "18:00", Capacity: 30, Grades: []int{3},
		EnrollOpensAt: &opens, EnrollClosesAt: &closes})
	if err != nil {
		t.Fatal(err)
	}
	if got := sessionDates(t, db, o.ID); len(got) != 0 {
		t.Fatalf("a draft has sessions: %v", got)
	}
	if _, err := models.PublishOffering(ctx, db, admin, o.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{"2030-09-05", "2030-09-10", "2030-09-12", "2030-09-17", "2030-09-19"}
	if got := sessionDates(t, db, o.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after publish %v, want %v", got, want)
	}
	if err := models.SyncSessions(ctx, db, o.ID, now); err != nil {
		t.Fatal(err)
	}
	if got := sessionDates(t, db, o.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("second sync %v, want %v", got, want)
	}

	// On Thursday 12 September (today, a club day) the club moves to
	// Monday and Wednesday: today and the past stay; the future follows.
	now = time.Date(2030, 9, 12, 10, 0, 0, 0, models.Zone)
	mw := []int{1, 3}
	if _, err := models.PatchOffering(ctx, db, admin, o.ID, models.UpdateOffering{Weekdays: &mw}); err != nil {
		t.Fatal(err)
	}
	want = []string{"2030-09-05", "2030-09-10", "2030-09-12", "2030-09-16", "2030-09-18"}
	if got := sessionDates(t, db, o.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after weekdays change %v, want %v", got, want)
	}

	// A no-service Monday and a make-up Sunday running Wednesday's timetable.
	term, err = models.SetTermCalendar(ctx, db, admin, sc.ID, term.ID, models.TermCalendar{
		NoServiceDays: []string{"2030-09-16", "2030-09-10"},
		ExtraDays:     []models.ExtraDay{{Date: "2030-09-15", AsWeekday: 3}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	// 09-10 is past: kept although it became a no-service day; 09-16 is
	// cancelled (calendar_sessions.go), not deleted.
	want = []string{"2030-09-05", "2030-09-10", "2030-09-12", "2030-09-15", "2030-09-16 cancelled", "2030-09-18"}
	if got := sessionDates(t, db, o.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after calendar change %v, want %v", got, want)
	}

	// Cancelling the offering removes the sessions after today.
	if _, err := models.CancelOffering(ctx, db, admin, o.ID, ""); err != nil {
		t.Fatal(err)
	}
	want = []string{"2030-09-05", "2030-09-10", "2030-09-12"}
	if got := sessionDates(t, db, o.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after cancel %v, want %v", got, want)
	}
}

// TestSyncAllSessionsBackfills: an offering published with no sessions
// (as before sessions existed) gets them from the job, once.
func TestSyncAllSessionsBackfills(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	f := fx{t, db}
	reg := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, reg.ID)
	term := f.term(sc.ID, "2030-09-02", "2030-09-13")
	o := f.offering(term, "club", "sports", "published", mask(2, 4), hm(16, 30), hm(18, 0), 30)
	f.offering(term, "club", "arts", "draft", mask(2, 4), hm(16, 30), hm(18, 0), 30)
	now := time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)
	for range 2 {
		n, err := models.SyncAllSessions(ctx, db, now)
		if err != nil || n != 1 {
			t.Fatalf("synced %d, %v", n, err)
		}
		if got := sessionDates(t, db, o.ID); strings.Join(got, " ") != "2030-09-03 2030-09-05 2030-09-10 2030-09-12" {
			t.Fatalf("sessions %v", got)
		}
	}
}
