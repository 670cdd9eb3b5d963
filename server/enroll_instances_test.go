package main

import (
	"fmt"
	"sync"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEnrollTwoInstancesHTTP runs the rush through two server instances on
// one database (on PostgreSQL, the multi-instance deployment): capacity
// holds and waitlist positions are exactly 1..n.
func TestEnrollTwoInstancesHTTP(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	r := modelstest.Region(t, a.db, nil)
	sc := modelstest.School(t, a.db, r.ID)
	admin := modelstest.Staff(t, a.db, models.RoleSchoolAdmin, sc.ID, 0)
	tok := a.token(admin)
	term := a.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", sc.ID), tok, map[string]any{
		"name": "秋季", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201).JSON()
	w := &enrollWorld{testServer: a, termID: jnum(term, "id")}
	o := b.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", sc.ID), tok, w.offeringBody(func(m map[string]any) { m["capacity"] = 15 })).want(t, 201).JSON()
	oid := jnum(o, "id")
	b.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", oid), tok, nil).want(t, 200)
	const n = 120
	students := make([]models.Student, n)
	for i := range students {
		students[i] = modelstest.Student(t, a.db, sc.ID, 4, "")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	positions := map[int64]bool{}
	enrolled := 0
	for i, st := range students {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := srv.do("POST", "/api/v1/enrollments", tok, map[string]any{"student_id": st.ID, "offering_id": oid},
				"Idempotency-Key", fmt.Sprintf("rush-%d", i))
			if res.Status != 201 {
				t.Errorf("enroll: %d %s", res.Status, res.Body)
				return
			}
			m := res.JSON()
			mu.Lock()
			defer mu.Unlock()
			if m["status"] == "enrolled" {
				enrolled++
			} else if p := jnum(m, "waitlist_position"); positions[p] {
				t.Errorf("position %d given twice", p)
			} else {
				positions[p] = true
			}
		}()
	}
	wg.Wait()
	if enrolled != 15 || len(positions) != n-15 {
		t.Fatalf("enrolled=%d waitlisted=%d", enrolled, len(positions))
	}
	for p := int64(1); p <= n-15; p++ {
		if !positions[p] {
			t.Fatalf("position %d missing", p)
		}
	}
	got := a.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), tok, nil).want(t, 200).JSON()
	if jnum(got, "enrolled") != 15 || jnum(got, "waitlisted") != n-15 || jnum(got, "remaining") != 0 {
		t.Fatalf("offering = %v", got)
	}
	modelstest.CheckInvariants(t, a.db)
}
