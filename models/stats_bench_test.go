package models_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// province is the shape of a generated data set.
type province struct {
	cities, countiesPerCity, schoolsPerCounty int
	studentsPerSchool                         int
}

// fullProvince is issue 5's province: 3,000 schools, 1,000,000 students,
// 3,000,000 enrollments (three per student with a term).
var fullProvince = province{cities: 10, countiesPerCity: 10, schoolsPerCounty: 30, studentsPerSchool: 334}

func (p province) schools() int { return p.cities * p.countiesPerCity * p.schoolsPerCounty }

// generateProvince fills an empty database with a province, set-based (one
// INSERT … SELECT over a recursive counter per table), with explicit ids:
// region 1 the province, then the cities, then the counties; school s in
// county 2+cities+(s-1)/schoolsPerCounty; every 100th school without a
// term; 12 offerings per school with a term (2 basic halves of 16:00–18:00,
// every 7th school's on four weekdays only; 10 clubs in 6 categories, the
// last a draft); three enrollments per student (a basic and two clubs; some
// waitlisted or withdrawn); every 50th student inactive; three attendance
// records for every third student; a survey answered for every second.
func generateProvince(tb testing.TB, db *models.DB, p province) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	nSchools := p.schools()
	nStudents := nSchools * p.studentsPerSchool
	counter := func(n int) string {
		return "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " + itoa(int64(n)) + ") "
	}
	firstCounty := 2 + p.cities
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO regions (id, parent_id, name, code, path, level, created_at) VALUES (1, NULL, '省', 'P1', '/1/', 1, ?)`, []any{now}},
		{counter(p.cities) + `INSERT INTO regions (id, parent_id, name, code, path, level, created_at)
			SELECT 1 + i, 1, '市', 'C' || i, '/1/' || (1 + i) || '/', 2, ? FROM c`, []any{now}},
		{counter(p.cities*p.countiesPerCity) + `INSERT INTO regions (id, parent_id, name, code, path, level, created_at)
			SELECT ? + i - 1, 2 + (i - 1) / ?, '县', 'K' || i, '/1/' || (2 + (i - 1) / ?) || '/' || (? + i - 1) || '/', 3, ? FROM c`,
			[]any{firstCounty, p.countiesPerCity, p.countiesPerCity, firstCounty, now}},
		{counter(nSchools) + `INSERT INTO schools (id, region_id, name, code, created_at)
			SELECT i, ? + (i - 1) / ?, '学校' || i, 'S' || i, ? FROM c`, []any{firstCounty, p.schoolsPerCounty, now}},
		{counter(nSchools) + `INSERT INTO terms (id, school_id, name, starts_on, ends_on, max_clubs, created_at)
			SELECT i, i, '2026秋', '2026-09-01', '2027-01-20', 2, ? FROM c WHERE i % 100 <> 0`, []any{now}},
		{`INSERT INTO users (id, role, username, created_at, updated_at) VALUES (1, 'parent', 'gen', ?, ?)`, []any{now, now}},
		{counter(nSchools*12) + `INSERT INTO offerings (id, school_id, term_id, kind, name, category, weekdays, start_min, end_min,
				capacity, grades, enroll_opens_at, enroll_closes_at, status, created_at, updated_at)
			SELECT i, t.school_id, t.id, CASE WHEN (i - 1) % 12 < 2 THEN 'basic' ELSE 'club' END, '项目' || i,
				CASE WHEN (i - 1) % 12 < 2 THEN '' ELSE 'cat' || ((i - 1) % 6) END,
				CASE WHEN (i - 1) % 12 < 2 AND t.school_id % 7 = 0 THEN 30 ELSE 62 END,
				CASE WHEN (i - 1) % 12 = 1 THEN 1020 ELSE 960 END,
				CASE WHEN (i - 1) % 12 = 0 THEN 1020 ELSE 1080 END,
				60, 126, ?, ?, CASE WHEN (i - 1) % 12 = 11 THEN 'draft' ELSE 'published' END, ?, ?
			FROM c JOIN terms t ON t.id = 1 + (i - 1) / 12`, []any{now, now, now, now}},
		{counter(nStudents) + `INSERT INTO students (id, school_id, student_no, name, gender, grade, class_name, active, created_at, updated_at)
			SELECT i, 1 + (i - 1) / ?, 'S' || i, '学生', '男', 1 + i % 6, '1班', i % 50 <> 0, ?, ? FROM c`,
			[]any{p.studentsPerSchool, now, now}},
		{`INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, applied_by, created_at, updated_at)
			SELECT s.id, (s.school_id - 1) * 12 + CASE r.r WHEN 0 THEN 1 + s.id % 2 WHEN 1 THEN 3 + s.id % 10 ELSE 3 + (s.id + 5) % 10 END,
				s.school_id, t.id,
				CASE WHEN r.r = 2 AND s.id % 20 = 0 THEN 'waitlisted' WHEN r.r = 1 AND s.id % 33 = 0 THEN 'withdrawn' ELSE 'enrolled' END,
				1, ?, ?
			FROM students s JOIN terms t ON t.id = s.school_id
			CROSS JOIN (SELECT 0 AS r UNION ALL SELECT 1 UNION ALL SELECT 2) r`, []any{now, now}},
		{`INSERT INTO attendance (offering_id, student_id, school_id, session_date, status, created_at)
			SELECT (s.school_id - 1) * 12 + 1 + s.id % 2, s.id, s.school_id, d.d,
				CASE WHEN s.id % 10 = 0 THEN 'absent' WHEN s.id % 10 = 1 THEN 'late' WHEN s.id % 10 = 2 THEN 'leave' ELSE 'present' END, ?
			FROM students s JOIN terms t ON t.id = s.school_id
			CROSS JOIN (SELECT '2026-10-12' AS d UNION ALL SELECT '2026-10-13' UNION ALL SELECT '2026-10-14') d
			WHERE s.id % 3 = 0`, []any{now}},
		{`INSERT INTO surveys (id, region_id, title, opens_at, closes_at, opens_on, created_by, created_at)
			VALUES (1, 1, '满意度', ?, ?, '2026-10-01', 1, ?)`, []any{cst("2026-10-01 08:00").UTC(), cst("2026-10-31 08:00").UTC(), now}},
		{`INSERT INTO survey_responses (survey_id, student_id, school_id, user_id, support, satisfaction, created_at)
			SELECT 1, s.id, s.school_id, 1, CASE WHEN s.id % 25 = 0 THEN 'oppose' ELSE 'support' END,
				CASE WHEN s.id % 40 = 0 THEN 'unsatisfied' ELSE 'satisfied' END, ?
			FROM students s WHERE s.id % 2 = 0`, []any{cst("2026-10-05 08:00").UTC()}},
	}
	for _, s := range stmts {
		if err := db.W.WithContext(ctx).Exec(s.q, s.args...).Error; err != nil {
			tb.Fatalf("generate: %v\n%s", err, s.q)
		}
	}
	if db.Dialect == models.Postgres {
		for _, t := range []string{"regions", "schools", "terms", "users", "offerings", "students", "surveys"} {
			db.W.Exec("SELECT setval(pg_get_serial_sequence('" + t + "', 'id'), (SELECT MAX(id) FROM " + t + "))")
		}
		db.W.Exec("ANALYZE")
	} else {
		db.W.Exec("ANALYZE")
	}
}

// TestComputeStatsGenerated cross-checks the stats job on a small generated
// province against plain counting queries written independently here.
func TestComputeStatsGenerated(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	generateProvince(t, db, province{cities: 2, countiesPerCity: 2, schoolsPerCounty: 50, studentsPerSchool: 12})
	if _, err := models.ComputeStats(context.Background(), db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := snap(t, db, models.ScopeRegion, 1)
	count := func(q string) int64 {
		var n int64
		if err := db.R.Raw(q).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Every generated term contains statsDay, so "the term" is any term here.
	checks := map[string][2]int64{
		"schools":  {got.Schools, count("SELECT COUNT(*) FROM schools")},
		"students": {got.Students, count("SELECT COUNT(*) FROM students WHERE active = TRUE")},
		"participants": {got.Participants, count(`SELECT COUNT(DISTINCT e.student_id) FROM enrollments e
			JOIN offerings o ON o.id = e.offering_id JOIN students s ON s.id = e.student_id
			WHERE e.status = 'enrolled' AND o.status = 'published' AND s.active = TRUE`)},
		"schools_offering": {got.SchoolsOffering, count("SELECT COUNT(DISTINCT school_id) FROM offerings WHERE kind = 'basic' AND status = 'published'")},
		// basic halves 16:00–17:00 + 17:00–18:00 on Mon–Fri except every 7th school (Mon–Thu).
		"schools_5plus2": {got.Schools5Plus2, count("SELECT COUNT(*) FROM terms WHERE school_id % 7 <> 0")},
		"clubs":          {got.Clubs, count("SELECT COUNT(*) FROM offerings WHERE kind = 'club' AND status = 'published'")},
		"seats_filled": {got.SeatsFilled, count(`SELECT COUNT(*) FROM enrollments e JOIN offerings o ON o.id = e.offering_id
			WHERE e.status = 'enrolled' AND o.status = 'published' AND o.kind = 'club'`)},
		"waitlisted": {got.Waitlisted, count(`SELECT COUNT(*) FROM enrollments e JOIN offerings o ON o.id = e.offering_id
			WHERE e.status = 'waitlisted' AND o.status = 'published' AND o.kind = 'club'`)},
		"responses":         {got.Responses, count("SELECT COUNT(*) FROM survey_responses r JOIN terms t ON t.school_id = r.school_id")},
		"attendance_marked": {got.AttendanceMarked, count("SELECT COUNT(*) FROM attendance WHERE status <> 'leave'")},
	}
	for name, c := range checks {
		if c[0] != c[1] || c[1] == 0 {
			t.Errorf("%s = %d, counted %d", name, c[0], c[1])
		}
	}
}

// BenchmarkComputeStatsProvince measures the stats job on issue 5's province
// (3,000 schools, 1,000,000 students, 3,000,000 enrollments). Generating the
// data takes a minute or two and is not timed:
//
//	go test -run '^$' -bench ComputeStatsProvince -benchtime 1x ./models/
func BenchmarkComputeStatsProvince(b *testing.B) {
	db := modelstest.MustOpenDB(b)
	start := time.Now()
	generateProvince(b, db, fullProvince)
	b.Logf("%s: generated %d schools, %d students in %s", modelstest.Engine(), fullProvince.schools(),
		fullProvince.schools()*fullProvince.studentsPerSchool, time.Since(start).Round(time.Second))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), cpuTime()
		rows, err := models.ComputeStats(context.Background(), db, statsDay, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("stats job: %d snapshot rows in %s (this process's CPU: %s)", rows,
			time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond))
	}
}

// cpuTime is this process's CPU time (SQLite runs in-process; PostgreSQL's
// work is in the server and not counted).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
