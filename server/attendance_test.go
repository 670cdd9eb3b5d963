// HTTP tests of the daily loop (sessions, roll, leave, alerts, dismissal,
// exports), one per outcome. Past 400 lines because they share one world
// built once per test (attendance_helpers_test.go); a split would only
// scatter the outcomes of one route.

package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestAttendanceSessionsGenerated: publishing generates the term's teaching
// dates (term starting on a Monday; Tuesday/Thursday club; a no-service
// Thursday; a make-up Sunday running Tuesday's timetable), and the calendar
// route moves the future with it.
func TestAttendanceSessionsGenerated(t *testing.T) {
	w := newAttWorld(t)
	r := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?from=2030-09-01&to=2030-10-06", w.club), w.parentTok, nil).want(t, 200)
	var got []string
	for _, it := range r.JSON()["items"].([]any) {
		m := it.(map[string]any)
		got = append(got, m["date"].(string))
		if m["start_time"] != "16:30" || m["status"] != "scheduled" || jnum(m, "teacher_user_id") != w.teacher.ID {
			t.Fatalf("session %v", m)
		}
	}
	want := "2030-09-03 2030-09-05 2030-09-10 2030-09-12 2030-09-17 2030-09-19 2030-09-24 2030-09-26 2030-09-29"
	if strings.Join(got, " ") != want {
		t.Fatalf("sessions %v, want %s", got, want)
	}

	t.Run("calendar200", func(t *testing.T) {
		w.setNow(sh(2030, 9, 20, 12, 0))
		r := w.do("PUT", fmt.Sprintf("/api/v1/schools/%d/terms/%d/calendar", w.schoolID, w.term), w.adminTok, map[string]any{
			"no_service_days": []string{"2030-09-24", "2030-09-17"},
			"extra_days":      []map[string]any{{"date": "2030-09-28", "as_weekday": 4}}}).want(t, 200).JSON()
		if ex := r["extra_days"].([]any); len(ex) != 1 {
			t.Fatalf("term %v", r)
		}
		r2 := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?from=2030-09-15&to=2030-10-06", w.club), w.adminTok, nil).want(t, 200)
		var got []string
		for _, it := range r2.JSON()["items"].([]any) {
			m := it.(map[string]any)
			d := m["date"].(string)
			if m["status"] != "scheduled" {
				d += ":" + m["status"].(string)
			}
			got = append(got, d)
		}
		// 09-17 is in the past: kept. 09-24 cancelled (the families are
		// told), 09-28 (Thursday's timetable) added, 09-29 no longer an
		// extra day (cancelled), 10-01 and 10-03 no longer no-service.
		want := "2030-09-17 2030-09-19 2030-09-24:cancelled 2030-09-26 2030-09-28 2030-09-29:cancelled 2030-10-01 2030-10-03"
		if strings.Join(got, " ") != want {
			t.Fatalf("sessions %v, want %s", got, want)
		}
	})
	t.Run("calendar422_extra_on_weekday", func(t *testing.T) {
		w.do("PUT", fmt.Sprintf("/api/v1/schools/%d/terms/%d/calendar", w.schoolID, w.term), w.adminTok, map[string]any{
			"extra_days": []map[string]any{{"date": "2030-09-25", "as_weekday": 4}}}).want(t, 422, "invalid_field")
	})
	t.Run("calendar404_other_school", func(t *testing.T) {
		w.do("PUT", fmt.Sprintf("/api/v1/schools/%d/terms/%d/calendar", w.schoolID, w.term), w.otherAdminTok,
			map[string]any{"no_service_days": []string{}}).want(t, 404)
		w.do("PUT", fmt.Sprintf("/api/v1/schools/%d/terms/%d/calendar", w.otherSchoolID, w.term), w.otherAdminTok,
			map[string]any{"no_service_days": []string{}}).want(t, 404)
	})
	t.Run("sessions_paged_by_limit", func(t *testing.T) {
		var got []string
		cursor := ""
		for page := 0; page < 5; page++ {
			r := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?from=2030-09-01&to=2030-09-12&limit=2&cursor=%s", w.club, cursor),
				w.adminTok, nil).want(t, 200).JSON()
			items := r["items"].([]any)
			if len(items) > 2 {
				t.Fatalf("limit 2 answered %d", len(items))
			}
			for _, it := range items {
				got = append(got, it.(map[string]any)["date"].(string))
			}
			if cursor, _ = r["next_cursor"].(string); cursor == "" {
				break
			}
		}
		if strings.Join(got, " ") != "2030-09-03 2030-09-05 2030-09-10 2030-09-12" {
			t.Fatalf("pages gave %v", got)
		}
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?limit=0", w.club), w.adminTok, nil).want(t, 400, "bad_param")
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?cursor=%%%%", w.club), w.adminTok, nil).want(t, 400)
	})
	t.Run("sessions404_other_parent", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions", w.club), w.otherParentTok, nil).want(t, 404)
	})
}

// TestAttendanceRoll: the roll call of one session, outcome by outcome.
func TestAttendanceRoll(t *testing.T) {
	w := newAttWorld(t)
	id := w.session(t, w.club, "2030-11-05")
	k0, k1, k2 := w.kids[0].ID, w.kids[1].ID, w.kids[2].ID
	all := map[int64]string{k0: "present", k1: "absent", k2: "late"}

	w.setNow(sh(2030, 11, 5, 16, 0))
	r := w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", id), w.teacherTok, nil).want(t, 200)
	if st := rollStatus(t, r); len(st) != 3 || st[k0] != "" || st[k1] != "" {
		t.Fatalf("roll before marking %s", r.Body)
	}
	t.Run("409_session_not_started", func(t *testing.T) {
		w.mark(id, w.teacherTok, all, "").want(t, 409, "session_not_started")
	})

	w.setNow(sh(2030, 11, 5, 16, 35))
	t.Run("200_whole_roll", func(t *testing.T) {
		r := w.mark(id, w.teacherTok, all, "").want(t, 200)
		if st := rollStatus(t, r); st[k0] != "present" || st[k1] != "absent" || st[k2] != "late" {
			t.Fatalf("roll %s", r.Body)
		}
		if r.JSON()["session"].(map[string]any)["roll_taken_at"] == nil {
			t.Fatalf("roll_taken_at not set: %s", r.Body)
		}
		alerts := w.outbox(t, models.NotifyAbsence)
		if len(alerts) != 1 || alerts[0].UserID != w.parents[1].ID {
			t.Fatalf("alerts %+v", alerts)
		}
		if !strings.Contains(alerts[0].Payload, w.kids[1].Name) || !strings.Contains(alerts[0].Payload, "篮球社") {
			t.Fatalf("alert names neither child nor club: %s", alerts[0].Payload)
		}
	})
	t.Run("200_same_put_changes_nothing", func(t *testing.T) {
		before := len(w.changes(t, id))
		w.mark(id, w.teacherTok, all, "").want(t, 200)
		if after := len(w.changes(t, id)); after != before || after != 3 {
			t.Fatalf("audit rows %d → %d", before, after)
		}
		if n := len(w.outbox(t, models.NotifyAbsence)); n != 1 {
			t.Fatalf("%d alerts", n)
		}
	})
	t.Run("200_part_of_roll_and_arrived_correction", func(t *testing.T) {
		r := w.mark(id, w.teacherTok, map[int64]string{k1: "present"}, "").want(t, 200)
		if st := rollStatus(t, r); st[k0] != "present" || st[k1] != "present" {
			t.Fatalf("roll %s", r.Body)
		}
		alerts := w.outbox(t, models.NotifyAbsence)
		if len(alerts) != 2 || !strings.Contains(alerts[1].Payload, "已到") {
			t.Fatalf("alerts %+v", alerts)
		}
		// Absent again: the alert was sent once for this session.
		w.mark(id, w.teacherTok, map[int64]string{k1: "absent"}, "").want(t, 200)
		w.mark(id, w.teacherTok, map[int64]string{k1: "present"}, "").want(t, 200)
		if n := len(w.outbox(t, models.NotifyAbsence)); n != 2 {
			t.Fatalf("%d messages, want the alert and one correction", n)
		}
		cs := w.changes(t, id)
		last := cs[len(cs)-1]
		if len(cs) != 6 || last["old_status"] != "absent" || last["new_status"] != "present" || jnum(last, "changed_by") != w.teacher.ID {
			t.Fatalf("changes %v", cs)
		}
	})
	t.Run("422_not_on_roll_names_student", func(t *testing.T) {
		r := w.mark(id, w.teacherTok, map[int64]string{k0: "present", w.otherStudent.ID: "present"}, "").want(t, 422, "not_on_roll")
		if msg := r.JSON()["message"].(string); !strings.Contains(msg, fmt.Sprint(w.otherStudent.ID)) || strings.Contains(msg, w.otherStudent.Name) {
			t.Fatalf("message should name another school's child by id only: %s", r.Body)
		}
		// A child of the school who is not in this club is named.
		mine := modelstest.Student(t, w.db, w.schoolID, 3, "")
		r = w.mark(id, w.teacherTok, map[int64]string{mine.ID: "present"}, "").want(t, 422, "not_on_roll")
		if !strings.Contains(r.JSON()["message"].(string), mine.Name) {
			t.Fatalf("message does not name the child: %s", r.Body)
		}
	})
	t.Run("422_bad_status", func(t *testing.T) {
		w.mark(id, w.teacherTok, map[int64]string{k0: "here"}, "").want(t, 422, "invalid_field")
		w.do("PUT", fmt.Sprintf("/api/v1/sessions/%d/attendance", id), w.teacherTok, map[string]any{"records": []any{}}).want(t, 422, "invalid_field")
		w.do("PUT", fmt.Sprintf("/api/v1/sessions/%d/attendance", id), w.teacherTok, "{").want(t, 400)
	})
	t.Run("403_teacher_of_another_offering", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", id), w.teacher2Tok, nil).want(t, 403, "not_your_session")
		w.mark(id, w.teacher2Tok, all, "").want(t, 403, "not_your_session")
	})
	t.Run("404_other_school", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", id), w.otherTeacherTok, nil).want(t, 404)
		w.mark(id, w.otherAdminTok, all, "").want(t, 404)
		w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/attendance/changes", id), w.otherAdminTok, nil).want(t, 404)
		w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", id), w.otherAdminTok, map[string]any{"reason": "x"}).want(t, 404)
		w.do("GET", "/api/v1/sessions/999999/roll", w.adminTok, nil).want(t, 404)
	})
	t.Run("403_parent_and_bureau", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", id), w.parentTok, nil).want(t, 403)
		w.mark(id, w.bureauTok, all, "").want(t, 403)
	})

	// The next morning: the day is over.
	w.setNow(sh(2030, 11, 6, 8, 0))
	t.Run("403_teacher_after_the_day", func(t *testing.T) {
		w.mark(id, w.teacherTok, map[int64]string{k2: "present"}, "").want(t, 403, "roll_closed")
	})
	t.Run("422_admin_correction_without_reason", func(t *testing.T) {
		w.mark(id, w.adminTok, map[int64]string{k2: "present"}, "").want(t, 422, "invalid_field")
	})
	t.Run("200_admin_correction_with_reason", func(t *testing.T) {
		r := w.mark(id, w.adminTok, map[int64]string{k2: "present"}, "家长来电说明已到校").want(t, 200)
		if rollStatus(t, r)[k2] != "present" {
			t.Fatalf("roll %s", r.Body)
		}
		cs := w.changes(t, id)
		last := cs[len(cs)-1]
		if last["reason"] != "家长来电说明已到校" || jnum(last, "changed_by") != w.admin.ID || last["old_status"] != "late" {
			t.Fatalf("last change %v", last)
		}
		before := len(w.outbox(t, models.NotifyAbsence))
		w.mark(id, w.adminTok, map[int64]string{k0: "absent"}, "补录").want(t, 200)
		if after := len(w.outbox(t, models.NotifyAbsence)); after != before {
			t.Fatalf("a correction after the day sent %d messages", after-before)
		}
	})

	t.Run("me_sessions", func(t *testing.T) {
		r := w.do("GET", "/api/v1/me/sessions?date=2030-11-05", w.teacherTok, nil).want(t, 200)
		items := r.JSON()["items"].([]any)
		if len(items) != 1 || jnum(items[0].(map[string]any), "id") != id {
			t.Fatalf("teacher's sessions %s", r.Body)
		}
		r = w.do("GET", "/api/v1/me/sessions?date=2030-11-05", w.adminTok, nil).want(t, 200)
		if items := r.JSON()["items"].([]any); len(items) != 2 {
			t.Fatalf("admin's sessions %s", r.Body)
		}
		p1 := w.do("GET", "/api/v1/me/sessions?date=2030-11-05&limit=1", w.adminTok, nil).want(t, 200).JSON()
		cur, _ := p1["next_cursor"].(string)
		p2 := w.do("GET", "/api/v1/me/sessions?date=2030-11-05&limit=1&cursor="+cur, w.adminTok, nil).want(t, 200).JSON()
		i1, i2 := p1["items"].([]any), p2["items"].([]any)
		if len(i1) != 1 || len(i2) != 1 || i1[0].(map[string]any)["offering_name"] != "篮球社" ||
			i2[0].(map[string]any)["offering_name"] != "美术社" || p2["next_cursor"] != "" {
			t.Fatalf("pages %v %v", p1, p2)
		}
		w.do("GET", "/api/v1/me/sessions?date=2030-11-05", w.otherTeacherTok, nil).want(t, 200)
		w.do("GET", "/api/v1/me/sessions?date=11/05", w.teacherTok, nil).want(t, 400)
		w.do("GET", "/api/v1/me/sessions", w.parentTok, nil).want(t, 403)
	})
}

// TestAttendanceTeacherAssignment: teacher_user_id must name a teacher of
// the offering's school.
func TestAttendanceTeacherAssignment(t *testing.T) {
	w := newAttWorld(t)
	path := fmt.Sprintf("/api/v1/offerings/%d", w.club)
	for name, id := range map[string]int64{"other_school_teacher": w.otherTeacher.ID, "school_admin": w.admin.ID,
		"parent": w.parent.ID, "missing": 999999} {
		t.Run("422_"+name, func(t *testing.T) {
			r := w.do("PATCH", path, w.adminTok, map[string]any{"teacher_user_id": id}).want(t, 422, "invalid_field")
			if !strings.Contains(string(r.Body), "teacher_user_id") {
				t.Fatalf("%s", r.Body)
			}
		})
	}
	t.Run("200_reassign_then_clear", func(t *testing.T) {
		r := w.do("PATCH", path, w.adminTok, map[string]any{"teacher_user_id": w.teacher2.ID}).want(t, 200).JSON()
		if jnum(r, "teacher_user_id") != w.teacher2.ID {
			t.Fatalf("%v", r)
		}
		r = w.do("PATCH", path, w.adminTok, map[string]any{"teacher_user_id": 0}).want(t, 200).JSON()
		if r["teacher_user_id"] != nil {
			t.Fatalf("%v", r)
		}
	})
}

// TestAttendanceLeave: a parent's leave over two clubs pre-fills both
// rolls; a teacher can still mark present; absent with leave sends no
// alert; cancelling is allowed until the first covered session starts.
func TestAttendanceLeave(t *testing.T) {
	w := newAttWorld(t)
	kid := w.kids[0].ID
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", kid)
	w.setNow(sh(2030, 11, 4, 20, 0))
	t.Run("422_past_or_backwards", func(t *testing.T) {
		w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-03", "to": "2030-11-05", "reason": "病假"}).want(t, 422, "invalid_field")
		w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-06", "to": "2030-11-05", "reason": "病假"}).want(t, 422, "invalid_field")
		w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": " "}).want(t, 422, "invalid_field")
		w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": "病假",
			"offering_ids": []int64{999999}}).want(t, 422, "invalid_field")
	})
	t.Run("404_403_not_their_child", func(t *testing.T) {
		w.do("POST", path, w.otherParentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": "病假"}).want(t, 404)
		w.do("POST", path, w.adminTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": "病假"}).want(t, 403)
		w.do("GET", path, w.otherParentTok, nil).want(t, 404)
		w.do("GET", path, w.otherAdminTok, nil).want(t, 404)
	})
	l := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": "发烧"}).want(t, 201).JSON()
	lid := jnum(l, "id")
	s1, s2 := w.session(t, w.club, "2030-11-05"), w.session(t, w.club2, "2030-11-05")
	for _, s := range []int64{s1, s2} {
		r := w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", s), w.adminTok, nil).want(t, 200)
		for _, it := range r.JSON()["items"].([]any) {
			m := it.(map[string]any)
			if jnum(m, "student_id") != kid {
				continue
			}
			lv, _ := m["leave"].(map[string]any)
			if m["status"] != "leave" || m["marked"] != false || jnum(lv, "id") != lid {
				t.Fatalf("session %d: %v", s, m)
			}
		}
	}
	t.Run("200_listed_for_parent_and_staff", func(t *testing.T) {
		for _, tok := range []string{w.parentTok, w.adminTok, w.teacherTok} {
			r := w.do("GET", path, tok, nil).want(t, 200)
			if items := r.JSON()["items"].([]any); len(items) != 1 {
				t.Fatalf("%s", r.Body)
			}
		}
	})
	t.Run("200_delete_before_start_then_409", func(t *testing.T) {
		other := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-07", "to": "2030-11-07", "reason": "家中有事",
			"offering_ids": []int64{w.club2}}).want(t, 201).JSON()
		w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", jnum(other, "id")), w.parentToks[1], nil).want(t, 404)
		w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", jnum(other, "id")), w.parentTok, nil).want(t, 200)
		w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", jnum(other, "id")), w.parentTok, nil).want(t, 409, "leave_cancelled")
	})

	w.setNow(sh(2030, 11, 5, 16, 40))
	t.Run("409_delete_after_first_session_started", func(t *testing.T) {
		w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", lid), w.parentTok, nil).want(t, 409, "leave_started")
	})
	t.Run("200_teacher_marks_present_anyway", func(t *testing.T) {
		r := w.mark(s1, w.teacherTok, map[int64]string{kid: "present"}, "").want(t, 200)
		if rollStatus(t, r)[kid] != "present" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("no_alert_for_absent_with_leave", func(t *testing.T) {
		w.setNow(sh(2030, 11, 5, 18, 15))
		w.mark(s2, w.teacher2Tok, map[int64]string{kid: "absent"}, "").want(t, 200)
		if n := len(w.outbox(t, models.NotifyAbsence)); n != 0 {
			t.Fatalf("%d alerts for a child on leave", n)
		}
	})
}

// TestAttendanceCancelAndDismissal: a cancelled session notifies the
// families and cannot be marked; a dismissal tells the guardians once.
func TestAttendanceCancelAndDismissal(t *testing.T) {
	w := newAttWorld(t)
	id := w.session(t, w.club, "2030-11-07")
	w.setNow(sh(2030, 11, 7, 12, 0))
	t.Run("422_no_reason", func(t *testing.T) {
		w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", id), w.adminTok, map[string]any{"reason": ""}).want(t, 422, "invalid_field")
	})
	t.Run("403_teacher", func(t *testing.T) {
		w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", id), w.teacherTok, map[string]any{"reason": "暴雨"}).want(t, 403)
	})
	t.Run("200_cancel_notifies", func(t *testing.T) {
		r := w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", id), w.adminTok, map[string]any{"reason": "暴雨"}).want(t, 200).JSON()
		if r["status"] != "cancelled" || r["cancel_reason"] != "暴雨" {
			t.Fatalf("%v", r)
		}
		if n := len(w.outbox(t, models.NotifySessionCancelled)); n != 3 {
			t.Fatalf("%d notifications, want one per family", n)
		}
	})
	w.setNow(sh(2030, 11, 7, 16, 40))
	t.Run("409_mark_cancelled", func(t *testing.T) {
		w.mark(id, w.teacherTok, map[int64]string{w.kids[0].ID: "present"}, "").want(t, 409, "session_cancelled")
		w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", id), w.adminTok, map[string]any{"reason": "暴雨"}).want(t, 409, "session_cancelled")
	})

	s2 := w.session(t, w.club2, "2030-11-07")
	w.setNow(sh(2030, 11, 7, 18, 20))
	w.mark(s2, w.teacher2Tok, map[int64]string{w.kids[0].ID: "present", w.kids[1].ID: "late"}, "").want(t, 200)
	t.Run("409_cancel_marked", func(t *testing.T) {
		w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", s2), w.adminTok, map[string]any{"reason": "x"}).want(t, 409, "session_marked")
	})
	w.setNow(sh(2030, 11, 7, 19, 5))
	dpath := fmt.Sprintf("/api/v1/sessions/%d/dismissal", s2)
	t.Run("422_bad_by", func(t *testing.T) {
		w.do("POST", dpath, w.teacher2Tok, map[string]any{"records": []any{map[string]any{"student_id": w.kids[0].ID, "by": "taxi"}}}).want(t, 422, "invalid_field")
		w.do("POST", dpath, w.teacher2Tok, map[string]any{"records": []any{map[string]any{"student_id": w.otherStudent.ID, "by": "self"}}}).want(t, 422, "not_on_roll")
	})
	t.Run("200_dismissal_once", func(t *testing.T) {
		body := map[string]any{"records": []any{
			map[string]any{"student_id": w.kids[0].ID, "by": "guardian"},
			map[string]any{"student_id": w.kids[1].ID, "by": "bus", "at": "2030-11-07T19:02:00+08:00"}}}
		r := w.do("POST", dpath, w.teacher2Tok, body).want(t, 200)
		if items := r.JSON()["items"].([]any); len(items) != 2 {
			t.Fatalf("%s", r.Body)
		}
		w.do("POST", dpath, w.teacher2Tok, body).want(t, 200)
		msgs := w.outbox(t, models.NotifyDismissal)
		if len(msgs) != 2 || !strings.Contains(msgs[0].Payload, "已离校") || !strings.Contains(msgs[1].Payload, "19:02") {
			t.Fatalf("messages %+v", msgs)
		}
		roll := w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", s2), w.teacher2Tok, nil).want(t, 200)
		if !strings.Contains(string(roll.Body), `"dismissed_by":"bus"`) {
			t.Fatalf("%s", roll.Body)
		}
	})
	t.Run("403_404_dismissal", func(t *testing.T) {
		body := map[string]any{"records": []any{map[string]any{"student_id": w.kids[0].ID, "by": "self"}}}
		w.do("POST", dpath, w.teacherTok, body).want(t, 403, "not_your_session")
		w.do("POST", dpath, w.otherAdminTok, body).want(t, 404)
	})
}

// TestAttendanceAlertOnceAcrossInstances: two instances on one database
// receive the same roll many times at once; each absent child's guardian
// gets exactly one alert and the audit trail one change per child.
func TestAttendanceAlertOnceAcrossInstances(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	w := newAttWorldOn(t, newEnrollWorldOn(t, a))
	wb := &attWorld{enrollWorld: &enrollWorld{testServer: b}, kids: w.kids}
	wb.setNow(sh(2030, 11, 5, 16, 45))
	w.setNow(sh(2030, 11, 5, 16, 45))
	id := w.session(t, w.club, "2030-11-05")
	recs := map[int64]string{w.kids[0].ID: "absent", w.kids[1].ID: "absent", w.kids[2].ID: "present"}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		srv := w
		if i%2 == 1 {
			srv = wb
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := srv.mark(id, w.teacherTok, recs, ""); r.Status != 200 {
				t.Errorf("mark: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	alerts := w.outbox(t, models.NotifyAbsence)
	if len(alerts) != 2 {
		t.Fatalf("%d alerts, want 2: %+v", len(alerts), alerts)
	}
	if n := len(w.changes(t, id)); n != 3 {
		t.Fatalf("%d audit rows, want 3", n)
	}
}

// TestAttendanceSheetExport: a month's sheet, children × sessions, with
// totals, as CSV and XLSX named after the club.
func TestAttendanceSheetExport(t *testing.T) {
	w := newAttWorld(t)
	k0, k1 := w.kids[0].ID, w.kids[1].ID
	s1, s2 := w.session(t, w.club, "2030-11-05"), w.session(t, w.club, "2030-11-07")
	w.setNow(sh(2030, 11, 5, 17, 0))
	w.mark(s1, w.teacherTok, map[int64]string{k0: "present", k1: "absent"}, "").want(t, 200)
	w.setNow(sh(2030, 11, 7, 17, 0))
	w.mark(s2, w.teacherTok, map[int64]string{k0: "late", k1: "leave"}, "").want(t, 200)
	path := fmt.Sprintf("/api/v1/offerings/%d/attendance?month=2030-11", w.club)

	t.Run("csv", func(t *testing.T) {
		r := w.do("GET", path+"&format=csv", w.teacherTok, nil).want(t, 200)
		cd := r.Header.Get("Content-Disposition")
		if !strings.Contains(cd, "filename*=UTF-8''%E7%AF%AE%E7%90%83%E7%A4%BE-%E8%80%83%E5%8B%A4-2030-11.csv") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(r.Body), "\uFEFF")), "\n")
		if !strings.HasPrefix(lines[0], "学号,姓名,年级,班级,11-05,11-07,") || !strings.HasSuffix(lines[0], "出勤,迟到,请假,缺勤,出勤率") {
			t.Fatalf("header %q", lines[0])
		}
		want0 := fmt.Sprintf("%s,%s,3,1班,出,迟,", w.kids[0].StudentNo, w.kids[0].Name)
		if !strings.HasPrefix(lines[1], want0) || !strings.HasSuffix(lines[1], ",1,1,0,0,100.0%") {
			t.Fatalf("row %q", lines[1])
		}
		if !strings.HasSuffix(lines[2], ",0,0,1,1,0.0%") {
			t.Fatalf("row %q", lines[2])
		}
		// The sessions after the 7th have no roll yet: "—", not 0.
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "合计,,,,1,1,—") {
			t.Fatalf("totals %q", last)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		r := w.do("GET", path+"&format=xlsx", w.adminTok, nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		v, _ := f.GetCellValue(sheet, "E2")
		if v != "出" {
			t.Fatalf("E2 = %q", v)
		}
		// The rate is a number (a secretary sorts and averages it) shown
		// as a percentage.
		rows, _ := f.GetRows(sheet)
		col, _ := excelize.ColumnNumberToName(len(rows[0]))
		if typ, _ := f.GetCellType(sheet, col+"2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Fatalf("rate cell type %v", typ)
		}
		raw, _ := f.GetCellValue(sheet, col+"2", excelize.Options{RawCellValue: true})
		shown, _ := f.GetCellValue(sheet, col+"2")
		if raw != "1" || shown != "100.0%" {
			t.Fatalf("rate cell raw %q shown %q, want 1 shown as 100.0%%", raw, shown)
		}
		checkXLSXDimension(t, f)
	})
	t.Run("422_bad_month", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/attendance?month=2030-13", w.club), w.adminTok, nil).want(t, 422)
		w.do("GET", path+"&format=pdf", w.adminTok, nil).want(t, 400)
	})
	t.Run("403_404", func(t *testing.T) {
		w.do("GET", path, w.teacher2Tok, nil).want(t, 403, "not_your_session")
		w.do("GET", path, w.otherAdminTok, nil).want(t, 404)
		w.do("GET", path, w.parentTok, nil).want(t, 403)
	})
}

// TestAttendanceStatsDashboards: the daily loop's figures reach the
// overview, the trend, the per-school table and its export.
func TestAttendanceStatsDashboards(t *testing.T) {
	w := newAttWorld(t)
	id := w.session(t, w.club, "2030-11-05")
	w.setNow(sh(2030, 11, 5, 16, 40))
	w.mark(id, w.teacherTok, map[int64]string{w.kids[0].ID: "present", w.kids[1].ID: "absent", w.kids[2].ID: "late"}, "").want(t, 200)
	w.setNow(sh(2030, 11, 5, 12, 0))
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", w.session(t, w.club2, "2030-11-07")), w.adminTok,
		map[string]any{"reason": "运动会"}).want(t, 200)
	if _, err := models.ComputeStats(t.Context(), w.db, "2030-11-07", sh(2030, 11, 7, 23, 0)); err != nil {
		t.Fatal(err)
	}
	o := w.do("GET", fmt.Sprintf("/api/v1/stats/overview?school_id=%d&date=2030-11-07", w.schoolID), w.adminTok, nil).want(t, 200).JSON()
	// Sessions from 3 Sep to 7 Nov: Tuesdays and Thursdays (20 each club)
	// minus the no-service 1 and 3 Oct, plus the make-up 29 Sep, per club.
	if o["attendance_rate"] != 2.0/3 || o["teacher_participation_rate"] != 0.5 || jnum(o, "sessions_cancelled") != 1 ||
		jnum(o, "sessions_held") != 2*(20-2+1)-1 {
		t.Fatalf("overview %v", o)
	}
	tr := w.do("GET", fmt.Sprintf("/api/v1/stats/trend?metric=sessions_cancelled&school_id=%d&from=2030-11-01&to=2030-11-07", w.schoolID),
		w.adminTok, nil).want(t, 200)
	if !strings.Contains(string(tr.Body), `"value":1`) {
		t.Fatalf("trend %s", tr.Body)
	}
	rows := w.do("GET", "/api/v1/stats/schools?date=2030-11-07", w.bureauTok, nil).want(t, 200)
	if !strings.Contains(string(rows.Body), `"teacher_participation_rate":0.5`) {
		t.Fatalf("schools %s", rows.Body)
	}
	csv := w.do("GET", "/api/v1/stats/schools?date=2030-11-07&format=csv", w.bureauTok, nil).want(t, 200)
	if !strings.Contains(string(csv.Body), "教师点名参与率") || !strings.Contains(string(csv.Body), "停课节次") {
		t.Fatalf("export %s", csv.Body)
	}
}

// TestAttendanceSeedDemoTeacher: the demo teacher takes the roll of the
// first demo school's clubs, whose sessions exist.
func TestAttendanceSeedDemoTeacher(t *testing.T) {
	url := modelstest.URL(t)
	if err := run(t.Context(), []string{"seed", "demo"}, envFor("DATABASE_URL", url), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	db := modelstest.Open(t, url)
	var clubs, assigned, sessions int64
	db.R.Raw(`SELECT COUNT(*) FROM offerings o JOIN schools s ON s.id = o.school_id WHERE s.code = 'DEMO-S1' AND o.kind = 'club'`).Scan(&clubs)
	db.R.Raw(`SELECT COUNT(*) FROM offerings o JOIN schools s ON s.id = o.school_id JOIN users u ON u.id = o.teacher_user_id
		WHERE s.code = 'DEMO-S1' AND u.username = 'demo_teacher'`).Scan(&assigned)
	db.R.Raw(`SELECT COUNT(*) FROM sessions`).Scan(&sessions)
	if clubs == 0 || assigned != clubs || sessions == 0 {
		t.Fatalf("clubs %d, assigned to demo_teacher %d, sessions %d", clubs, assigned, sessions)
	}
}
