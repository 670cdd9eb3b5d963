package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// leaveBody is a leave request over from…to with reason 病假.
func leaveBody(from, to string, offerings ...int64) map[string]any {
	b := map[string]any{"from": from, "to": to, "reason": "病假"}
	if len(offerings) > 0 {
		b["offering_ids"] = offerings
	}
	return b
}

// TestLeaveRefusesWhatCannotApply (issue 22 item 14): leave must cover
// one of the child's sessions. A Sunday, a no-service day, a day after
// the term, a school day the child has no club, or an offering the child
// is not in are refused with a message that says which; a make-up Sunday
// that runs Tuesday's timetable is accepted.
func TestLeaveRefusesWhatCannotApply(t *testing.T) {
	w := newAttWorld(t)
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", w.kids[0].ID)
	w.setNow(sh(2030, 9, 20, 9, 0))
	for _, c := range []struct {
		name, from, to, says string
	}{
		{"422_sunday", "2030-11-10", "2030-11-10", "周末"},
		{"422_weekend", "2030-11-09", "2030-11-10", "周末"},
		{"422_no_service_day", "2030-10-01", "2030-10-01", "不上课日"},
		{"422_after_term", "2031-01-21", "2031-01-23", "不在学期内"},
		{"422_not_the_childs_day", "2030-11-06", "2030-11-06", "篮球社：周二、周四"},
		{"422_mixed", "2030-10-01", "2030-10-02", "无需请假"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.do("POST", path, w.parentTok, leaveBody(c.from, c.to)).want(t, 422, "leave_no_session")
			if msg, _ := r.JSON()["message"].(string); !strings.Contains(msg, c.says) {
				t.Fatalf("message %q does not say %q", msg, c.says)
			}
		})
	}
	t.Run("422_offering_the_child_is_not_in", func(t *testing.T) {
		other := w.publishedOffering(t, func(m map[string]any) { m["name"] = "围棋社"; m["weekdays"] = []int{3} })
		r := w.do("POST", path, w.parentTok, leaveBody("2030-11-05", "2030-11-06", w.club, other)).want(t, 422, "invalid_field")
		fields, _ := r.JSON()["fields"].(map[string]any)
		if msg, _ := fields["offering_ids"].(string); !strings.Contains(msg, "围棋社") {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("201_make_up_sunday", func(t *testing.T) {
		w.do("POST", path, w.parentTok, leaveBody("2030-09-29", "2030-09-29")).want(t, 201)
	})
	t.Run("201_range_with_one_session", func(t *testing.T) {
		w.do("POST", path, w.parentTok, leaveBody("2030-11-08", "2030-11-12", w.club2)).want(t, 201)
	})
}

// TestLeaveCancelNeedsLink (issue 20 item 6): a guardian whose link the
// school removed cannot cancel the leave they filed.
func TestLeaveCancelNeedsLink(t *testing.T) {
	w := newAttWorld(t)
	kid := w.kids[0].ID
	w.setNow(sh(2030, 11, 4, 20, 0))
	l := w.do("POST", fmt.Sprintf("/api/v1/students/%d/leave-requests", kid), w.parentTok, leaveBody("2030-11-05", "2030-11-05")).want(t, 201).JSON()
	w.do("DELETE", fmt.Sprintf("/api/v1/students/%d/guardian-links/%d", kid, w.parent.ID), w.adminTok, nil).want(t, 204)
	w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", jnum(l, "id")), w.parentTok, nil).want(t, 404)
	var status string
	w.db.R.Raw("SELECT status FROM leave_requests WHERE id = ?", jnum(l, "id")).Scan(&status)
	if status != models.LeaveActive {
		t.Fatalf("status %q after a refused cancel", status)
	}
}

// TestLeaveIsHealthData (issue 20 item 7): leave reasons refuse the
// characters names refuse (line breaks stay); a teacher reads the leave of children on their
// own rolls only; staff reads of leave and of a roll's and its dismissals'
// changes are logged.
func TestLeaveIsHealthData(t *testing.T) {
	w := newAttWorld(t)
	kid := w.kids[0].ID
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", kid)
	w.setNow(sh(2030, 11, 4, 20, 0))
	for _, bad := range []string{"发烧\u202e院医", "发\u200b烧", "发烧\x07"} {
		r := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": bad}).want(t, 422, "invalid_field")
		if _, ok := r.JSON()["fields"].(map[string]any)["reason"]; !ok {
			t.Fatalf("%q: %s", bad, r.Body)
		}
	}
	w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": "发烧\r\n去医院"}).want(t, 201)
	t.Run("403_teacher_of_other_rolls", func(t *testing.T) {
		stranger := w.token(modelstest.Staff(t, w.db, models.RoleTeacher, w.schoolID, 0))
		w.do("GET", path, stranger, nil).want(t, 403, "not_your_student")
	})
	t.Run("200_teacher_of_the_childs_roll", func(t *testing.T) {
		w.do("GET", path, w.teacherTok, nil).want(t, 200)
	})
	t.Run("logged", func(t *testing.T) {
		w.do("GET", path, w.adminTok, nil).want(t, 200)
		w.do("GET", path, w.parentTok, nil).want(t, 200)
		s := w.session(t, w.club, "2030-11-05")
		w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/attendance/changes", s), w.teacherTok, nil).want(t, 200)
		w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/dismissal/changes", s), w.teacherTok, nil).want(t, 200)
		for _, c := range []struct {
			action string
			user   int64
			n      int64
		}{
			{"leave_requests", w.admin.ID, 1}, {"leave_requests", w.teacher.ID, 1}, {"leave_requests", w.parent.ID, 0},
			{"attendance_changes", w.teacher.ID, 1}, {"dismissal_changes", w.teacher.ID, 1},
		} {
			var n int64
			w.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = ? AND user_id = ? AND school_id = ?",
				c.action, c.user, w.schoolID).Scan(&n)
			if n != c.n {
				t.Errorf("%s by %d: %d log rows, want %d", c.action, c.user, n, c.n)
			}
		}
	})
}

// TestLeaveBounded (issue 20 item 8): overlapping or touching requests of
// one guardian for the same offerings become one; a child holds at most
// models.MaxActiveLeaves requests that have not ended (409
// leave_limit_reached), and withdrawing one makes room.
func TestLeaveBounded(t *testing.T) {
	w := newAttWorld(t)
	kid := w.kids[0].ID
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", kid)
	w.setNow(sh(2030, 11, 4, 20, 0))
	active := func() int64 {
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM leave_requests WHERE student_id = ? AND status = ?", kid, models.LeaveActive).Scan(&n)
		return n
	}
	t.Run("merged", func(t *testing.T) {
		a := w.do("POST", path, w.parentTok, leaveBody("2030-11-05", "2030-11-05")).want(t, 201).JSON()
		b := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-07", "reason": "复诊"}).want(t, 201).JSON()
		c := w.do("POST", path, w.parentTok, leaveBody("2030-11-08", "2030-11-12")).want(t, 201).JSON()
		if jnum(b, "id") != jnum(a, "id") || jnum(c, "id") != jnum(a, "id") || c["from"] != "2030-11-05" || c["to"] != "2030-11-12" {
			t.Fatalf("not merged: %v / %v / %v", a, b, c)
		}
		if c["reason"] != "病假；复诊" { // both reasons kept, the repeated one once
			t.Fatalf("merged reason %q", c["reason"])
		}
		// Other offerings make a request of their own.
		d := w.do("POST", path, w.parentTok, leaveBody("2030-11-05", "2030-11-05", w.club)).want(t, 201).JSON()
		if jnum(d, "id") == jnum(a, "id") || active() != 2 {
			t.Fatalf("other offerings merged: %v, %d active", d, active())
		}
		for _, id := range []int64{jnum(a, "id"), jnum(d, "id")} {
			w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", id), w.parentTok, nil).want(t, 200)
		}
	})
	t.Run("409_over_the_cap", func(t *testing.T) {
		day := time.Date(2030, 11, 5, 0, 0, 0, 0, time.UTC) // a Tuesday; Tuesdays and Thursdays never touch
		var dates []string
		for len(dates) < models.MaxActiveLeaves+1 {
			dates = append(dates, day.Format(time.DateOnly))
			if day.Weekday() == time.Tuesday {
				day = day.AddDate(0, 0, 2)
			} else {
				day = day.AddDate(0, 0, 5)
			}
		}
		var first int64
		for i, d := range dates[:models.MaxActiveLeaves] {
			l := w.do("POST", path, w.parentTok, leaveBody(d, d)).want(t, 201).JSON()
			if i == 0 {
				first = jnum(l, "id")
			}
		}
		last := dates[models.MaxActiveLeaves]
		r := w.do("POST", path, w.parentTok, leaveBody(last, last)).want(t, 409, "leave_limit_reached")
		if msg, _ := r.JSON()["message"].(string); !strings.Contains(msg, "上限") {
			t.Fatalf("%s", r.Body)
		}
		w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", first), w.parentTok, nil).want(t, 200)
		w.do("POST", path, w.parentTok, leaveBody(last, last)).want(t, 201)
		if n := active(); n != models.MaxActiveLeaves {
			t.Fatalf("%d active", n)
		}
	})
}

// TestLeaveCapAcrossInstances: two instances on one database receive 30
// leave requests for one child at once, on days that never touch: exactly
// models.MaxActiveLeaves are written, the rest answer 409.
func TestLeaveCapAcrossInstances(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	w := newAttWorldOn(t, newEnrollWorldOn(t, a))
	wb := &attWorld{enrollWorld: &enrollWorld{testServer: b}, kids: w.kids}
	w.setNow(sh(2030, 9, 2, 8, 0))
	wb.setNow(sh(2030, 9, 2, 8, 0))
	kid := w.kids[0].ID
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", kid)
	var dates []string // the term's Tuesdays and Thursdays but the two no-service days
	for day := time.Date(2030, 9, 3, 0, 0, 0, 0, time.UTC); len(dates) < 30; day = day.AddDate(0, 0, 7) {
		for _, d := range []time.Time{day, day.AddDate(0, 0, 2)} {
			if s := d.Format(time.DateOnly); s != "2030-10-01" && s != "2030-10-03" {
				dates = append(dates, s)
			}
		}
	}
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for i, d := range dates[:30] {
		srv := w
		if i%2 == 1 {
			srv = wb
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := srv.do("POST", path, w.parentTok, leaveBody(d, d))
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
			if r.Status != 201 && r.Code() != "leave_limit_reached" {
				t.Errorf("%s: %d %s", d, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	var n int64
	w.db.R.Raw("SELECT COUNT(*) FROM leave_requests WHERE student_id = ? AND status = ?", kid, models.LeaveActive).Scan(&n)
	if got[201] != models.MaxActiveLeaves || got[409] != 30-models.MaxActiveLeaves || n != int64(models.MaxActiveLeaves) {
		t.Fatalf("answers %v, %d active; want %d written", got, n, models.MaxActiveLeaves)
	}
}

// TestLeaveStartedIsNotMerged: a request whose first session has started
// can no longer be withdrawn, so an overlapping one filed later stays a
// request of its own instead of widening it.
func TestLeaveStartedIsNotMerged(t *testing.T) {
	w := newAttWorld(t)
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", w.kids[0].ID)
	w.setNow(sh(2030, 11, 4, 20, 0))
	a := w.do("POST", path, w.parentTok, leaveBody("2030-11-05", "2030-11-05")).want(t, 201).JSON()
	w.setNow(sh(2030, 11, 5, 16, 40))
	b := w.do("POST", path, w.parentTok, leaveBody("2030-11-05", "2030-11-07")).want(t, 201).JSON()
	if jnum(b, "id") == jnum(a, "id") || b["from"] != "2030-11-05" || b["to"] != "2030-11-07" {
		t.Fatalf("merged into a started request: %v / %v", a, b)
	}
	var to string
	w.db.R.Raw("SELECT to_date FROM leave_requests WHERE id = ?", jnum(a, "id")).Scan(&to)
	if to != "2030-11-05" {
		t.Fatalf("the started request was widened to %s", to)
	}
}

// TestLeaveStartedIsNotMergedInto: a request filed once its own first
// session has started (today's leave, after the start) stays a request of
// its own, so tomorrow's, filed earlier, can still be withdrawn and keeps
// its reason.
func TestLeaveStartedIsNotMergedInto(t *testing.T) {
	w := newAttWorld(t)
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", w.kids[0].ID)
	w.setNow(sh(2030, 11, 4, 20, 0))
	a := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-07", "to": "2030-11-07", "reason": "看牙医"}).want(t, 201).JSON()
	w.setNow(sh(2030, 11, 5, 16, 40))
	b := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-06", "reason": "今天"}).want(t, 201).JSON()
	if jnum(b, "id") == jnum(a, "id") || b["from"] != "2030-11-05" || b["to"] != "2030-11-06" || b["reason"] != "今天" {
		t.Fatalf("a started request merged: %v / %v", a, b)
	}
	var kept struct {
		FromDate, ToDate, Reason string
	}
	w.db.R.Raw("SELECT from_date, to_date, reason FROM leave_requests WHERE id = ?", jnum(a, "id")).Scan(&kept)
	if kept.FromDate != "2030-11-07" || kept.ToDate != "2030-11-07" || kept.Reason != "看牙医" {
		t.Fatalf("the earlier request became %+v", kept)
	}
	w.do("DELETE", fmt.Sprintf("/api/v1/leave-requests/%d", jnum(a, "id")), w.parentTok, nil).want(t, 200)
}

// TestLeaveMergeKeepsEveryReason: a request that bridges two of the same
// guardian widens the older, which keeps all three reasons, and cancels
// the other.
func TestLeaveMergeKeepsEveryReason(t *testing.T) {
	w := newAttWorld(t)
	path := fmt.Sprintf("/api/v1/students/%d/leave-requests", w.kids[0].ID)
	w.setNow(sh(2030, 11, 4, 20, 0))
	a := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": "发烧"}).want(t, 201).JSON()
	c := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-07", "to": "2030-11-07", "reason": "复诊"}).want(t, 201).JSON()
	if jnum(c, "id") == jnum(a, "id") {
		t.Fatalf("days that do not touch merged: %v / %v", a, c)
	}
	l := w.do("POST", path, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-07", "reason": "看牙"}).want(t, 201).JSON()
	if jnum(l, "id") != jnum(a, "id") || l["from"] != "2030-11-05" || l["to"] != "2030-11-07" || l["reason"] != "发烧；复诊；看牙" {
		t.Fatalf("bridged = %v", l)
	}
	var status string
	w.db.R.Raw("SELECT status FROM leave_requests WHERE id = ?", jnum(c, "id")).Scan(&status)
	if status != string(models.LeaveCancelled) {
		t.Fatalf("the request folded in is %q", status)
	}
}
