package main

import (
	"fmt"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// enrollWorld is a school with an admin, a teacher, a term, a child with a
// linked parent — and a second school with the same, to be kept out.
type enrollWorld struct {
	*testServer
	schoolID, termID                int64
	admin, teacher, parent          models.User
	student                         models.Student
	otherSchoolID                   int64
	otherAdmin, otherTeacher, other models.User
	otherStudent                    models.Student
	adminTok, teacherTok, parentTok string
	otherAdminTok, otherTeacherTok  string
	otherParentTok, bureauTok       string
}

func newEnrollWorld(t testing.TB) *enrollWorld {
	t.Helper()
	return newEnrollWorldOn(t, newTestServer(t))
}

// newEnrollWorldOn builds the enrollWorld's fixtures on server s.
func newEnrollWorldOn(t testing.TB, s *testServer) *enrollWorld {
	t.Helper()
	w := &enrollWorld{testServer: s}
	r := modelstest.Region(t, s.db, nil)
	sc := modelstest.School(t, s.db, r.ID)
	sc2 := modelstest.School(t, s.db, r.ID)
	w.schoolID, w.otherSchoolID = sc.ID, sc2.ID
	w.admin = modelstest.Staff(t, s.db, models.RoleSchoolAdmin, sc.ID, 0)
	w.teacher = modelstest.Staff(t, s.db, models.RoleTeacher, sc.ID, 0)
	w.student = modelstest.Student(t, s.db, sc.ID, 3, "13812345678")
	w.parent = modelstest.Parent(t, s.db, w.student.ID)
	w.otherAdmin = modelstest.Staff(t, s.db, models.RoleSchoolAdmin, sc2.ID, 0)
	w.otherTeacher = modelstest.Staff(t, s.db, models.RoleTeacher, sc2.ID, 0)
	w.otherStudent = modelstest.Student(t, s.db, sc2.ID, 3, "13912345678")
	w.other = modelstest.Parent(t, s.db, w.otherStudent.ID)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, r.ID)
	w.adminTok, w.teacherTok, w.parentTok = s.token(w.admin), s.token(w.teacher), s.token(w.parent)
	w.otherAdminTok, w.otherTeacherTok, w.otherParentTok = s.token(w.otherAdmin), s.token(w.otherTeacher), s.token(w.other)
	w.bureauTok = s.token(bureau)
	term := s.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", sc.ID), w.adminTok, map[string]any{
		"name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201).JSON()
	w.termID = int64(term["id"].(float64))
	return w
}

// offeringBody is SPEC's example offering, open now.
func (w *enrollWorld) offeringBody(mod func(map[string]any)) map[string]any {
	b := map[string]any{"term_id": w.termID, "kind": "club", "name": "篮球社", "category": "sports",
		"description": "…", "teacher": "王老师", "venue": "操场", "weekdays": []int{2, 4},
		"start_time": "16:30", "end_time": "18:00", "capacity": 30, "grades": []int{3, 4, 5, 6}, "fee_fen": 0,
		"mode": "fcfs", "waitlist": true,
		"enroll_opens_at":  time.Now().Add(-time.Hour).Format(time.RFC3339),
		"enroll_closes_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
	if mod != nil {
		mod(b)
	}
	return b
}

// publishedOffering creates and publishes an offering; it returns its id.
func (w *enrollWorld) publishedOffering(t testing.TB, mod func(map[string]any)) int64 {
	t.Helper()
	o := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok, w.offeringBody(mod)).want(t, 201).JSON()
	id := int64(o["id"].(float64))
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", id), w.adminTok, nil).want(t, 200)
	return id
}
