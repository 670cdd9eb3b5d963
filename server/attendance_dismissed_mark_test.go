package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
)

// TestMarkAfterDismissal: a child recorded as gone home came — marking
// them absent (or on leave) is refused with the child named, the whole PUT
// with them (the other child's mark is not written), and no "未到" follows
// the family's "已离校". Present and late still fit; after the day a school
// admin is held to the same rule.
func TestMarkAfterDismissal(t *testing.T) {
	w, id := dismissWorld(t) // 18:30; kids[0] present, kids[1] absent, kids[2] late
	k0, k1, k2 := w.kids[0].ID, w.kids[1].ID, w.kids[2].ID
	w.dismiss(id, w.teacherTok, k0, "guardian", "2030-11-05T18:10:00+08:00", "").want(t, 200)
	before := len(w.changes(t, id))
	t.Run("422_already_dismissed_absent", func(t *testing.T) {
		r := w.mark(id, w.teacherTok, map[int64]string{k0: "absent"}, "").want(t, 422, "already_dismissed")
		body := r.JSON()
		msg, _ := body["message"].(string)
		if !strings.Contains(msg, w.kids[0].Name) || !strings.Contains(msg, "18:10 家长接走") || !strings.Contains(msg, "缺勤") {
			t.Fatalf("message %q does not name the child, the dismissal and the mark", msg)
		}
		if jnum(body, "student_id") != k0 {
			t.Fatalf("student_id in %s", r.Body)
		}
	})
	t.Run("422_already_dismissed_leave", func(t *testing.T) {
		w.mark(id, w.teacherTok, map[int64]string{k0: "leave"}, "").want(t, 422, "already_dismissed")
	})
	t.Run("422_whole_put_refused", func(t *testing.T) {
		w.mark(id, w.teacherTok, map[int64]string{k0: "absent", k1: "present"}, "").want(t, 422, "already_dismissed")
		roll := rollStatus(t, w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", id), w.teacherTok, nil).want(t, 200))
		if roll[k0] != "present" || roll[k1] != "absent" {
			t.Fatalf("roll after a refused PUT: %v", roll)
		}
		if n := len(w.changes(t, id)); n != before {
			t.Fatalf("%d audit rows after refusals, want %d", n, before)
		}
		for _, m := range w.outbox(t, models.NotifyAbsence) {
			if m.UserID == w.parents[0].ID {
				t.Fatalf("absence alert to a dismissed child's family: %+v", m)
			}
		}
	})
	t.Run("200_late_and_present_fit", func(t *testing.T) {
		w.mark(id, w.teacherTok, map[int64]string{k0: "late"}, "").want(t, 200)
		w.mark(id, w.teacherTok, map[int64]string{k0: "present", k2: "late"}, "").want(t, 200)
	})
	t.Run("422_after_the_day_admin", func(t *testing.T) {
		w.setNow(sh(2030, 11, 8, 9, 0))
		w.mark(id, w.adminTok, map[int64]string{k0: "absent"}, "家长说没来").want(t, 422, "already_dismissed")
	})
}

// TestDismissalMessageDated: a "已离校" message names the day it happened
// (read days later in the inbox, "18:02 家长接走" alone says nothing), and
// it is made when the dismissal is recorded, on the operation's clock —
// the seed's simulated afternoons included — not when a process ran.
func TestDismissalMessageDated(t *testing.T) {
	w, id := dismissWorld(t) // 2030-11-05 (a Tuesday) 18:30
	w.dismiss(id, w.teacherTok, w.kids[0].ID, "guardian", "2030-11-05T18:02:00+08:00", "").want(t, 200)
	var rows []struct {
		Payload   string
		CreatedAt time.Time
	}
	if err := w.db.R.Raw("SELECT payload, created_at FROM outbox WHERE kind = ?", models.NotifyDismissal).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.Contains(rows[0].Payload, "11-05周二18:02 家长接走") {
		t.Fatalf("messages %+v", rows)
	}
	if !rows[0].CreatedAt.Equal(sh(2030, 11, 5, 18, 30)) {
		t.Fatalf("made at %s, want the dismissal's recording 2030-11-05 18:30 +08:00", rows[0].CreatedAt)
	}
	// The absence alert of the morning's roll, too, is made at its clock.
	var made time.Time
	if err := w.db.R.Raw("SELECT created_at FROM outbox WHERE kind = ? LIMIT 1", models.NotifyAbsence).Row().Scan(&made); err != nil {
		t.Fatal(err)
	}
	if !made.Equal(sh(2030, 11, 5, 16, 40)) {
		t.Fatalf("absence alert made at %s, want 2030-11-05 16:40 +08:00", made)
	}
}
