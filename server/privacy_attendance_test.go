package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestStudentAttendanceMonth (issue 22 item 15): GET
// /students/{id}/attendance?month answers a linked guardian and the
// school's staff every session of the child's month with its mark, leave
// and dismissal; another school, an unlinked parent and a teacher whose
// rolls the child is not on are refused; staff reads are logged.
func TestStudentAttendanceMonth(t *testing.T) {
	w := newAttWorld(t)
	kid := w.kids[0].ID
	path := fmt.Sprintf("/api/v1/students/%d/attendance?month=2030-11", kid)
	w.setNow(sh(2030, 11, 4, 20, 0))
	l := w.do("POST", fmt.Sprintf("/api/v1/students/%d/leave-requests", kid), w.parentTok,
		map[string]any{"from": "2030-11-07", "to": "2030-11-07", "reason": "发烧"}).want(t, 201).JSON()
	cancelled := w.session(t, w.club2, "2030-11-12")
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", cancelled), w.adminTok, map[string]any{"reason": "暴雨"}).want(t, 200)
	tue := w.session(t, w.club, "2030-11-05")
	w.setNow(sh(2030, 11, 5, 17, 0))
	w.mark(tue, w.teacherTok, map[int64]string{kid: "present"}, "").want(t, 200)
	w.setNow(sh(2030, 11, 5, 18, 5))
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/dismissal", tue), w.teacherTok,
		map[string]any{"records": []any{map[string]any{"student_id": kid, "by": "guardian"}}}).want(t, 200)
	w.setNow(sh(2030, 11, 8, 10, 0))

	t.Run("200_parent", func(t *testing.T) {
		r := w.do("GET", path, w.parentTok, nil).want(t, 200).JSON()
		items := r["items"].([]any)
		// Tuesdays 5, 12, 19, 26 and Thursdays 7, 14, 21, 28, two clubs each.
		if len(items) != 16 || r["month"] != "2030-11" || jnum(r, "student_id") != kid {
			t.Fatalf("%d items: %v", len(items), r)
		}
		got := map[string]map[string]any{}
		for _, it := range items {
			m := it.(map[string]any)
			off := m["offering"].(map[string]any)
			got[fmt.Sprintf("%s/%d", m["date"], jnum(off, "id"))] = m
		}
		present := got[fmt.Sprintf("2030-11-05/%d", w.club)]
		if present["status"] != "present" || present["marked"] != true || present["dismissal"].(map[string]any)["by"] != "guardian" {
			t.Fatalf("marked and dismissed session: %v", present)
		}
		if unmarked := got[fmt.Sprintf("2030-11-05/%d", w.club2)]; unmarked["status"] != nil || unmarked["dismissal"] != nil {
			t.Fatalf("unmarked session: %v", unmarked)
		}
		for _, o := range []int64{w.club, w.club2} {
			onLeave := got[fmt.Sprintf("2030-11-07/%d", o)]
			lv, _ := onLeave["leave"].(map[string]any)
			if onLeave["status"] != "leave" || onLeave["marked"] != false || jnum(lv, "id") != jnum(l, "id") || lv["reason"] != "发烧" {
				t.Fatalf("session on leave: %v", onLeave)
			}
		}
		if c := got[fmt.Sprintf("2030-11-12/%d", w.club2)]; c["session_status"] != "cancelled" || c["status"] != nil {
			t.Fatalf("cancelled session: %v", c)
		}
	})
	t.Run("200_staff_logged", func(t *testing.T) {
		for _, c := range []struct {
			tok  string
			user int64
		}{{w.adminTok, w.admin.ID}, {w.teacherTok, w.teacher.ID}} {
			if items := w.do("GET", path, c.tok, nil).want(t, 200).JSON()["items"].([]any); len(items) != 16 {
				t.Fatalf("%d items", len(items))
			}
			var n int64
			w.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = 'student_attendance' AND user_id = ? AND school_id = ?",
				c.user, w.schoolID).Scan(&n)
			if n != 1 {
				t.Fatalf("user %d: %d log rows", c.user, n)
			}
		}
	})
	t.Run("200_default_month_and_empty_month", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/students/%d/attendance", kid), w.parentTok, nil).want(t, 200).JSON()
		if r["month"] != "2030-11" {
			t.Fatalf("%v", r)
		}
		r = w.do("GET", fmt.Sprintf("/api/v1/students/%d/attendance?month=2030-07", kid), w.parentTok, nil).want(t, 200).JSON()
		if items := r["items"].([]any); len(items) != 0 {
			t.Fatalf("%v", r)
		}
	})
	t.Run("404_other_school_and_unlinked_parent", func(t *testing.T) {
		w.do("GET", path, w.otherAdminTok, nil).want(t, 404)
		w.do("GET", path, w.otherParentTok, nil).want(t, 404)
		w.do("GET", path, w.parentToks[1], nil).want(t, 404)
		w.do("GET", fmt.Sprintf("/api/v1/students/%d/attendance?month=2030-11", w.otherStudent.ID), w.parentTok, nil).want(t, 404)
	})
	t.Run("403_teacher_of_other_rolls_and_bureau", func(t *testing.T) {
		stranger := w.token(modelstest.Staff(t, w.db, models.RoleTeacher, w.schoolID, 0))
		w.do("GET", path, stranger, nil).want(t, 403, "not_your_student")
		w.do("GET", path, w.bureauTok, nil).want(t, 403)
	})
	t.Run("422_bad_month", func(t *testing.T) {
		for _, m := range []string{"2030-13", "2030-1", "november"} {
			w.do("GET", fmt.Sprintf("/api/v1/students/%d/attendance?month=%s", kid, m), w.parentTok, nil).want(t, 422, "invalid_field")
		}
	})
}
