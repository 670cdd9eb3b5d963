package main

import (
	"fmt"
	"testing"
)

// TestSchoolLeaveList: GET /schools/{id}/leave-requests lists the school's
// leave requests newest first with each child's name and class, narrowed
// by status and by the days they cover, a page at a time; only the
// school's admin reads it.
func TestSchoolLeaveList(t *testing.T) {
	w := newAttWorld(t)
	w.setNow(sh(2030, 11, 4, 20, 0))
	file := func(kid int, from, to string) int64 {
		t.Helper()
		l := w.do("POST", fmt.Sprintf("/api/v1/students/%d/leave-requests", w.kids[kid].ID), w.parentToks[kid],
			map[string]any{"from": from, "to": to, "reason": "病假"}).want(t, 201).JSON()
		return jnum(l, "id")
	}
	a := file(0, "2030-11-05", "2030-11-05")
	b := file(1, "2030-11-07", "2030-11-08")
	c := file(0, "2030-11-12", "2030-11-12")
	w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", c), w.parentToks[0], nil).want(t, 200)
	path := fmt.Sprintf("/api/v1/schools/%d/leave-requests", w.schoolID)
	ids := func(t *testing.T, query string) string {
		t.Helper()
		m := w.do("GET", path+query, w.adminTok, nil).want(t, 200).JSON()
		out := ""
		for _, it := range m["items"].([]any) {
			out += fmt.Sprintf("%d,", int64(it.(map[string]any)["id"].(float64)))
		}
		return out
	}
	list := func(xs ...int64) string {
		out := ""
		for _, x := range xs {
			out += fmt.Sprintf("%d,", x)
		}
		return out
	}
	for _, tc := range []struct{ name, query, want string }{
		{"allNewestFirst", "", list(c, b, a)},
		{"active", "?status=active", list(b, a)},
		{"cancelled", "?status=cancelled", list(c)},
		{"coveringADay", "?from=2030-11-08&to=2030-11-08", list(b)},
		{"coveringAWeek", "?from=2030-11-04&to=2030-11-10&status=active", list(b, a)},
		{"fromOpenEnded", "?from=2030-11-06", list(c, b)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(t, tc.query); got != tc.want {
				t.Fatalf("%s: %s, want %s", tc.query, got, tc.want)
			}
		})
	}
	t.Run("namesTheChild", func(t *testing.T) {
		m := w.do("GET", path+"?limit=1", w.adminTok, nil).want(t, 200).JSON()
		it := m["items"].([]any)[0].(map[string]any)
		if it["student_name"] != w.kids[0].Name || it["student_no"] != w.kids[0].StudentNo || it["class"] == nil || it["reason"] != "病假" {
			t.Fatalf("item %v", it)
		}
		next := m["next_cursor"].(string)
		if next == "" {
			t.Fatal("no next page")
		}
		if got := ids(t, "?limit=5&cursor="+next); got != list(b, a) {
			t.Fatalf("second page %s", got)
		}
	})
	t.Run("badFilters422", func(t *testing.T) {
		w.do("GET", path+"?status=pending", w.adminTok, nil).want(t, 422, "invalid_field")
		w.do("GET", path+"?from=2030-13-01", w.adminTok, nil).want(t, 422, "invalid_field")
		w.do("GET", path+"?from=2030-11-09&to=2030-11-01", w.adminTok, nil).want(t, 422, "invalid_field")
	})
	t.Run("teacher403", func(t *testing.T) { w.do("GET", path, w.teacherTok, nil).want(t, 403) })
	t.Run("parent403", func(t *testing.T) { w.do("GET", path, w.parentTok, nil).want(t, 403) })
	t.Run("anotherSchool404", func(t *testing.T) {
		w.do("GET", path, w.otherAdminTok, nil).want(t, 404)
		// Tenancy before the filters: a bad filter does not tell another
		// school's admin that the school exists.
		w.do("GET", path+"?status=pending", w.otherAdminTok, nil).want(t, 404)
	})
	t.Run("readsLogged", func(t *testing.T) {
		// Leave reasons are health data: the school-wide read is a staff
		// access like a roll read.
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = 'school_leave_requests' AND school_id = ?", w.schoolID).Scan(&n)
		if n == 0 {
			t.Fatal("the school's leave list was read without a staff_access_log row")
		}
	})
}
