package models

// The daily loop's statistics (docs/attendance.md): the counts the stats
// job adds to each school's snapshot row beside the others of snapCounts.

// loopCounts are the snapshot columns of the daily loop. Only the school
// rows carry teachers, teachers_marking and the sessions; five_day is per
// grade too.
const loopCounts = `five_day, teachers, teachers_marking, sessions_held, sessions_cancelled`

// partSQL counts, per school and grade, the active participants (p), those
// in the base service (bp) and in clubs (cp), and five_day: the basic
// participants whose enrolled basic offerings together cover all five
// weekdays (bits 1–5 of weekdays, OR-ed over the student's basic
// offerings, make 62). One GROUP BY over t_en.
const partSQL = `SELECT s.school_id, s.grade, COUNT(*) AS p, SUM(x.b) AS bp, SUM(x.c) AS cp,
		SUM(CASE WHEN x.w = 62 THEN 1 ELSE 0 END) AS five
	FROM (SELECT student_id,
			MAX(CASE WHEN kind = 'basic' THEN 1 ELSE 0 END) AS b,
			MAX(CASE WHEN kind = 'club' THEN 1 ELSE 0 END) AS c,
			` + basicDays + `
		FROM t_en GROUP BY student_id) x
	JOIN students s ON s.id = x.student_id WHERE s.active = TRUE
	GROUP BY s.school_id, s.grade`

// basicDays is a student's weekdays 1–5 with a basic offering, as bits of w.
const basicDays = `MAX(CASE WHEN kind = 'basic' THEN weekdays & 2 ELSE 0 END)
			| MAX(CASE WHEN kind = 'basic' THEN weekdays & 4 ELSE 0 END)
			| MAX(CASE WHEN kind = 'basic' THEN weekdays & 8 ELSE 0 END)
			| MAX(CASE WHEN kind = 'basic' THEN weekdays & 16 ELSE 0 END)
			| MAX(CASE WHEN kind = 'basic' THEN weekdays & 32 ELSE 0 END) AS w`

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
