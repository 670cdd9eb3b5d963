package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestStatsFromRolls computes the daily loop's figures from hand-made
// rolls, each checked against a count done by hand: attendance_rate,
// five_day_rate, teacher_participation_rate, sessions_held and
// sessions_cancelled.
func TestStatsFromRolls(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	f := fx{t, db}
	reg := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, reg.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0)
	t1 := modelstest.Staff(t, db, models.RoleTeacher, sc.ID, 0)
	t2 := modelstest.Staff(t, db, models.RoleTeacher, sc.ID, 0)
	modelstest.Staff(t, db, models.RoleTeacher, sc.ID, 0) // a third teacher who never marks
	term := f.term(sc.ID, "2030-09-02", "2031-01-17")

	// Basic service: s1 every weekday in one offering; s2 Mon/Wed/Fri
	// only; s3 Mon/Wed/Fri plus Tue/Thu in two offerings (five days too).
	b5 := f.offering(term, "basic", "homework", "published", weekdays5, hm(15, 30), hm(17, 30), 100)
	b3 := f.offering(term, "basic", "homework", "published", mask(1, 3, 5), hm(15, 30), hm(17, 30), 100)
	b2 := f.offering(term, "basic", "homework", "published", mask(2, 4), hm(15, 30), hm(16, 30), 100)
	s1 := modelstest.Student(t, db, sc.ID, 3, "")
	s2 := modelstest.Student(t, db, sc.ID, 3, "")
	s3 := modelstest.Student(t, db, sc.ID, 4, "")
	f.enroll(s1, b5, "enrolled", admin.ID)
	f.enroll(s2, b3, "enrolled", admin.ID)
	f.enroll(s3, b3, "enrolled", admin.ID)
	f.enroll(s3, b2, "enrolled", admin.ID)

	// Clubs: c on Tuesday/Thursday taught by t1, d on Tuesday by t2.
	c := f.offering(term, "club", "sports", "published", mask(2, 4), hm(16, 30), hm(18, 0), 30)
	d := f.offering(term, "club", "arts", "published", mask(2), hm(16, 30), hm(18, 0), 30)
	f.exec("UPDATE offerings SET teacher_user_id = ? WHERE id = ?", t1.ID, c.ID)
	f.exec("UPDATE offerings SET teacher_user_id = ? WHERE id = ?", t2.ID, d.ID)
	for _, s := range []models.Student{s1, s2, s3} {
		f.enroll(s, c, "enrolled", admin.ID)
	}
	f.enroll(s1, d, "enrolled", admin.ID)
	start := time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)
	for _, o := range []int64{c.ID, d.ID} {
		if err := models.SyncSessions(ctx, db, o, start); err != nil {
			t.Fatal(err)
		}
	}
	session := func(o int64, date string) int64 {
		ss, err := models.FindOfferingSessions(ctx, db, models.SystemActor, o, date, date, models.Paging{})
		if err != nil || len(ss) != 1 {
			t.Fatalf("session of %d on %s: %v %v", o, date, ss, err)
		}
		return ss[0].ID
	}
	mark := func(a models.User, id int64, at time.Time, reason string, recs ...models.MarkRecord) {
		if _, err := models.MarkAttendance(ctx, db, a.Actor(), id, recs, reason, at); err != nil {
			t.Fatal(err)
		}
	}
	// 3 Sep: s1 present, s2 absent, s3 late. 5 Sep: s1 leave, s2 and s3
	// present; the next day the admin corrects s2 to absent.
	mark(t1, session(c.ID, "2030-09-03"), cst("2030-09-03 16:40"), "",
		models.MarkRecord{StudentID: s1.ID, Status: "present"}, models.MarkRecord{StudentID: s2.ID, Status: "absent"},
		models.MarkRecord{StudentID: s3.ID, Status: "late"})
	d05 := session(c.ID, "2030-09-05")
	mark(t1, d05, cst("2030-09-05 16:40"), "",
		models.MarkRecord{StudentID: s1.ID, Status: "leave"}, models.MarkRecord{StudentID: s2.ID, Status: "present"},
		models.MarkRecord{StudentID: s3.ID, Status: "present"})
	mark(admin, d05, cst("2030-09-06 09:00"), "补录", models.MarkRecord{StudentID: s2.ID, Status: "absent"})
	// d's session of 10 Sep is cancelled (weather).
	if _, err := models.CancelSession(ctx, db, admin.Actor(), session(d.ID, "2030-09-10"), "暴雨", cst("2030-09-10 12:00")); err != nil {
		t.Fatal(err)
	}

	if _, err := models.ComputeStats(ctx, db, "2030-09-12", cst("2030-09-12 23:00")); err != nil {
		t.Fatal(err)
	}
	s, err := models.FindSnapshot(ctx, db, models.StatScope{Type: models.ScopeSchool, ID: sc.ID}, "2030-09-12")
	if err != nil {
		t.Fatal(err)
	}
	r, err := models.FindSnapshot(ctx, db, models.StatScope{Type: models.ScopeRegion, ID: reg.ID}, "2030-09-12")
	if err != nil {
		t.Fatal(err)
	}
	// Attended: 3 Sep s1, s3; 5 Sep s3 = 3. Counted marks (leave
	// excluded): 3 + 2 = 5.
	// c meets 3, 5, 10, 12 Sep (4 held); d 3 Sep held, 10 Sep cancelled.
	for _, snap := range []models.Snapshot{s, r} {
		for name, c := range map[string]struct{ got, want float64 }{
			"attendance_rate":            {rateOf(snap.AttendanceRate()), 3.0 / 5},
			"five_day_rate":              {rateOf(snap.FiveDayRate()), 2.0 / 3},
			"teacher_participation_rate": {rateOf(snap.TeacherParticipationRate()), 1.0 / 3},
			"sessions_held":              {float64(snap.SessionsHeld), 5},
			"sessions_cancelled":         {float64(snap.SessionsCancelled), 1},
		} {
			if c.got != c.want {
				t.Errorf("%s %s = %v, want %v", snap.ScopeType, name, c.got, c.want)
			}
			if f, ok := models.Metrics[name]; !ok || rateOf(f(snap)) != c.want {
				t.Errorf("metric %s missing or wrong", name)
			}
		}
	}
	// Computed on the 12th itself: its 16:30–18:00 session is held only
	// once it has ended (SPEC: sessions of past days and of today once
	// ended).
	for at, want := range map[string]int64{"2030-09-12 10:00": 4, "2030-09-12 17:59": 4, "2030-09-12 18:00": 5} {
		if _, err := models.ComputeStats(ctx, db, "2030-09-12", cst(at)); err != nil {
			t.Fatal(err)
		}
		snap, err := models.FindSnapshot(ctx, db, models.StatScope{Type: models.ScopeSchool, ID: sc.ID}, "2030-09-12")
		if err != nil {
			t.Fatal(err)
		}
		if snap.SessionsHeld != want {
			t.Errorf("sessions_held computed at %s = %d, want %d", at, snap.SessionsHeld, want)
		}
	}
	// Per grade: grade 3 holds s1 (five days) and s2; grade 4 s3 (five days).
	rows, err := models.FindBreakdown(ctx, db, models.StatScope{Type: models.ScopeSchool, ID: sc.ID}, "2030-09-12", models.ByGrade)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rows {
		want := map[int]float64{3: 0.5, 4: 1}[g.Grade]
		if rateOf(g.FiveDayRate()) != want {
			t.Errorf("grade %d five_day_rate = %v, want %v", g.Grade, rateOf(g.FiveDayRate()), want)
		}
	}
}
