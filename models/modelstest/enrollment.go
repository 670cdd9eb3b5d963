package modelstest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
)

// Term creates a term of schoolID (2026 autumn) with maxClubs, made by
// admin (a school admin of the school).
func Term(tb testing.TB, db *models.DB, admin models.User, schoolID int64, maxClubs int) models.Term {
	tb.Helper()
	t, err := models.CreateTerm(context.Background(), db, admin.Actor(), schoolID, models.NewTerm{Name: fmt.Sprintf("2026秋季学期%d", next()),
		StartsOn: "2026-09-01", EndsOn: "2027-01-20", MaxClubs: &maxClubs})
	must(tb, err)
	return t
}

// Offering creates and publishes an offering of term, made by admin: SPEC's
// example club (Tuesday and Thursday 16:30-18:00, 30 seats, grades 1-6,
// first come first served with a waitlist), open for enrollment now; mod
// adjusts the input first.
func Offering(tb testing.TB, db *models.DB, admin models.User, term models.Term, mod func(*models.NewOffering)) models.Offering {
	tb.Helper()
	ctx := context.Background()
	opens, closes := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	in := models.NewOffering{TermID: term.ID, Kind: models.KindClub, Name: "篮球社", Weekdays: []int{2, 4},
		StartTime: "16:30", EndTime: "18:00", Capacity: 30, Grades: []int{1, 2, 3, 4, 5, 6}, Mode: models.ModeFCFS,
		EnrollOpensAt: &opens, EnrollClosesAt: &closes}
	if mod != nil {
		mod(&in)
	}
	o, err := models.CreateOffering(ctx, db, admin.Actor(), term.SchoolID, in)
	must(tb, err)
	o, err = models.PublishOffering(ctx, db, admin.Actor(), o.ID)
	must(tb, err)
	return o
}

// Enroll enrolls studentID in offeringID as a and fails tb on any refusal.
func Enroll(tb testing.TB, db *models.DB, a models.Actor, studentID, offeringID int64) models.Enrollment {
	tb.Helper()
	e, err := models.Enroll(context.Background(), db, models.NewEnrollment{Actor: a, StudentID: studentID, OfferingID: offeringID})
	must(tb, err)
	return e
}

// Invariants are the enrollment rules as queries over the whole database,
// each counting its violations: every one must count 0 after any
// interleaving of enrollments, withdrawals, promotions, draws and changes.
var Invariants = []struct{ Name, SQL string }{
	{"enrolled_count <= capacity",
		`SELECT count(*) FROM offerings WHERE enrolled_count > capacity`},
	{"enrolled rows <= capacity (no oversell)",
		`SELECT count(*) FROM offerings o WHERE o.capacity <
		   (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'enrolled')`},
	{"counters match rows",
		`SELECT count(*) FROM offerings o WHERE
		   o.enrolled_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'enrolled')
		OR o.waitlisted_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'waitlisted')
		OR o.applied_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'applied')`},
	{"one live enrollment per student and offering",
		`SELECT count(*) FROM (SELECT student_id, offering_id FROM enrollments
		   WHERE status IN ('enrolled', 'waitlisted', 'applied')
		   GROUP BY student_id, offering_id HAVING count(*) > 1) x`},
	{"no student over max_clubs",
		`SELECT count(*) FROM (SELECT e.student_id FROM enrollments e
		   JOIN offerings o ON o.id = e.offering_id JOIN terms t ON t.id = e.term_id
		   WHERE e.status = 'enrolled' AND o.kind = 'club'
		   GROUP BY e.student_id, e.term_id, t.max_clubs HAVING count(*) > t.max_clubs) x`},
	{"no overlapping enrolled clubs",
		`SELECT count(*) FROM enrollments a
		   JOIN enrollments b ON b.student_id = a.student_id AND b.id > a.id AND b.status = 'enrolled'
		   JOIN offerings oa ON oa.id = a.offering_id JOIN offerings ob ON ob.id = b.offering_id
		 WHERE a.status = 'enrolled' AND oa.kind = 'club' AND ob.kind = 'club'
		   AND (oa.weekdays & ob.weekdays) <> 0 AND oa.start_min < ob.end_min AND ob.start_min < oa.end_min`},
	{"waitlist positions are 1..N per offering",
		`SELECT count(*) FROM (SELECT offering_id FROM enrollments WHERE status = 'waitlisted'
		   GROUP BY offering_id HAVING min(waitlist_position) <> 1 OR max(waitlist_position) <> count(*)
		   OR count(DISTINCT waitlist_position) <> count(*)) x`},
	{"no free seat while someone who fits waits (fcfs)",
		`SELECT count(*) FROM offerings o WHERE o.mode = 'fcfs' AND o.status <> 'cancelled' AND o.enrolled_count < o.capacity
		   AND EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'waitlisted'
		     AND NOT EXISTS (SELECT 1 FROM enrollments x JOIN offerings ox ON ox.id = x.offering_id
		       WHERE x.student_id = e.student_id AND x.status = 'enrolled' AND x.offering_id <> o.id
		       AND o.kind = 'club' AND ox.kind = 'club' AND (ox.weekdays & o.weekdays) <> 0
		       AND ox.start_min < o.end_min AND o.start_min < ox.end_min))`},
}

// CheckInvariants fails tb for every invariant db breaks (Invariants),
// with its count of violations.
func CheckInvariants(tb testing.TB, db *models.DB) {
	tb.Helper()
	var broken []string
	for _, q := range Invariants {
		var n int64
		if err := db.Read(context.Background()).Raw(q.SQL).Scan(&n).Error; err != nil {
			tb.Fatalf("modelstest: invariant %q: %v", q.Name, err)
		}
		if n != 0 {
			broken = append(broken, fmt.Sprintf("%s: %d violations", q.Name, n))
		}
	}
	if len(broken) > 0 {
		tb.Fatalf("enrollment invariants broken:\n%s", strings.Join(broken, "\n"))
	}
}
