package main

import (
	"fmt"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// attWorld is an enrollWorld with a term in autumn 2030 (far from the wall
// clock: the test clock decides what has started), two clubs on Tuesday
// and Thursday — 篮球社 16:30–18:00 taught by teacher, 美术社 18:10–19:00
// by teacher2 — and three children with a parent each, enrolled in both.
type attWorld struct {
	*enrollWorld
	now         time.Time
	term        int64
	club, club2 int64
	teacher2    models.User
	teacher2Tok string
	kids        []models.Student
	parents     []models.User
	parentToks  []string
}

// sh is a time of day in Asia/Shanghai.
func sh(y int, mo time.Month, d, h, m int) time.Time {
	return time.Date(y, mo, d, h, m, 0, 0, models.Zone)
}

// setNow moves the clock of the handlers and of the models.
func (w *attWorld) setNow(t time.Time) {
	w.now = t
	w.api.Now = func() time.Time { return w.now }
	w.db.Clock = func() time.Time { return w.now }
}

func newAttWorld(t testing.TB) *attWorld {
	t.Helper()
	return newAttWorldOn(t, newEnrollWorld(t))
}

func newAttWorldOn(t testing.TB, ew *enrollWorld) *attWorld {
	t.Helper()
	w := &attWorld{enrollWorld: ew}
	w.setNow(sh(2030, 8, 30, 9, 0))
	term := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok, map[string]any{
		"name": "2030秋季学期", "starts_on": "2030-09-02", "ends_on": "2031-01-17", "max_clubs": 3,
		"no_service_days": []string{"2030-10-01", "2030-10-03"},
		"extra_days":      []map[string]any{{"date": "2030-09-29", "as_weekday": 2}}}).want(t, 201).JSON()
	w.term = jnum(term, "id")
	w.teacher2 = modelstest.Staff(t, w.db, models.RoleTeacher, w.schoolID, 0)
	w.teacher2Tok = w.token(w.teacher2)
	// The enrollment window lies before the term (the school admin
	// enrolls the children: staff may enroll outside it).
	window := func(m map[string]any) {
		m["term_id"], m["enroll_opens_at"], m["enroll_closes_at"] = w.term, "2030-08-01T08:00:00+08:00", "2030-08-31T20:00:00+08:00"
	}
	w.club = w.publishedOffering(t, func(m map[string]any) { window(m); m["teacher_user_id"] = w.teacher.ID })
	w.club2 = w.publishedOffering(t, func(m map[string]any) {
		window(m)
		m["name"], m["category"], m["start_time"], m["end_time"] = "美术社", "arts", "18:10", "19:00"
		m["teacher_user_id"] = w.teacher2.ID
	})
	w.kids = []models.Student{w.student, modelstest.Student(t, w.db, w.schoolID, 3, ""), modelstest.Student(t, w.db, w.schoolID, 4, "")}
	w.parents = []models.User{w.parent, modelstest.Parent(t, w.db, w.kids[1].ID), modelstest.Parent(t, w.db, w.kids[2].ID)}
	for _, p := range w.parents {
		w.parentToks = append(w.parentToks, w.token(p))
	}
	for _, k := range w.kids {
		for _, o := range []int64{w.club, w.club2} {
			w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": k.ID, "offering_id": o}).want(t, 201)
		}
	}
	return w
}

// session is the id of offering's session on date.
func (w *attWorld) session(t testing.TB, offering int64, date string) int64 {
	t.Helper()
	r := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?from=%s&to=%s", offering, date, date), w.adminTok, nil).want(t, 200)
	items, _ := r.JSON()["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("sessions of %d on %s: %s", offering, date, r.Body)
	}
	return jnum(items[0].(map[string]any), "id")
}

// mark PUTs records (student id → status) on session id as tok.
func (w *attWorld) mark(id int64, tok string, records map[int64]string, reason string) resp {
	recs := []map[string]any{}
	for _, k := range w.kids {
		if st, ok := records[k.ID]; ok {
			recs = append(recs, map[string]any{"student_id": k.ID, "status": st})
		}
	}
	for sid, st := range records {
		if !w.isKid(sid) {
			recs = append(recs, map[string]any{"student_id": sid, "status": st})
		}
	}
	body := map[string]any{"records": recs}
	if reason != "" {
		body["reason"] = reason
	}
	return w.do("PUT", fmt.Sprintf("/api/v1/sessions/%d/attendance", id), tok, body)
}

func (w *attWorld) isKid(id int64) bool {
	for _, k := range w.kids {
		if k.ID == id {
			return true
		}
	}
	return false
}

// rollStatus maps each child of a roll answer to its status ("" for null).
func rollStatus(t testing.TB, r resp) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	items, _ := r.JSON()["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		s, _ := m["status"].(string)
		out[jnum(m, "student_id")] = s
	}
	return out
}

// outboxRow is a queued notification.
type outboxRow struct {
	Kind      string
	UserID    int64
	DedupeKey string
	Payload   string
}

// outbox lists the queued notifications of kind.
func (w *attWorld) outbox(t testing.TB, kind string) []outboxRow {
	t.Helper()
	var out []outboxRow
	if err := w.db.R.Raw("SELECT kind, user_id, dedupe_key, payload FROM outbox WHERE kind = ? ORDER BY id", kind).
		Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// changes counts the audit rows of session id.
func (w *attWorld) changes(t testing.TB, id int64) []map[string]any {
	t.Helper()
	r := w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/attendance/changes", id), w.adminTok, nil).want(t, 200)
	out := []map[string]any{}
	for _, it := range r.JSON()["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}
