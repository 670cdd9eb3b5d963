package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The statistics of SPEC.md "Statistics", as the stats job computes them for a
// date D (Asia/Shanghai). Decisions the SPEC leaves open, fixed here:
//
//   - Closed schools (schools.status) leave the figures computed after they
//     close: no row, and no part of a region's; their past snapshots stay.
//   - The term of a school for D is its term with starts_on <= D <= ends_on
//     (if several overlap, the one that started last). A school without one
//     contributes its students and its school count, and nothing else.
//   - An offering counts when it is running: "published" or "closed" (closed
//     ends enrollment, not the service); draft and cancelled offerings do not.
//   - participants (and basic_/club_participants) count ACTIVE students only,
//     so participation_rate never exceeds 1.
//   - schools_5plus2: for each weekday 1–5, the union of the time ranges of
//     the school's running basic offerings that run that day is at least
//     120 minutes (two parallel offerings for different grades count once;
//     16:00–17:00 plus 17:00–18:00 counts 120).
//   - clubs, seats, seats_filled, waitlisted: running club offerings of the
//     term; seats = capacity, seats_filled = enrolled enrollments, waitlisted
//     = waitlisted enrollments (unmet demand, one per waiting enrollment).
//     A club with no category is counted under category "other".
//   - responses: the answers to surveys of the school's term for D (a survey
//     naming that term, or a survey with no term that opened between the
//     term's start and D), given before the end of D.
//   - attendance_rate: present+late / present+late+absent over the marks
//     teachers made on the rolls of the term's sessions from its start to D
//     (the attendance table the roll writes); leave does not count.
//   - five_day_rate: five_day / basic_participants, where five_day counts
//     the basic participants whose enrolled basic offerings together cover
//     all five weekdays.
//   - teacher_participation_rate: teachers_marking / teachers; teachers are
//     the enabled users with role teacher of the school, teachers_marking
//     those of them who changed a mark on a roll dated in the term up to D.
//   - sessions_held, sessions_cancelled: sessions of running (published or
//     closed) offerings of the term dated from its start to D, scheduled or
//     cancelled; a scheduled session of D itself counts held only once it
//     has ended by the run's clock. School figures only (grade 0, category
//     "").
//   - Rows: one per scope (every region, every school) with grade 0 and
//     category "" (all); one per school×grade and region×grade (student
//     figures only: students, participants, responses, attendance); one per
//     school×category and region×category (club figures: clubs, seats,
//     seats_filled, waitlisted, club_participants).

// Snapshot scope types.
const (
	ScopeRegion = "region"
	ScopeSchool = "school"
)

// uncategorised is the category of clubs that have none.
const uncategorised = "other"

// snapCounts are the key and count columns of stat_snapshots, in the order
// the school rows are built.
const snapCounts = `scope_type, scope_id, grade, category, students, participants, basic_participants,
	club_participants, schools, schools_offering, schools_5plus2, clubs, seats, seats_filled, waitlisted,
	responses, supporters, satisfied, attended, attendance_marked`

// ComputeStats computes the snapshot of date (YYYY-MM-DD, Asia/Shanghai) for
// every region, school, grade and club category, and replaces that date's
// snapshot atomically. It is set-based SQL over the whole data set, in two
// phases: stage builds temporary tables from one consistent read of the
// data, publish replaces the date's rows from them in one write transaction.
// On PostgreSQL both run in one transaction. On SQLite they run on a
// dedicated connection: stage in a read transaction (temporary tables live
// in the connection's own temp database, so enrollment writers are never
// blocked while the figures are computed), publish in a short IMMEDIATE
// transaction, holding this process's writer meanwhile (holdingWriter): it
// must not be called from inside a write transaction. It answers the
// number of snapshot rows written, and moves SnapshotVersion(db) when it
// has ended.
func ComputeStats(ctx context.Context, db *DB, date string, now time.Time) (int64, error) {
	return computeStats(ctx, db, date, now, nil)
}

// computeStats is ComputeStats; snapped, when set, is called once the run
// has made its first read (its consistent view of the data is fixed).
func computeStats(ctx context.Context, db *DB, date string, now time.Time, snapped func()) (int64, error) {
	day, err := time.ParseInLocation(time.DateOnly, date, Zone)
	if err != nil || day.Format(time.DateOnly) != date {
		return 0, &ValidationError{Fields: map[string]string{"date": "日期格式应为 YYYY-MM-DD"}}
	}
	// Cached dashboard answers built before this run are not served
	// after it (the version moves once the write has ended, committed or
	// not: moving it needlessly only costs a rebuild).
	defer db.snapshotsWritten()
	r := &statsRun{dialect: db.Dialect, observe: db.observeStats, snapped: snapped, date: date, endOfDay: day.AddDate(0, 0, 1).UTC(), now: now.UTC()}
	if db.Dialect == Postgres {
		err = db.Tx(ctx, func(tx *gorm.DB) error {
			r.tx = tx
			// One snapshot of the data for every statement of the run.
			if err := tx.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").Error; err != nil {
				return err
			}
			// Room for the job's sorts and hashes of a province (this
			// transaction only).
			if err := tx.Exec("SET LOCAL work_mem = '128MB'").Error; err != nil {
				return err
			}
			if err := r.stage(); err != nil {
				return err
			}
			return r.publish()
		})
	} else {
		err = r.runSQLite(ctx, db)
	}
	if err != nil {
		return 0, err // nothing was written
	}
	return r.rows, nil
}

// statsRun is one computation of a date's snapshot.
type statsRun struct {
	tx       *gorm.DB
	dialect  Dialect
	observe  func(step string) // DB.observeStats
	snapped  func()            // computeStats
	date     string
	endOfDay time.Time
	now      time.Time
	rows     int64
}

// runSQLite runs stage and publish on a dedicated connection to db's file
// (closing it drops the temporary tables).
func (r *statsRun) runSQLite(ctx context.Context, db *DB) error {
	if db.Path == "" {
		return fmt.Errorf("stats: SQLite database without a file path")
	}
	// A page cache of 64 MB, twice the pools': the job reads the whole data
	// set into temporary tables.
	g, err := gorm.Open(sqlite.Open(sqliteDSN(db.Path, "_cache_size=-64000")), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return fmt.Errorf("stats: open: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(1) // BEGIN … COMMIT below must stay on one connection
	r.tx = g.WithContext(ctx)
	if err := connTx(r.tx, "BEGIN", r.stage); err != nil {
		return err
	}
	// The write waits for this process's writer to be idle and holds it
	// (holdingWriter), so neither sleeps on the other's lock.
	return db.holdingWriter(ctx, func() error {
		if err := connTx(r.tx, "BEGIN IMMEDIATE", r.publish); err != nil {
			return err
		}
		// The snapshot table just grew by a whole province: refresh the
		// planner statistics (milliseconds with analysis_limit; it writes
		// them), or the dashboards' queries keep plans made for the empty
		// table (every read scanned all of the date's rows).
		if err := r.tx.Exec("PRAGMA analysis_limit = 1000").Error; err != nil {
			return err
		}
		return r.tx.Exec("PRAGMA optimize").Error
	})
}

// tmp creates temporary table name from query.
func (r *statsRun) tmp(name, query string, args ...any) error {
	defer r.stepDone(name)
	if r.dialect == Postgres {
		query = "CREATE TEMP TABLE " + name + " ON COMMIT DROP AS " + query
	} else {
		query = "CREATE TEMP TABLE " + name + " AS " + query
	}
	if err := r.tx.Exec(query, args...).Error; err != nil {
		return fmt.Errorf("stats: %s: %w", name, err)
	}
	return nil
}

// exec runs one statement; what starting with "insert " counts its rows.
func (r *statsRun) exec(what, query string, args ...any) error {
	defer r.stepDone(what)
	res := r.tx.Exec(query, args...)
	if res.Error != nil {
		return fmt.Errorf("stats: %s: %w", what, res.Error)
	}
	if strings.HasPrefix(what, "insert ") {
		r.rows += res.RowsAffected
	}
	return nil
}

// stage builds the temporary tables; t_ss ends up holding every school row.
func (r *statsRun) stage() error {
	steps := []struct {
		name, query string
		args        []any
	}{
		// The schools that count: a closed school leaves the figures.
		{"t_open", `SELECT id, region_id FROM schools WHERE status = '` + SchoolActive + `'`, nil},
		{"t_term", `SELECT t.school_id, t.id AS term_id, t.starts_on FROM terms t
			WHERE t.starts_on <= ? AND t.ends_on >= ? AND t.school_id IN (SELECT id FROM t_open) AND NOT EXISTS (
				SELECT 1 FROM terms u WHERE u.school_id = t.school_id AND u.starts_on <= ? AND u.ends_on >= ?
				AND (u.starts_on > t.starts_on OR (u.starts_on = t.starts_on AND u.id > t.id)))`,
			[]any{r.date, r.date, r.date, r.date}},
		{"t_off", `SELECT o.id, o.school_id, o.kind,
				CASE WHEN o.category = '' THEN '` + uncategorised + `' ELSE o.category END AS category,
				o.capacity, o.weekdays, o.start_min, o.end_min
			FROM offerings o JOIN t_term tt ON tt.term_id = o.term_id WHERE o.status IN ('published', 'closed')`, nil},
		{"t_stu", `SELECT school_id, grade, COUNT(*) AS n FROM students
			WHERE active = TRUE AND school_id IN (SELECT id FROM t_open) GROUP BY school_id, grade`, nil},
		// The term's enrolled enrollments, read once: participation, the
		// club categories and five-day participation are each a GROUP BY
		// over this table (three passes over enrollments before, a third
		// of a demo run's time).
		{"t_en", `SELECT e.student_id, o.school_id, o.kind, o.category, o.weekdays
			FROM t_off o JOIN enrollments e ON e.offering_id = o.id WHERE e.status = ` + enrolledSQL, nil},
		{"t_part", partSQL, nil},
		// Distinct active students per school and club category: the few
		// inactive students are excluded through a small set, so the
		// 1M-row students table is not joined a second time.
		{"t_inact", `SELECT id FROM students WHERE active = FALSE`, nil},
		{"t_catp", `SELECT school_id, category, COUNT(DISTINCT student_id) AS n FROM t_en
			WHERE kind = 'club' AND student_id NOT IN (SELECT id FROM t_inact)
			GROUP BY school_id, category`, nil},
		// Counted per current club through the (offering_id, status) index,
		// so enrollments of past terms are never read.
		{"t_ocnt", `SELECT o.id AS offering_id,
				(SELECT COUNT(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + enrolledSQL + `) AS en,
				(SELECT COUNT(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + waitlistedSQL + `) AS wl
			FROM t_off o WHERE o.kind = 'club'`, nil},
		{"t_club", `SELECT o.school_id, o.category, COUNT(*) AS clubs, SUM(o.capacity) AS seats,
				SUM(COALESCE(c.en, 0)) AS filled, SUM(COALESCE(c.wl, 0)) AS wl
			FROM t_off o LEFT JOIN t_ocnt c ON c.offering_id = o.id WHERE o.kind = 'club'
			GROUP BY o.school_id, o.category`, nil},
		{"t_resp", `SELECT r.school_id, st.grade, COUNT(*) AS n,
				SUM(CASE WHEN r.support = 'support' THEN 1 ELSE 0 END) AS sup,
				SUM(CASE WHEN r.satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END) AS sat
			FROM survey_responses r JOIN surveys sv ON sv.id = r.survey_id
			JOIN students st ON st.id = r.student_id JOIN t_term tt ON tt.school_id = r.school_id
			WHERE r.created_at < ? AND (sv.term_id = tt.term_id
				OR (sv.term_id IS NULL AND sv.opens_on >= tt.starts_on AND sv.opens_on <= ?))
			GROUP BY r.school_id, st.grade`, []any{r.endOfDay, r.date}},
		// The marks of each school's term are read from the index
		// attendance_school_date_student alone (0160). CROSS JOIN keeps
		// SQLite on t_term first, so each school's marks are one range
		// from its term's start to D; on its own it skip-scanned every
		// school's marks before D, past terms included, probing t_term per
		// mark (PostgreSQL plans CROSS JOIN like any join).
		{"t_att", `SELECT a.school_id, st.grade,
				SUM(CASE WHEN a.status IN ('present', 'late') THEN 1 ELSE 0 END) AS att, COUNT(*) AS marked
			FROM t_term tt CROSS JOIN attendance a JOIN students st ON st.id = a.student_id
			WHERE a.school_id = tt.school_id AND a.session_date >= tt.starts_on AND a.session_date <= ?
				AND a.status IN ('present', 'late', 'absent')
			GROUP BY a.school_id, st.grade`, []any{r.date}},
		// The enabled teachers, from the index users_role_school (0170).
		{"t_tch", `SELECT id, school_id FROM users
			WHERE role = 'teacher' AND disabled = FALSE AND school_id IS NOT NULL`, nil},
		{"t_teach", `SELECT school_id, COUNT(*) AS n FROM t_tch GROUP BY school_id`, nil},
		// A teacher marks when they changed a mark on a roll of their
		// school's term up to D: one seek of attendance_changes_school
		// (school, teacher, date; 0180) per enabled teacher, rather than
		// reading every change of the term (32,000 by the demo's term end)
		// for its distinct (school, user) pairs.
		{"t_tmark", `SELECT t.school_id, COUNT(*) AS n FROM t_tch t JOIN t_term tt ON tt.school_id = t.school_id
			WHERE EXISTS (SELECT 1 FROM attendance_changes c WHERE c.school_id = t.school_id
				AND c.session_date >= tt.starts_on AND c.session_date <= ? AND c.changed_by = t.id)
			GROUP BY t.school_id`, []any{r.date}},
		// Held: scheduled sessions of days before D, and of D once ended
		// by the run's clock (heldUntil); today's 16:30 club is not held
		// at 10:00.
		{"t_sess", `SELECT s.school_id,
				SUM(CASE WHEN s.status = 'scheduled' AND (s.session_date < ? OR s.end_min <= ?) THEN 1 ELSE 0 END) AS held,
				SUM(CASE WHEN s.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled
			FROM sessions s JOIN t_term tt ON tt.term_id = s.term_id JOIN offerings o ON o.id = s.offering_id
			WHERE o.status IN ('published', 'closed') AND s.session_date <= ?
			GROUP BY s.school_id`, []any{r.date, r.heldUntil(), r.date}},
		{"t_fp2", fivePlusTwoSQL, nil},
		{"t_anc", `SELECT sc.id AS school_id, ar.id AS region_id FROM t_open sc
			JOIN regions r ON r.id = sc.region_id JOIN regions ar ON r.path LIKE ar.path || '%'`, nil},
	}
	for i, s := range steps {
		if err := r.tmp(s.name, s.query, s.args...); err != nil {
			return err
		}
		if i == 0 && r.snapped != nil {
			r.snapped() // t_open read the data: the run's view is fixed
		}
	}
	if err := r.exec("index t_anc", "CREATE INDEX t_anc_school ON t_anc (school_id)"); err != nil {
		return err
	}
	// t_ss collects every school row (grades, totals, categories); the
	// regions are then one GROUP BY over it and the schools' ancestors.
	if err := r.tmp("t_ss", `SELECT 'school' AS scope_type, k.school_id AS scope_id, k.grade, '' AS category,
			COALESCE(s.n, 0) AS students, COALESCE(p.p, 0) AS participants, COALESCE(p.bp, 0) AS basic_participants,
			COALESCE(p.cp, 0) AS club_participants, 0 AS schools, 0 AS schools_offering, 0 AS schools_5plus2,
			0 AS clubs, 0 AS seats, 0 AS seats_filled, 0 AS waitlisted,
			COALESCE(r.n, 0) AS responses, COALESCE(r.sup, 0) AS supporters, COALESCE(r.sat, 0) AS satisfied,
			COALESCE(a.att, 0) AS attended, COALESCE(a.marked, 0) AS attendance_marked,
			COALESCE(p.five, 0) AS five_day, 0 AS teachers, 0 AS teachers_marking, 0 AS sessions_held,
			0 AS sessions_cancelled
		FROM (SELECT school_id, grade FROM t_stu UNION SELECT school_id, grade FROM t_resp
			UNION SELECT school_id, grade FROM t_att) k
		LEFT JOIN t_stu s ON s.school_id = k.school_id AND s.grade = k.grade
		LEFT JOIN t_part p ON p.school_id = k.school_id AND p.grade = k.grade
		LEFT JOIN t_resp r ON r.school_id = k.school_id AND r.grade = k.grade
		LEFT JOIN t_att a ON a.school_id = k.school_id AND a.grade = k.grade`); err != nil {
		return err
	}
	if err := r.tmp("t_sgt", `SELECT scope_id AS school_id, SUM(students) AS students, SUM(participants) AS participants,
			SUM(basic_participants) AS bp, SUM(club_participants) AS cp, SUM(responses) AS responses,
			SUM(supporters) AS sup, SUM(satisfied) AS sat, SUM(attended) AS att, SUM(attendance_marked) AS marked,
			SUM(five_day) AS five
		FROM t_ss GROUP BY scope_id`); err != nil {
		return err
	}
	if err := r.tmp("t_clt", `SELECT school_id, SUM(clubs) AS clubs, SUM(seats) AS seats, SUM(filled) AS filled,
			SUM(wl) AS wl FROM t_club GROUP BY school_id`); err != nil {
		return err
	}
	if err := r.tmp("t_basic", `SELECT DISTINCT school_id FROM t_off WHERE kind = 'basic'`); err != nil {
		return err
	}
	if err := r.exec("school totals", `INSERT INTO t_ss (`+snapCounts+`)
		SELECT 'school', sc.id, 0, '', COALESCE(g.students, 0), COALESCE(g.participants, 0),
			COALESCE(g.bp, 0), COALESCE(g.cp, 0), 1,
			CASE WHEN b.school_id IS NULL THEN 0 ELSE 1 END, CASE WHEN f.school_id IS NULL THEN 0 ELSE 1 END,
			COALESCE(c.clubs, 0), COALESCE(c.seats, 0), COALESCE(c.filled, 0), COALESCE(c.wl, 0),
			COALESCE(g.responses, 0), COALESCE(g.sup, 0), COALESCE(g.sat, 0), COALESCE(g.att, 0), COALESCE(g.marked, 0)
		FROM t_open sc
		LEFT JOIN t_sgt g ON g.school_id = sc.id
		LEFT JOIN t_clt c ON c.school_id = sc.id
		LEFT JOIN t_basic b ON b.school_id = sc.id
		LEFT JOIN t_fp2 f ON f.school_id = sc.id`); err != nil {
		return err
	}
	if err := r.exec("school totals of the daily loop", loopTotalsSQL); err != nil {
		return err
	}
	if err := r.exec("school categories", `INSERT INTO t_ss (scope_type, scope_id, grade, category,
			club_participants, clubs, seats, seats_filled, waitlisted,
			students, participants, basic_participants, schools, schools_offering, schools_5plus2,
			responses, supporters, satisfied, attended, attendance_marked, five_day, teachers, teachers_marking,
			sessions_held, sessions_cancelled)
		SELECT 'school', k.school_id, 0, k.category, COALESCE(p.n, 0), k.clubs, k.seats, k.filled, k.wl,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
		FROM t_club k LEFT JOIN t_catp p ON p.school_id = k.school_id AND p.category = k.category`); err != nil {
		return err
	}
	return nil
}

// publish replaces the date's snapshot rows: the schools' from t_ss, the
// regions' by one GROUP BY over t_ss and the schools' ancestors.
func (r *statsRun) publish() error {
	if err := r.exec("delete", "DELETE FROM stat_snapshots WHERE snap_date = ?", r.date); err != nil {
		return err
	}
	if err := r.exec("insert schools", `INSERT INTO stat_snapshots (`+snapCounts+`, `+loopCounts+`, snap_date, computed_at)
		SELECT `+snapCounts+`, `+loopCounts+`, ?, ? FROM t_ss`, r.date, r.now); err != nil {
		return err
	}
	if err := r.exec("insert regions", `INSERT INTO stat_snapshots (`+snapCounts+`, `+loopCounts+`, snap_date, computed_at)
		SELECT 'region', a.region_id, s.grade, s.category, SUM(s.students), SUM(s.participants),
			SUM(s.basic_participants), SUM(s.club_participants), SUM(s.schools), SUM(s.schools_offering),
			SUM(s.schools_5plus2), SUM(s.clubs), SUM(s.seats), SUM(s.seats_filled), SUM(s.waitlisted),
			SUM(s.responses), SUM(s.supporters), SUM(s.satisfied), SUM(s.attended), SUM(s.attendance_marked),
			SUM(s.five_day), SUM(s.teachers), SUM(s.teachers_marking), SUM(s.sessions_held), SUM(s.sessions_cancelled), ?, ?
		FROM t_ss s JOIN t_anc a ON a.school_id = s.scope_id
		GROUP BY a.region_id, s.grade, s.category`, r.date, r.now); err != nil {
		return err
	}
	if err := r.exec("insert empty regions", `INSERT INTO stat_snapshots (scope_type, scope_id, grade, category, snap_date, computed_at)
		SELECT 'region', r.id, 0, '', ?, ? FROM regions r WHERE NOT EXISTS (
			SELECT 1 FROM t_anc a WHERE a.region_id = r.id)`, r.date, r.now); err != nil {
		return err
	}
	return nil
}

// fivePlusTwoSQL selects the schools whose running basic offerings cover
// each weekday 1–5 for at least 120 minutes: per school and weekday, the
// offerings' time ranges are merged into islands (gaps and islands over
// start_min with a running maximum of end_min) and the islands' lengths
// summed.
const fivePlusTwoSQL = `WITH wd (d) AS (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5),
	x AS (SELECT o.school_id, wd.d, o.start_min AS s, o.end_min AS e FROM t_off o
		JOIN wd ON (o.weekdays & (1 << wd.d)) <> 0 WHERE o.kind = 'basic' AND o.end_min > o.start_min),
	m AS (SELECT school_id, d, s, e, MAX(e) OVER (PARTITION BY school_id, d ORDER BY s, e
		ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pe FROM x),
	g AS (SELECT school_id, d, s, e, SUM(CASE WHEN pe IS NULL OR s > pe THEN 1 ELSE 0 END)
		OVER (PARTITION BY school_id, d ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS isl FROM m),
	i AS (SELECT school_id, d, MAX(e) - MIN(s) AS len FROM g GROUP BY school_id, d, isl),
	dd AS (SELECT school_id, d FROM i GROUP BY school_id, d HAVING SUM(len) >= 120)
	SELECT school_id FROM dd GROUP BY school_id HAVING COUNT(*) = 5`

// stepDone tells the database's stats observer (tests) that step has run.
func (r *statsRun) stepDone(step string) {
	if r.observe != nil {
		r.observe(step)
	}
}
