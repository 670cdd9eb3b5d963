package models

// The daily loop's statistics (docs/attendance.md): the counts the stats
// job adds to each school's snapshot row beside the others of snapCounts.

// loopCounts are the snapshot columns of the daily loop. Only the school
// rows carry teachers, teachers_marking and the sessions; five_day is per
// grade too.
const loopCounts = `five_day, teachers, teachers_marking, sessions_held, sessions_cancelled`

// fiveDaySQL counts, per school and grade, the active basic participants
// enrolled on all five weekdays: each enrolled basic offering's weekdays are
// spread into rows and a student's distinct weekdays counted.
var fiveDaySQL = `WITH wd (d) AS (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5),
	x AS (SELECT e.student_id FROM enrollments e JOIN t_off o ON o.id = e.offering_id
		JOIN wd ON (o.weekdays & (1 << wd.d)) <> 0
		WHERE e.status = ` + enrolledSQL + ` AND o.kind = 'basic'
		GROUP BY e.student_id HAVING COUNT(DISTINCT wd.d) = 5)
	SELECT s.school_id, s.grade, COUNT(*) AS n FROM x JOIN students s ON s.id = x.student_id
	WHERE s.active = TRUE GROUP BY s.school_id, s.grade`

// loopTotalsSQL fills the daily loop's columns of the schools' total rows
// (grade 0, category "") of t_ss.
const loopTotalsSQL = `UPDATE t_ss SET
	five_day = COALESCE((SELECT g.five FROM t_sgt g WHERE g.school_id = t_ss.scope_id), 0),
	teachers = COALESCE((SELECT tc.n FROM t_teach tc WHERE tc.school_id = t_ss.scope_id), 0),
	teachers_marking = COALESCE((SELECT tm.n FROM t_tmark tm WHERE tm.school_id = t_ss.scope_id), 0),
	sessions_held = COALESCE((SELECT ss.held FROM t_sess ss WHERE ss.school_id = t_ss.scope_id), 0),
	sessions_cancelled = COALESCE((SELECT ss.cancelled FROM t_sess ss WHERE ss.school_id = t_ss.scope_id), 0)
	WHERE scope_type = 'school' AND grade = 0 AND category = ''`

// heldUntil is the minute of date's day by which a session of that day
// has ended in time for this run to count it held: every minute for a day
// already over at r.now, none for a day not begun, now's minute for today.
func (r *statsRun) heldUntil() int {
	today := LocalDate(r.now)
	switch {
	case r.date < today:
		return 24 * 60
	case r.date > today:
		return -1
	}
	n := r.now.In(Zone)
	return n.Hour()*60 + n.Minute()
}
