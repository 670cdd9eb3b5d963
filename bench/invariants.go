package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"kehou/models"
)

// invariantResult is one check on the database after a scenario.
type invariantResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// invariantQueries count violations of the enrollment rules; each must be 0.
var invariantQueries = []struct{ name, sql string }{
	{"enrolled_count <= capacity",
		`SELECT count(*) FROM offerings WHERE enrolled_count > capacity`},
	{"enrolled rows <= capacity (no oversell)",
		`SELECT count(*) FROM offerings o WHERE o.capacity <
		   (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'enrolled')`},
	{"counters match rows",
		`SELECT count(*) FROM offerings o WHERE
		   o.enrolled_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'enrolled')
		OR o.waitlisted_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'waitlisted')`},
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
	{"no free seat while someone waits (fcfs)",
		`SELECT count(*) FROM offerings o WHERE o.mode = 'fcfs' AND o.enrolled_count < o.capacity
		   AND EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = o.id AND e.status = 'waitlisted')`},
}

// liveCounts is the number of enrollments per offering and status.
type liveCounts map[int64]map[string]int

// checkInvariants runs every invariant query and, when want is not nil,
// compares the enrollments per offering and status with what the answers
// of the load said was accepted (nothing lost, nothing extra).
func (e *engine) checkInvariants(ctx context.Context, want liveCounts) ([]invariantResult, error) {
	db, err := e.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return checkInvariantsOn(ctx, db, want)
}

func checkInvariantsOn(ctx context.Context, db *models.DB, want liveCounts) ([]invariantResult, error) {
	var out []invariantResult
	for _, q := range invariantQueries {
		var n int64
		if err := db.Read(ctx).Raw(q.sql).Scan(&n).Error; err != nil {
			return out, fmt.Errorf("bench: invariant %q: %w", q.name, err)
		}
		r := invariantResult{Name: q.name, OK: n == 0}
		if n != 0 {
			r.Detail = fmt.Sprintf("%d violations", n)
		}
		out = append(out, r)
	}
	if want == nil {
		return out, nil
	}
	var rows []struct {
		OfferingID int64
		Status     string
		N          int
	}
	if err := db.Read(ctx).Raw(`SELECT offering_id, status, count(*) AS n FROM enrollments
		GROUP BY offering_id, status`).Scan(&rows).Error; err != nil {
		return out, err
	}
	got := liveCounts{}
	for _, r := range rows {
		got.add(r.OfferingID, r.Status, r.N)
	}
	r := invariantResult{Name: "every 201 is a row, no row without a 201", OK: true}
	if diff := got.diff(want); diff != "" {
		r.OK, r.Detail = false, diff
	}
	return append(out, r), nil
}

func (c liveCounts) add(offering int64, status string, n int) {
	if c[offering] == nil {
		c[offering] = map[string]int{}
	}
	c[offering][status] += n
}

// total sums one status over every offering.
func (c liveCounts) total(status string) int {
	n := 0
	for _, m := range c {
		n += m[status]
	}
	return n
}

// diff describes where got (c) and want differ ("" when equal).
func (c liveCounts) diff(want liveCounts) string {
	var out []string
	keys := map[int64]bool{}
	for k := range c {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	ids := make([]int64, 0, len(keys))
	for k := range keys {
		ids = append(ids, k)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		for _, st := range []string{"enrolled", "waitlisted", "applied", "withdrawn", "rejected"} {
			if g, w := c[id][st], want[id][st]; g != w {
				out = append(out, fmt.Sprintf("offering %d %s: db %d, answers %d", id, st, g, w))
			}
		}
	}
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("… %d more", len(out)-5))
	}
	return strings.Join(out, "; ")
}

// allOK reports whether every invariant held.
func allOK(rs []invariantResult) bool {
	for _, r := range rs {
		if !r.OK {
			return false
		}
	}
	return true
}
