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
	for _, q := range models.Invariants {
		var n int64
		if err := db.Read(ctx).Raw(q.SQL).Scan(&n).Error; err != nil {
			return out, fmt.Errorf("bench: invariant %q: %w", q.Name, err)
		}
		r := invariantResult{Name: q.Name, OK: n == 0}
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
		for _, st := range []string{"enrolled", "pending_payment", "waitlisted", "applied", "withdrawn", "rejected"} {
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
