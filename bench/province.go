package main

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"kehou/models"
)

// The province data set for the stats job, inserted in bulk (INSERT …
// SELECT over a generated sequence, one transaction, foreign keys checked
// off for the load only) into a freshly migrated database: a province of 10
// cities and 100 counties, S schools spread over the counties, each with a
// term containing today, one basic offering (Mon–Fri, 120 minutes, so the
// school is "5+2") and 10 clubs, N students, and E enrollments (each student
// in its school's basic offering and E/N-1 clubs).

// provinceSet describes what buildProvince inserted.
type provinceSet struct {
	Schools, Students, Enrollments int
	RootRegion                     int64
	City, County                   int64 // one city and one of its counties with schools
	UserID                         int64
}

const (
	provCities    = 10
	provCounties  = 100 // 10 per city
	offersPerSchl = 11  // 1 basic + 10 clubs
)

// buildProvince inserts the province set into the database at dbURL.
func buildProvince(ctx context.Context, dbURL string, schools, students, enrollments int, logf func(string, ...any)) (provinceSet, error) {
	ps := provinceSet{Schools: schools, Students: students}
	per := enrollments / students
	if per < 1 {
		per = 1
	}
	if per > offersPerSchl {
		per = offersPerSchl
	}
	ps.Enrollments = per * students
	db, err := models.Open(dbURL, models.Options{})
	if err != nil {
		return ps, err
	}
	defer db.Close()
	if _, err := models.Migrate(ctx, db); err != nil {
		return ps, err
	}
	d := db.Dialect
	now := time.Now().UTC()
	today := time.Now().In(models.StatsZone)
	if d == models.SQLite {
		// The writer is one connection, so these hold for the load: no
		// per-row foreign key lookups, and a page cache big enough that
		// the index B-trees are not spilled to disk mid-transaction.
		if err := db.W.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return ps, err
		}
		if err := db.W.Exec("PRAGMA cache_size = -1048576").Error; err != nil {
			return ps, err
		}
		defer db.W.Exec("PRAGMA foreign_keys = ON")
	}
	perSchool := (students + schools - 1) / schools
	ts := tsParam(d)
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"regions", `INSERT INTO regions (id, parent_id, name, code, path, level, created_at) ` + seqSelect(d,
			`n + 1`,
			`CASE WHEN n = 0 THEN NULL WHEN n <= 10 THEN 1 ELSE 2 + (n - 11) / 10 END`,
			`CASE WHEN n = 0 THEN '省' WHEN n <= 10 THEN '市' || n ELSE '县' || (n - 10) END`,
			`'PROV' || (n + 1)`,
			`CASE WHEN n = 0 THEN '/1/' WHEN n <= 10 THEN '/1/' || (n + 1) || '/'
			      ELSE '/1/' || (2 + (n - 11) / 10) || '/' || (n + 1) || '/' END`,
			`CASE WHEN n = 0 THEN 1 WHEN n <= 10 THEN 2 ELSE 3 END`, ts),
			[]any{now, 1 + provCities + provCounties}},
		{"schools", `INSERT INTO schools (id, region_id, name, code, created_at) ` + seqSelect(d,
			`n + 1`, `12 + n % 100`, `'第' || (n + 1) || '小学'`, `'PS' || (n + 1)`, ts),
			[]any{now, schools}},
		{"terms", `INSERT INTO terms (id, school_id, name, starts_on, ends_on, max_clubs, created_at) ` + seqSelect(d,
			`n + 1`, `n + 1`, `'本学期'`, `?`, `?`, `2`, ts),
			[]any{today.AddDate(0, 0, -30).Format("2006-01-02"), today.AddDate(0, 4, 0).Format("2006-01-02"), now, schools}},
		{"offerings", `INSERT INTO offerings (id, school_id, term_id, kind, name, category, weekdays, start_min, end_min,
			capacity, grades, mode, waitlist, enroll_opens_at, enroll_closes_at, status, created_at, updated_at) ` + seqSelect(d,
			`n + 1`, `n / 11 + 1`, `n / 11 + 1`,
			`CASE WHEN n % 11 = 0 THEN 'basic' ELSE 'club' END`,
			`CASE WHEN n % 11 = 0 THEN '作业辅导' ELSE '社团' || (n % 11) END`,
			`CASE n % 11 % 5 WHEN 0 THEN 'sports' WHEN 1 THEN 'arts' WHEN 2 THEN 'science' WHEN 3 THEN 'reading' ELSE 'labor' END`,
			`CASE WHEN n % 11 = 0 THEN 62 ELSE CASE n % 5 WHEN 0 THEN 2 WHEN 1 THEN 4 WHEN 2 THEN 8 WHEN 3 THEN 16 ELSE 32 END END`,
			`CASE WHEN n % 11 = 0 THEN 930 ELSE 1050 END`,
			`CASE WHEN n % 11 = 0 THEN 1050 ELSE 1140 END`,
			`CASE WHEN n % 11 = 0 THEN CAST(? AS INTEGER) ELSE CAST(? AS INTEGER) END`,
			`126`, `'fcfs'`, `TRUE`, ts, ts, `'published'`, ts, ts),
			[]any{perSchool + 100, perSchool*per/10 + 100, now.AddDate(0, 0, -40), now.AddDate(0, 0, -31), now, now, schools * offersPerSchl}},
		{"students", `INSERT INTO students (id, school_id, student_no, name, gender, grade, class_name, active, created_at, updated_at) ` + seqSelect(d,
			`n + 1`, `n % ? + 1`, `'P' || n`, `'学生' || n`,
			`CASE WHEN n % 2 = 0 THEN '男' ELSE '女' END`,
			`1 + (n / ?) % 6`, `(1 + (n / ?) % 8) || '班'`, `TRUE`, ts, ts),
			[]any{schools, schools, schools * 6, now, now, students}},
	}
	t0 := time.Now()
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		for _, s := range steps {
			t := time.Now()
			if err := tx.Exec(s.sql, s.args...).Error; err != nil {
				return fmt.Errorf("bench: province %s: %w", s.what, err)
			}
			logf("province: %s inserted in %v", s.what, time.Since(t).Round(time.Millisecond))
		}
		if err := tx.Raw(`INSERT INTO users (role, username, created_at, updated_at) VALUES ('platform_admin', ?, ?, ?) RETURNING id`,
			"provbulk"+randomHex(4), now, now).Scan(&ps.UserID).Error; err != nil {
			return err
		}
		// Enrollment n: student n / per, its k-th choice (k = n % per):
		// k = 0 the basic offering, else the clubs q+k of 10.
		t := time.Now()
		if err := tx.Exec(`INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, rank, applied_by, created_at, updated_at) `+
			seqSelect(d,
				`n / ? + 1`,
				`((n / ?) % ?) * 11 + 1 + CASE WHEN n % ? = 0 THEN 0 ELSE ((n / ?) / ? + n % ?) % 10 + 1 END`,
				`(n / ?) % ? + 1`, `(n / ?) % ? + 1`, `'enrolled'`, `0`, `CAST(? AS BIGINT)`, ts, ts),
			per, per, schools, per, per, schools, per, per, schools, per, schools, ps.UserID, now, now, ps.Enrollments).Error; err != nil {
			return fmt.Errorf("bench: province enrollments: %w", err)
		}
		logf("province: %d enrollments inserted in %v", ps.Enrollments, time.Since(t).Round(time.Millisecond))
		t = time.Now()
		if err := tx.Exec(`UPDATE offerings SET enrolled_count = (SELECT count(*) FROM enrollments e
			WHERE e.offering_id = offerings.id AND e.status = 'enrolled')`).Error; err != nil {
			return err
		}
		logf("province: seat counters set in %v", time.Since(t).Round(time.Millisecond))
		if d == models.Postgres {
			for _, tbl := range []string{"regions", "schools", "terms", "offerings", "students"} {
				if err := tx.Exec(fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))", tbl, tbl)).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return ps, err
	}
	// PostgreSQL's autovacuum would analyze the new rows soon anyway; on
	// SQLite nothing in kehou runs ANALYZE, so neither does the bench: the
	// planner sees the province as production would.
	if d == models.Postgres {
		if err := db.W.Exec("ANALYZE").Error; err != nil {
			return ps, err
		}
	}
	logf("province: %d schools, %d students, %d enrollments in %v", schools, students, ps.Enrollments, time.Since(t0).Round(time.Millisecond))
	ps.RootRegion, ps.City, ps.County = 1, 2, 12
	return ps, nil
}
