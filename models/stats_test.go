package models_test

import (
	"context"
	"math"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// statsWorld is the hand-built data set of the statistics tests, as of
// statsDay. Every expected figure in the tests is worked out by hand from
// the comments here, not by the code under test.
type statsWorld struct {
	db                   *models.DB
	province, city       models.Region
	k1, k2, empty        models.Region
	a, b, z, n           models.School
	a1, a2, a3, a4, a6   models.Student
	parent               models.User
	sportsClub, artsClub offeringRow
}

const statsDay = "2026-10-15" // a Thursday

func buildStatsWorld(t *testing.T) statsWorld {
	t.Helper()
	db := modelstest.MustOpenDB(t)
	f := fx{t, db}
	var w statsWorld
	w.db = db
	w.province = modelstest.Region(t, db, nil)
	w.city = modelstest.Region(t, db, &w.province.ID)
	w.k1 = modelstest.Region(t, db, &w.city.ID)
	w.k2 = modelstest.Region(t, db, &w.city.ID)
	w.empty = modelstest.Region(t, db, &w.city.ID) // no schools at all
	w.a = modelstest.School(t, db, w.k1.ID)
	w.z = modelstest.School(t, db, w.k1.ID) // empty school: no students, no term
	w.b = modelstest.School(t, db, w.k2.ID)
	w.n = modelstest.School(t, db, w.k2.ID) // a school with no term containing statsDay

	// School A: the current term, and an old one whose enrollments must not count.
	ta := f.term(w.a.ID, "2026-09-01", "2027-01-20")
	old := f.term(w.a.ID, "2026-02-01", "2026-07-10")
	a1 := modelstest.Student(t, db, w.a.ID, 3, "")
	a2 := modelstest.Student(t, db, w.a.ID, 3, "") // a1's sibling
	a3 := modelstest.Student(t, db, w.a.ID, 4, "")
	a4 := modelstest.Student(t, db, w.a.ID, 4, "")
	a5 := modelstest.Student(t, db, w.a.ID, 4, "")
	a6 := modelstest.Student(t, db, w.a.ID, 5, "") // made inactive below
	a7 := modelstest.Student(t, db, w.a.ID, 5, "")
	a8 := modelstest.Student(t, db, w.a.ID, 5, "")
	f.exec("UPDATE students SET active = FALSE WHERE id = ?", a6.ID)
	w.a1, w.a2, w.a3, w.a4, w.a6 = a1, a2, a3, a4, a6
	w.parent = modelstest.Parent(t, db, a1.ID, a2.ID)
	by := w.parent.ID

	basicA := f.offering(ta, "basic", "homework", "published", weekdays5, hm(16, 0), hm(18, 0), 100)
	c1 := f.offering(ta, "club", "sports", "published", mask(2, 4), hm(16, 30), hm(18, 0), 3)
	c2 := f.offering(ta, "club", "arts", "published", mask(1), hm(16, 30), hm(18, 0), 10)
	c3 := f.offering(ta, "club", "sports", "published", mask(3), hm(16, 30), hm(18, 0), 5)
	draft := f.offering(ta, "club", "science", "draft", mask(5), hm(16, 30), hm(18, 0), 10)
	cancelled := f.offering(ta, "club", "science", "cancelled", mask(5), hm(16, 30), hm(18, 0), 10)
	oldBasic := f.offering(old, "basic", "homework", "published", weekdays5, hm(16, 0), hm(18, 0), 100)
	w.sportsClub, w.artsClub = c1, c2

	f.enroll(a1, basicA, "enrolled", by)
	f.enroll(a1, c1, "enrolled", by) // a1: basic and two clubs
	f.enroll(a1, c2, "enrolled", by)
	f.enroll(a2, c1, "enrolled", by)
	f.enroll(a6, c1, "enrolled", by) // inactive: takes a seat, is no participant
	f.enroll(a3, c1, "waitlisted", by)
	f.enroll(a3, c2, "withdrawn", by)
	f.enroll(a4, c3, "applied", by)
	f.enroll(a4, c2, "rejected", by)
	f.enroll(a5, draft, "enrolled", by)
	f.enroll(a5, cancelled, "enrolled", by)
	f.enroll(a7, basicA, "enrolled", by)
	f.enroll(a7, oldBasic, "enrolled", by)
	f.enroll(a8, oldBasic, "enrolled", by)

	// Attendance of A's term up to statsDay: present, late, present attend;
	// absent does not; leave is not counted; before the term or after D is out.
	f.attend(a1, c1, "2026-10-12", "present")
	f.attend(a1, c1, "2026-10-13", "late")
	f.attend(a1, c1, "2026-10-14", "absent")
	f.attend(a1, c1, "2026-10-15", "leave")
	f.attend(a1, c1, "2026-10-16", "present")
	f.attend(a1, c1, "2026-08-20", "present")
	f.attend(a2, c1, "2026-10-12", "present")

	// School B: basic service four weekdays only; one club without a category.
	tb := f.term(w.b.ID, "2026-09-01", "2027-01-20")
	b1 := modelstest.Student(t, db, w.b.ID, 1, "")
	b2 := modelstest.Student(t, db, w.b.ID, 1, "")
	b3 := modelstest.Student(t, db, w.b.ID, 2, "")
	basicB := f.offering(tb, "basic", "", "published", mask(1, 2, 3, 4), hm(16, 0), hm(18, 0), 50)
	clubB := f.offering(tb, "club", "", "published", mask(2), hm(16, 0), hm(17, 0), 2)
	f.enroll(b1, basicB, "enrolled", by)
	f.enroll(b3, clubB, "enrolled", by)

	// School N: its only term ended before statsDay.
	tn := f.term(w.n.ID, "2026-02-01", "2026-07-10")
	n1 := modelstest.Student(t, db, w.n.ID, 2, "")
	f.enroll(n1, f.offering(tn, "basic", "", "published", weekdays5, hm(16, 0), hm(18, 0), 10), "enrolled", by)

	// Surveys: a city survey of this term, and an old one.
	sv := f.survey(&w.city.ID, nil, cst("2026-10-01 08:00"), cst("2026-10-31 20:00"), by)
	f.respond(sv, a1, by, "support", "satisfied", cst("2026-10-10 09:00"))
	f.respond(sv, a2, by, "neutral", "basically_satisfied", cst("2026-10-12 09:00"))
	f.respond(sv, a3, by, "oppose", "unsatisfied", cst("2026-10-14 09:00"))
	f.respond(sv, b1, by, "support", "satisfied", cst("2026-10-16 09:00")) // after D
	f.respond(sv, b2, by, "support", "unsatisfied", cst("2026-10-15 23:00"))
	oldSv := f.survey(&w.city.ID, nil, cst("2026-05-01 08:00"), cst("2026-05-31 20:00"), by)
	f.respond(oldSv, a4, by, "support", "satisfied", cst("2026-05-10 09:00"))
	return w
}

// want is an expected snapshot: counts only (rates are checked separately).
type want struct {
	students, participants, basic, club                   int64
	schools, offering, fivePlusTwo                        int64
	clubs, seats, filled, waitlisted                      int64
	responses, supporters, satisfied, attended, attended2 int64
}

func (w want) check(t *testing.T, got models.Snapshot) {
	t.Helper()
	g := want{got.Students, got.Participants, got.BasicParticipants, got.ClubParticipants,
		got.Schools, got.SchoolsOffering, got.Schools5Plus2,
		got.Clubs, got.Seats, got.SeatsFilled, got.Waitlisted,
		got.Responses, got.Supporters, got.Satisfied, got.Attended, got.AttendanceMarked}
	if g != w {
		t.Fatalf("snapshot %s/%d grade %d %q:\n got %+v\nwant %+v", got.ScopeType, got.ScopeID, got.Grade, got.Category, g, w)
	}
}

func snap(t *testing.T, db *models.DB, typ string, id int64) models.Snapshot {
	t.Helper()
	s, err := models.FindSnapshot(context.Background(), db, models.StatScope{Type: typ, ID: id}, statsDay)
	if err != nil {
		t.Fatalf("%s %d: %v", typ, id, err)
	}
	return s
}

func TestComputeStats(t *testing.T) {
	w := buildStatsWorld(t)
	ctx := context.Background()
	rows, err := models.ComputeStats(ctx, w.db, statsDay, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		t.Fatal("no rows written")
	}

	// School A: active a1 a2 a3 a4 a5 a7 a8 = 7; participants a1 a2 a7;
	// basic a1 a7; club a1 a2. Clubs C1 C2 C3 (draft and cancelled out):
	// seats 3+10+5, filled a1 a2 a6 in C1 + a1 in C2, waitlisted a3.
	// Responses a1 a2 a3: one support, two satisfied. Attendance 3 of 4.
	schoolA := want{7, 3, 2, 2, 1, 1, 1, 3, 18, 4, 1, 3, 1, 2, 3, 4}
	// School B: b1 b2 b3; participants b1 (basic), b3 (club); basic on four
	// weekdays only; one club of 2 seats, 1 filled; response b2 only.
	schoolB := want{3, 2, 1, 1, 1, 1, 0, 1, 2, 1, 0, 1, 1, 0, 0, 0}
	schoolZ := want{schools: 1}
	schoolN := want{students: 1, schools: 1}
	sum := func(ws ...want) want {
		var s want
		for _, w := range ws {
			s.students += w.students
			s.participants += w.participants
			s.basic += w.basic
			s.club += w.club
			s.schools += w.schools
			s.offering += w.offering
			s.fivePlusTwo += w.fivePlusTwo
			s.clubs += w.clubs
			s.seats += w.seats
			s.filled += w.filled
			s.waitlisted += w.waitlisted
			s.responses += w.responses
			s.supporters += w.supporters
			s.satisfied += w.satisfied
			s.attended += w.attended
			s.attended2 += w.attended2
		}
		return s
	}
	cases := []struct {
		name string
		typ  string
		id   int64
		want want
	}{
		{"schoolA", models.ScopeSchool, w.a.ID, schoolA},
		{"schoolB", models.ScopeSchool, w.b.ID, schoolB},
		{"emptySchool", models.ScopeSchool, w.z.ID, schoolZ},
		{"schoolWithoutTerm", models.ScopeSchool, w.n.ID, schoolN},
		{"county1", models.ScopeRegion, w.k1.ID, sum(schoolA, schoolZ)},
		{"county2", models.ScopeRegion, w.k2.ID, sum(schoolB, schoolN)},
		{"city", models.ScopeRegion, w.city.ID, sum(schoolA, schoolB, schoolZ, schoolN)},
		{"province", models.ScopeRegion, w.province.ID, sum(schoolA, schoolB, schoolZ, schoolN)},
		{"emptyRegion", models.ScopeRegion, w.empty.ID, want{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.want.check(t, snap(t, w.db, c.typ, c.id)) })
	}

	t.Run("rates", func(t *testing.T) {
		s := snap(t, w.db, models.ScopeSchool, w.a.ID)
		for name, r := range map[string][2]float64{
			"participation_rate":  {rateOf(s.ParticipationRate()), 3.0 / 7},
			"coverage_rate":       {rateOf(s.CoverageRate()), 1},
			"fill_rate":           {rateOf(s.FillRate()), 4.0 / 18},
			"parent_support_rate": {rateOf(s.ParentSupportRate()), 1.0 / 3},
			"satisfaction_rate":   {rateOf(s.SatisfactionRate()), 2.0 / 3},
			"attendance_rate":     {rateOf(s.AttendanceRate()), 3.0 / 4},
		} {
			if math.Abs(r[0]-r[1]) > 1e-9 {
				t.Errorf("%s = %v, want %v", name, r[0], r[1])
			}
		}
		city := snap(t, w.db, models.ScopeRegion, w.city.ID)
		if got := rateOf(city.CoverageRate()); got != 0.5 {
			t.Errorf("city coverage_rate = %v, want 0.5 (A and B of 4 schools)", got)
		}
		empty := snap(t, w.db, models.ScopeRegion, w.empty.ID)
		// SPEC: a rate whose denominator is zero is no data (nil), not 0.
		if empty.ParticipationRate() != nil || empty.CoverageRate() != nil || empty.AttendanceRate() != nil {
			t.Error("rates of an empty region must be nil (no data)")
		}
		if f := models.Metrics["participation_rate"](empty); f != nil {
			t.Errorf("trend value of an empty region = %v, want nil", *f)
		}
		if f := models.Metrics["students"](empty); f == nil || *f != 0 {
			t.Error("a count of an empty region must be 0, not nil")
		}
	})

	t.Run("byGrade", func(t *testing.T) {
		rows, err := models.FindBreakdown(ctx, w.db, models.StatScope{Type: models.ScopeSchool, ID: w.a.ID}, statsDay, models.ByGrade)
		if err != nil {
			t.Fatal(err)
		}
		// grade 3: a1 a2 (both participate, a1 basic, both club, both answered,
		// attendance 3/4); grade 4: a3 a4 a5 (a3 answered); grade 5: a7 a8 (a7 basic).
		wants := map[int]want{
			3: {students: 2, participants: 2, basic: 1, club: 2, responses: 2, supporters: 1, satisfied: 2, attended: 3, attended2: 4},
			4: {students: 3, responses: 1},
			5: {students: 2, participants: 1, basic: 1},
		}
		if len(rows) != len(wants) {
			t.Fatalf("got %d grade rows, want %d", len(rows), len(wants))
		}
		for _, r := range rows {
			wants[r.Grade].check(t, r)
		}
		region, err := models.FindBreakdown(ctx, w.db, models.StatScope{Type: models.ScopeRegion, ID: w.city.ID}, statsDay, models.ByGrade)
		if err != nil {
			t.Fatal(err)
		}
		// city grades: 1 (b1 b2), 2 (b3, n1), 3, 4, 5 of A.
		got := map[int]int64{}
		for _, r := range region {
			got[r.Grade] = r.Students
		}
		if len(got) != 5 || got[1] != 2 || got[2] != 2 || got[3] != 2 || got[4] != 3 || got[5] != 2 {
			t.Fatalf("city students by grade = %v", got)
		}
	})

	t.Run("byCategory", func(t *testing.T) {
		rows, err := models.FindBreakdown(ctx, w.db, models.StatScope{Type: models.ScopeRegion, ID: w.city.ID}, statsDay, models.ByCategory)
		if err != nil {
			t.Fatal(err)
		}
		// arts: C2 (10 seats, a1). other: B's club (2 seats, b3).
		// sports: C1 + C3 (8 seats, a1 a2 a6 filled, a3 waiting; a1 a2 take part).
		wants := map[string]want{
			"arts":   {club: 1, clubs: 1, seats: 10, filled: 1},
			"other":  {club: 1, clubs: 1, seats: 2, filled: 1},
			"sports": {club: 2, clubs: 2, seats: 8, filled: 3, waitlisted: 1},
		}
		if len(rows) != len(wants) {
			t.Fatalf("got %d category rows, want %d", len(rows), len(wants))
		}
		for _, r := range rows {
			wants[r.Category].check(t, r)
		}
	})

	t.Run("recomputeReplaces", func(t *testing.T) {
		again, err := models.ComputeStats(ctx, w.db, statsDay, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if again != rows {
			t.Fatalf("second run wrote %d rows, first %d", again, rows)
		}
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM stat_snapshots WHERE snap_date = ?", statsDay).Scan(&n)
		if n != rows {
			t.Fatalf("%d rows stored, want %d", n, rows)
		}
		schoolA.check(t, snap(t, w.db, models.ScopeSchool, w.a.ID))
	})

	t.Run("ErrNoSnapshot", func(t *testing.T) {
		_, err := models.FindSnapshot(ctx, w.db, models.StatScope{Type: models.ScopeSchool, ID: w.a.ID}, "2026-10-14")
		if err != models.ErrNoSnapshot {
			t.Fatalf("got %v", err)
		}
	})
}

func TestFivePlusTwo(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	f := fx{t, db}
	region := modelstest.Region(t, db, nil)
	type off struct {
		kind, status string
		days         int
		start, end   int
	}
	cases := []struct {
		name string
		offs []off
		want int64
	}{
		{"120minutesEveryDay", []off{{"basic", "published", weekdays5, hm(16, 0), hm(18, 0)}}, 1},
		{"119minutes", []off{{"basic", "published", weekdays5, hm(16, 0), hm(17, 59)}}, 0},
		{"fourWeekdays", []off{{"basic", "published", mask(1, 2, 3, 4), hm(16, 0), hm(18, 0)}}, 0},
		{"weekendDoesNotReplaceFriday", []off{{"basic", "published", mask(1, 2, 3, 4, 6), hm(16, 0), hm(18, 0)}}, 0},
		{"consecutiveHalves", []off{
			{"basic", "published", weekdays5, hm(16, 0), hm(17, 0)},
			{"basic", "published", weekdays5, hm(17, 0), hm(18, 0)}}, 1},
		{"parallelOfferingsCountOnce", []off{
			{"basic", "published", weekdays5, hm(16, 0), hm(17, 30)},
			{"basic", "published", weekdays5, hm(16, 0), hm(17, 30)}}, 0},
		{"overlapping", []off{
			{"basic", "published", weekdays5, hm(16, 0), hm(17, 30)},
			{"basic", "published", weekdays5, hm(17, 0), hm(18, 0)}}, 1},
		{"overlapping119", []off{
			{"basic", "published", weekdays5, hm(16, 0), hm(17, 30)},
			{"basic", "published", weekdays5, hm(16, 30), hm(17, 59)}}, 0},
		{"splitDays", []off{
			{"basic", "published", mask(1, 3, 5), hm(16, 0), hm(18, 0)},
			{"basic", "published", mask(2, 4), hm(15, 0), hm(17, 0)}}, 1},
		{"draftDoesNotCount", []off{{"basic", "draft", weekdays5, hm(16, 0), hm(18, 0)}}, 0},
		{"clubDoesNotCount", []off{{"club", "published", weekdays5, hm(16, 0), hm(18, 0)}}, 0},
	}
	schools := map[string]int64{}
	for _, c := range cases {
		s := modelstest.School(t, db, region.ID)
		schools[c.name] = s.ID
		term := f.term(s.ID, "2026-09-01", "2027-01-20")
		for _, o := range c.offs {
			f.offering(term, o.kind, "", o.status, o.days, o.start, o.end, 30)
		}
	}
	if _, err := models.ComputeStats(context.Background(), db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range cases {
		total += c.want
		t.Run(c.name, func(t *testing.T) {
			if got := snap(t, db, models.ScopeSchool, schools[c.name]).Schools5Plus2; got != c.want {
				t.Fatalf("schools_5plus2 = %d, want %d", got, c.want)
			}
		})
	}
	if got := snap(t, db, models.ScopeRegion, region.ID).Schools5Plus2; got != total {
		t.Fatalf("region schools_5plus2 = %d, want %d", got, total)
	}
}
