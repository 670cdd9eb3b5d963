package models

// Invariant is one enrollment rule as a query that counts its violations.
type Invariant struct{ Name, SQL string }

// Invariants are the enrollment rules as queries over the whole database,
// each counting its violations: every one must count 0 after any
// interleaving of enrollments, withdrawals, promotions, draws and changes.
// modelstest.CheckInvariants runs them in every concurrency test, and the
// load program after every scenario.
var Invariants = []Invariant{
	{"enrolled_count <= capacity",
		`SELECT count(*) FROM offerings WHERE enrolled_count > capacity`},
	{"enrolled rows <= capacity (no oversell)",
		`SELECT count(*) FROM offerings o WHERE o.capacity <
		   (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + enrolledSQL + `)`},
	{"counters match rows",
		`SELECT count(*) FROM offerings o WHERE
		   o.enrolled_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + enrolledSQL + `)
		OR o.waitlisted_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + waitlistedSQL + `)
		OR o.applied_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + appliedSQL + `)`},
	{"one live enrollment per student and offering",
		`SELECT count(*) FROM (SELECT student_id, offering_id FROM enrollments
		   WHERE status IN ` + liveSQL + `
		   GROUP BY student_id, offering_id HAVING count(*) > 1) x`},
	{"no student over max_clubs",
		`SELECT count(*) FROM (SELECT e.student_id FROM enrollments e
		   JOIN offerings o ON o.id = e.offering_id JOIN terms t ON t.id = e.term_id
		   WHERE e.status = ` + enrolledSQL + ` AND o.kind = 'club'
		   GROUP BY e.student_id, e.term_id, t.max_clubs HAVING count(*) > t.max_clubs) x`},
	{"no overlapping enrolled clubs",
		`SELECT count(*) FROM enrollments a
		   JOIN enrollments b ON b.student_id = a.student_id AND b.id > a.id AND b.status = ` + enrolledSQL + `
		   JOIN offerings oa ON oa.id = a.offering_id JOIN offerings ob ON ob.id = b.offering_id
		 WHERE a.status = ` + enrolledSQL + ` AND oa.kind = 'club' AND ob.kind = 'club'
		   AND (oa.weekdays & ob.weekdays) <> 0 AND oa.start_min < ob.end_min AND ob.start_min < oa.end_min`},
	{"waitlist positions are 1..N per offering",
		`SELECT count(*) FROM (SELECT offering_id FROM enrollments WHERE status = ` + waitlistedSQL + `
		   GROUP BY offering_id HAVING min(waitlist_position) <> 1 OR max(waitlist_position) <> count(*)
		   OR count(DISTINCT waitlist_position) <> count(*)) x`},
	{"no free seat while someone who fits waits (fcfs)",
		`SELECT count(*) FROM offerings o WHERE o.mode = 'fcfs' AND o.status <> 'cancelled' AND o.enrolled_count < o.capacity
		   AND EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + waitlistedSQL + `
		     AND NOT EXISTS (SELECT 1 FROM enrollments x JOIN offerings ox ON ox.id = x.offering_id
		       WHERE x.student_id = e.student_id AND x.status = ` + enrolledSQL + ` AND x.offering_id <> o.id
		       AND o.kind = 'club' AND ox.kind = 'club' AND (ox.weekdays & o.weekdays) <> 0
		       AND ox.start_min < o.end_min AND o.start_min < ox.end_min))`},
}

// The statuses the invariants name one by one, as SQL literals.
var (
	enrolledSQL   = sqlText(StatusEnrolled)
	waitlistedSQL = sqlText(StatusWaitlisted)
	appliedSQL    = sqlText(StatusApplied)
)
