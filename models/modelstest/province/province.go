// Package province generates a province of schools for the stats job: the
// one data set behind the stats benchmark of ./models, its cross-check
// against plain counting queries, and the load program's stats scenario.
//
// Generate fills a freshly migrated, empty database, set-based (one INSERT
// … SELECT over a recursive counter per table) with explicit ids: region 1
// the province, then the cities, then the counties; school s in county
// 2+Cities+(s-1)/SchoolsPerCounty; every 100th school without a term; 12
// offerings per school with a term (two basic halves of 16:00–18:00, every
// 7th school's on four weekdays only; 10 clubs in 6 categories, one day a
// week each, the last a draft); three enrollments per student (a basic and
// two clubs on different days; every 20th student's second club
// waitlisted, every 33rd's first withdrawn); every 50th student inactive;
// three attendance marks for every third student; a survey answered for
// every second. The state is one the enrollment rules allow: no club over
// its capacity, a club with a waitlist full, waitlist positions 1..N,
// counters equal to the rows.
package province

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"kehou/models"
)

// Shape is the size of a generated province.
type Shape struct {
	Cities, CountiesPerCity, SchoolsPerCounty int
	StudentsPerSchool                         int
}

// Full is the province the stats target is set for: 3,000 schools,
// 1,002,000 students, about 2.9 million enrollments.
var Full = Shape{Cities: 10, CountiesPerCity: 10, SchoolsPerCounty: 30, StudentsPerSchool: 334}

// Reduced is Full with a hundredth of its schools: every school the full
// size (its students, clubs and their demand) in two cities of three
// counties, so what the full generator does to one school is tested on
// every run in a second.
var Reduced = Shape{Cities: 2, CountiesPerCity: 3, SchoolsPerCounty: 5, StudentsPerSchool: Full.StudentsPerSchool}

// Schools is the number of schools of the shape.
func (s Shape) Schools() int { return s.Cities * s.CountiesPerCity * s.SchoolsPerCounty }

// Students is the number of students of the shape.
func (s Shape) Students() int { return s.Schools() * s.StudentsPerSchool }

// Set is what Generate inserted: the regions a dashboard reads (the
// province, its first city and that city's first county) and the size.
type Set struct {
	Shape
	Root, City, County int64
	Enrollments        int64
}

// Generate inserts the province into db, in one transaction, with every
// term containing day (its date in Asia/Shanghai), the attendance marks on
// the three days before it and the survey answered ten days before it.
func Generate(ctx context.Context, db *models.DB, s Shape, day time.Time) (Set, error) {
	set := Set{Shape: s, Root: 1, City: 2, County: int64(2 + s.Cities)}
	if s.Schools() < 1 || s.StudentsPerSchool < 1 {
		return set, fmt.Errorf("province: empty shape %+v", s)
	}
	now := time.Now().UTC()
	day = day.In(models.Zone)
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, models.Zone)
	date := func(days int) string { return d.AddDate(0, 0, days).Format(time.DateOnly) }
	at8 := func(days int) time.Time { return d.AddDate(0, 0, days).Add(8 * time.Hour).UTC() }
	nSchools, nStudents := s.Schools(), s.Students()
	counter := func(n int) string {
		return "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " + strconv.Itoa(n) + ") "
	}
	firstCounty := 2 + s.Cities
	stmts := []struct {
		what string
		q    string
		args []any
	}{
		{"province", `INSERT INTO regions (id, parent_id, name, code, path, level, created_at) VALUES (1, NULL, '省', 'P1', '/1/', 1, ?)`, []any{now}},
		{"cities", counter(s.Cities) + `INSERT INTO regions (id, parent_id, name, code, path, level, created_at)
			SELECT 1 + i, 1, '市' || i, 'C' || i, '/1/' || (1 + i) || '/', 2, ? FROM c`, []any{now}},
		{"counties", counter(s.Cities*s.CountiesPerCity) + `INSERT INTO regions (id, parent_id, name, code, path, level, created_at)
			SELECT ? + i - 1, 2 + (i - 1) / ?, '县' || i, 'K' || i, '/1/' || (2 + (i - 1) / ?) || '/' || (? + i - 1) || '/', 3, ? FROM c`,
			[]any{firstCounty, s.CountiesPerCity, s.CountiesPerCity, firstCounty, now}},
		{"schools", counter(nSchools) + `INSERT INTO schools (id, region_id, name, code, created_at)
			SELECT i, ? + (i - 1) / ?, '第' || i || '小学', 'S' || i, ? FROM c`, []any{firstCounty, s.SchoolsPerCounty, now}},
		{"terms", counter(nSchools) + `INSERT INTO terms (id, school_id, name, starts_on, ends_on, max_clubs, created_at)
			SELECT i, i, '本学期', ?, ?, 2, ? FROM c WHERE i % 100 <> 0`, []any{date(-45), date(60), now}},
		{"user", `INSERT INTO users (id, role, username, created_at, updated_at) VALUES (1, 'parent', 'provincegen', ?, ?)`, []any{now, now}},
		// Position p = (i - 1) % 12: 0 and 1 the basic halves, 2–11 the
		// clubs (11 a draft), club p on weekday 1 + (p - 2) % 5.
		{"offerings", counter(nSchools*12) + `INSERT INTO offerings (id, school_id, term_id, kind, name, category, weekdays, start_min, end_min,
				capacity, grades, enroll_opens_at, enroll_closes_at, status, created_at, updated_at)
			SELECT i, t.school_id, t.id, CASE WHEN (i - 1) % 12 < 2 THEN 'basic' ELSE 'club' END,
				CASE WHEN (i - 1) % 12 < 2 THEN '作业辅导' ELSE '社团' || ((i - 1) % 12 - 1) END,
				CASE WHEN (i - 1) % 12 < 2 THEN 'homework' ELSE
					CASE (i - 1) % 6 WHEN 0 THEN 'sports' WHEN 1 THEN 'arts' WHEN 2 THEN 'science' WHEN 3 THEN 'reading' WHEN 4 THEN 'music' ELSE 'handcraft' END END,
				CASE WHEN (i - 1) % 12 < 2 AND t.school_id % 7 = 0 THEN 30
				     WHEN (i - 1) % 12 < 2 THEN 62
				     ELSE CASE ((i - 1) % 12 - 2) % 5 WHEN 0 THEN 2 WHEN 1 THEN 4 WHEN 2 THEN 8 WHEN 3 THEN 16 ELSE 32 END END,
				CASE WHEN (i - 1) % 12 = 1 THEN 1020 ELSE 960 END,
				CASE WHEN (i - 1) % 12 = 0 THEN 1020 ELSE 1080 END,
				CASE WHEN (i - 1) % 12 < 2 THEN ? ELSE 60 END, 126, ?, ?,
				CASE WHEN (i - 1) % 12 = 11 THEN 'draft' ELSE 'published' END, ?, ?
			FROM c JOIN terms t ON t.id = 1 + (i - 1) / 12`, []any{s.StudentsPerSchool, at8(-50), at8(-40), now, now}},
		{"students", counter(nStudents) + `INSERT INTO students (id, school_id, student_no, name, gender, grade, class_name, active, created_at, updated_at)
			SELECT i, 1 + (i - 1) / ?, 'S' || i, '学生' || i, CASE WHEN i % 2 = 0 THEN '男' ELSE '女' END,
				1 + i % 6, (1 + i % 8) || '班', i % 50 <> 0, ?, ? FROM c`,
			[]any{s.StudentsPerSchool, now, now}},
		// Choice r of student s: 0 a basic half, 1 club 3 + s % 10, 2 club
		// 3 + (s + 1) % 10 (the next position: another weekday).
		{"enrollments", `INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, rank, applied_by, created_at, updated_at)
			SELECT s.id, (s.school_id - 1) * 12 + CASE r.r WHEN 0 THEN 1 + s.id % 2 WHEN 1 THEN 3 + s.id % 10 ELSE 3 + (s.id + 1) % 10 END,
				s.school_id, t.id,
				CASE WHEN r.r = 2 AND s.id % 20 = 0 THEN 'waitlisted' WHEN r.r = 1 AND s.id % 33 = 0 THEN 'withdrawn' ELSE 'enrolled' END,
				0, 1, ?, ?
			FROM students s JOIN terms t ON t.id = s.school_id
			CROSS JOIN (SELECT 0 AS r UNION ALL SELECT 1 UNION ALL SELECT 2) r`, []any{now, now}},
		{"waitlist positions", `UPDATE enrollments SET waitlist_position = (SELECT count(*) FROM enrollments w
			WHERE w.offering_id = enrollments.offering_id AND w.status = 'waitlisted' AND w.id <= enrollments.id)
			WHERE status = 'waitlisted'`, nil},
		// No club is over its capacity: a club more students chose than it
		// seats (at 334 students a school, 67 choose each club of 60) is
		// made big enough before its counter is set, since the counter's
		// CHECK (enrolled_count <= capacity) holds at every statement.
		{"capacities", `UPDATE offerings SET capacity = (SELECT CASE WHEN count(*) > offerings.capacity THEN count(*)
			ELSE offerings.capacity END FROM enrollments e WHERE e.offering_id = offerings.id AND e.status = 'enrolled')`, nil},
		{"seat counters", `UPDATE offerings SET
			enrolled_count = (SELECT count(*) FROM enrollments e WHERE e.offering_id = offerings.id AND e.status = 'enrolled'),
			waitlisted_count = (SELECT count(*) FROM enrollments e WHERE e.offering_id = offerings.id AND e.status = 'waitlisted')`, nil},
		// A club with a waitlist is full.
		{"full waitlisted clubs", `UPDATE offerings SET capacity = enrolled_count WHERE waitlisted_count > 0`, nil},
		{"attendance", `INSERT INTO attendance (offering_id, student_id, school_id, session_date, status, created_at)
			SELECT (s.school_id - 1) * 12 + 1 + s.id % 2, s.id, s.school_id, d.d,
				CASE WHEN s.id % 10 = 0 THEN 'absent' WHEN s.id % 10 = 1 THEN 'late' WHEN s.id % 10 = 2 THEN 'leave' ELSE 'present' END, ?
			FROM students s JOIN terms t ON t.id = s.school_id
			CROSS JOIN (SELECT ? AS d UNION ALL SELECT ? UNION ALL SELECT ?) d
			WHERE s.id % 3 = 0`, []any{now, date(-3), date(-2), date(-1)}},
		{"survey", `INSERT INTO surveys (id, region_id, title, opens_at, closes_at, opens_on, created_by, created_at)
			VALUES (1, 1, '课后服务家长满意度调查', ?, ?, ?, 1, ?)`, []any{at8(-14), at8(14), date(-14), now}},
		{"survey answers", `INSERT INTO survey_responses (survey_id, student_id, school_id, user_id, support, satisfaction, created_at)
			SELECT 1, s.id, s.school_id, 1, CASE WHEN s.id % 25 = 0 THEN 'oppose' ELSE 'support' END,
				CASE WHEN s.id % 40 = 0 THEN 'unsatisfied' ELSE 'satisfied' END, ?
			FROM students s WHERE s.id % 2 = 0`, []any{at8(-10)}},
	}
	if db.Dialect == models.SQLite {
		// The writer is one connection, so these hold for the load: no
		// per-row foreign key lookups, and a page cache big enough that
		// the index B-trees are not spilled to disk mid-transaction.
		if err := db.W.WithContext(ctx).Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return set, err
		}
		defer db.W.Exec("PRAGMA foreign_keys = ON")
		var cache int64
		if err := db.W.WithContext(ctx).Raw("PRAGMA cache_size").Scan(&cache).Error; err != nil {
			return set, err
		}
		if err := db.W.WithContext(ctx).Exec("PRAGMA cache_size = -1048576").Error; err != nil {
			return set, err
		}
		defer db.W.Exec("PRAGMA cache_size = " + strconv.FormatInt(cache, 10))
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		for _, st := range stmts {
			if err := tx.Exec(st.q, st.args...).Error; err != nil {
				return fmt.Errorf("province: %s: %w", st.what, err)
			}
		}
		if db.Dialect == models.Postgres {
			for _, t := range []string{"regions", "schools", "terms", "users", "offerings", "students", "surveys"} {
				if err := tx.Exec("SELECT setval(pg_get_serial_sequence('" + t + "', 'id'), (SELECT MAX(id) FROM " + t + "))").Error; err != nil {
					return err
				}
			}
		}
		return tx.Raw("SELECT count(*) FROM enrollments").Scan(&set.Enrollments).Error
	})
	if err != nil {
		return set, err
	}
	// The planner statistics PostgreSQL's autovacuum would gather within a
	// minute, and that kehou itself refreshes on SQLite when it opens the
	// database.
	return set, db.W.WithContext(ctx).Exec("ANALYZE").Error
}

// Counts are the statistics of a generated province as plain counting
// queries see them, written apart from the stats job so they can check it.
type Counts struct {
	Schools, Students, Participants, SchoolsOffering, Schools5Plus2 int64
	Clubs, SeatsFilled, Waitlisted, Responses, AttendanceMarked     int64
}

// Count reads Counts from a database holding one generated province (every
// term contains the day it was generated for, so "the term" is any term).
func Count(ctx context.Context, db *models.DB) (Counts, error) {
	var c Counts
	for _, q := range []struct {
		dst *int64
		sql string
	}{
		{&c.Schools, "SELECT COUNT(*) FROM schools"},
		{&c.Students, "SELECT COUNT(*) FROM students WHERE active = TRUE"},
		{&c.Participants, `SELECT COUNT(DISTINCT e.student_id) FROM enrollments e
			JOIN offerings o ON o.id = e.offering_id JOIN students s ON s.id = e.student_id
			WHERE e.status = 'enrolled' AND o.status = 'published' AND s.active = TRUE`},
		{&c.SchoolsOffering, "SELECT COUNT(DISTINCT school_id) FROM offerings WHERE kind = 'basic' AND status = 'published'"},
		// The basic halves cover Mon–Fri, 16:00–18:00, except every 7th
		// school's (Mon–Thu).
		{&c.Schools5Plus2, "SELECT COUNT(*) FROM terms WHERE school_id % 7 <> 0"},
		{&c.Clubs, "SELECT COUNT(*) FROM offerings WHERE kind = 'club' AND status = 'published'"},
		{&c.SeatsFilled, `SELECT COUNT(*) FROM enrollments e JOIN offerings o ON o.id = e.offering_id
			WHERE e.status = 'enrolled' AND o.status = 'published' AND o.kind = 'club'`},
		{&c.Waitlisted, `SELECT COUNT(*) FROM enrollments e JOIN offerings o ON o.id = e.offering_id
			WHERE e.status = 'waitlisted' AND o.status = 'published' AND o.kind = 'club'`},
		{&c.Responses, "SELECT COUNT(*) FROM survey_responses r JOIN terms t ON t.school_id = r.school_id"},
		{&c.AttendanceMarked, "SELECT COUNT(*) FROM attendance WHERE status <> 'leave'"},
	} {
		if err := db.Read(ctx).Raw(q.sql).Scan(q.dst).Error; err != nil {
			return c, fmt.Errorf("province: count: %w", err)
		}
	}
	return c, nil
}
