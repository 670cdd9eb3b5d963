package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEnrollShedsWith429: with the instance's enrollment queue full, POST
// /api/v1/enrollments answers 429 busy with Retry-After, and writes nothing.
func TestEnrollShedsWith429(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	st := modelstest.Student(t, s.db, school.ID, 3, "")
	tok := s.token(admin)
	termID := int64(s.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", school.ID), tok, map[string]any{
		"name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201).JSON()["id"].(float64))
	o := s.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", school.ID), tok, map[string]any{
		"term_id": termID, "kind": "club", "name": "篮球社", "weekdays": []int{2}, "start_time": "16:30", "end_time": "18:00",
		"capacity": 30, "grades": []int{3}, "mode": "fcfs", "waitlist": true,
		"enroll_opens_at": "2026-08-01T00:00:00+08:00", "enroll_closes_at": "2027-01-20T20:00:00+08:00"}).want(t, 201).JSON()
	oid := int64(o["id"].(float64))
	s.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", oid), tok, nil).want(t, 200)

	s.db.LimitEnrollQueue(1)
	t.Cleanup(func() { s.db.LimitEnrollQueue(0) })
	release, err := s.db.AdmitEnroll()
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]int64{"student_id": st.ID, "offering_id": oid}
	r := s.do("POST", "/api/v1/enrollments", tok, body).want(t, 429, "busy")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q, want 1", r.Header.Get("Retry-After"))
	}
	var n int64
	s.db.R.Raw("SELECT COUNT(*) FROM enrollments").Scan(&n)
	if n != 0 {
		t.Fatalf("%d enrollments written by a shed request", n)
	}
	release()
	s.do("POST", "/api/v1/enrollments", tok, body).want(t, 201)
}
