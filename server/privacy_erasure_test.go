package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
)

// TestErasureLeavesNothingOfTheChild: a child with a leave request naming
// an illness, an absence alert not yet sent, a correction whose reason
// describes the child, a stored enrollment answer and a deletion request
// with a reason — after the school confirms the deletion, no row of any
// table in models.ErasureRules holds the child's name, number or phone,
// the leave or correction reasons, or the parent's id; the school reads no
// reason and the teacher's roll shows no leave.
func TestErasureLeavesNothingOfTheChild(t *testing.T) {
	w := newAttWorld(t)
	kid := w.kids[0]
	const illness, fever, correction, why = "孩子确诊哮喘住院，市一院", "发烧，去医院", "家长来电说孩子哮喘复发", "孩子转学，哮喘治疗"
	const dismissalNote = "孩子哮喘发作，由奶奶接走"
	leaves := fmt.Sprintf("/api/v1/students/%d/leave-requests", kid.ID)
	w.setNow(sh(2030, 11, 4, 20, 0))
	w.do("POST", leaves, w.parentTok, map[string]any{"from": "2030-11-05", "to": "2030-11-05", "reason": illness}).want(t, 201)
	w.do("POST", leaves, w.parentTok, map[string]any{"from": "2030-11-12", "to": "2030-11-12", "reason": fever}).want(t, 201)
	// Tuesday: on leave, marked so (the child stays on that roll).
	tue := w.session(t, w.club, "2030-11-05")
	w.setNow(sh(2030, 11, 5, 16, 40))
	w.mark(tue, w.teacherTok, map[int64]string{kid.ID: "leave"}, "").want(t, 200)
	// Tuesday's second club: present, then taken home by a guardian.
	tue2 := w.session(t, w.club2, "2030-11-05")
	w.setNow(sh(2030, 11, 5, 18, 20))
	w.mark(tue2, w.teacher2Tok, map[int64]string{kid.ID: "present"}, "").want(t, 200)
	w.setNow(sh(2030, 11, 5, 19, 5))
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/dismissal", tue2), w.teacher2Tok,
		map[string]any{"records": []any{map[string]any{"student_id": kid.ID, "by": "guardian"}}}).want(t, 200)
	// Thursday: marked absent without leave → an alert naming the child.
	thu := w.session(t, w.club, "2030-11-07")
	w.setNow(sh(2030, 11, 7, 16, 40))
	w.mark(thu, w.teacherTok, map[int64]string{kid.ID: "absent"}, "").want(t, 200)
	if len(w.outbox(t, models.NotifyAbsence)) == 0 {
		t.Fatal("no alert queued")
	}
	// Friday: the school corrects Thursday with a reason about the child.
	w.setNow(sh(2030, 11, 8, 10, 0))
	w.mark(thu, w.adminTok, map[int64]string{kid.ID: "leave"}, correction).want(t, 200)
	// … and corrects Tuesday's dismissal with a reason about the child.
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/dismissal", tue2), w.adminTok, map[string]any{
		"records": []any{map[string]any{"student_id": kid.ID, "by": "other", "at": "2030-11-05T19:05:00+08:00"}},
		"reason":  dismissalNote}).want(t, 200)
	// A stored enrollment answer of the parent that names the child.
	if err := w.db.W.Exec(`INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at, expires_at)
		VALUES (?, 'k1', 'h', 201, ?, ?, ?)`, w.parent.ID, fmt.Sprintf(`{"id":1,"student_id":%d,"offering_id":%d}`, kid.ID, w.club),
		time.Now(), time.Now().Add(time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	req := w.do("POST", fmt.Sprintf("/api/v1/me/children/%d/deletion-request", kid.ID), w.parentTok,
		map[string]string{"reason": why}).want(t, 201).JSON()
	w.do("POST", fmt.Sprintf("/api/v1/deletion-requests/%d/confirm", jnum(req, "id")), w.adminTok, nil).want(t, 200)

	t.Run("noRowHoldsTheChildOrTheParent", func(t *testing.T) {
		secrets := []string{kid.Name, kid.StudentNo, "13812345678", illness, fever, correction, why, dismissalNote}
		people := map[string]bool{"user_id": true, "filed_by": true, "requested_by": true, "applied_by": true,
			"withdrawn_by": true, "used_by": true, "created_by": true}
		for _, r := range models.ErasureRules {
			key := "student_id"
			if r.Table == "students" {
				key = "id"
			}
			var rows []map[string]any
			if r.Table == "idempotency_keys" {
				if err := w.db.R.Raw("SELECT * FROM idempotency_keys WHERE user_id = ?", w.parent.ID).Scan(&rows).Error; err != nil {
					t.Fatal(err)
				}
			} else if err := w.db.R.Raw(fmt.Sprintf("SELECT * FROM %s WHERE %s = ?", r.Table, key), kid.ID).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				for col, v := range row {
					s := fmt.Sprint(v)
					if b, ok := v.([]byte); ok {
						s = string(b)
					}
					for _, secret := range secrets {
						if strings.Contains(s, secret) {
							t.Errorf("%s.%s still holds %q: %v", r.Table, col, secret, row)
						}
					}
					if people[col] && s == fmt.Sprint(w.parent.ID) {
						t.Errorf("%s.%s still points at the parent: %v", r.Table, col, row)
					}
					if r.Table == "idempotency_keys" && col == "body" && strings.Contains(s, fmt.Sprintf(`"student_id":%d`, kid.ID)) {
						t.Errorf("a stored answer still names the child: %v", row)
					}
				}
			}
		}
	})
	t.Run("activeLeaveCancelled", func(t *testing.T) {
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM leave_requests WHERE student_id = ? AND status = ?", kid.ID, models.LeaveActive).Scan(&n)
		if n != 0 {
			t.Fatalf("%d leave requests still active", n)
		}
	})
	t.Run("schoolReadsNoReason", func(t *testing.T) {
		r := w.do("GET", leaves, w.adminTok, nil)
		if r.Status == 200 {
			for _, it := range r.JSON()["items"].([]any) {
				if m := it.(map[string]any); m["reason"] != "" || m["status"] != models.LeaveCancelled {
					t.Fatalf("leave after erasure: %v", m)
				}
			}
		} else {
			r.want(t, 404)
		}
	})
	t.Run("rollShowsNoLeave", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/sessions/%d/roll", tue), w.adminTok, nil).want(t, 200)
		seen := false
		for _, it := range r.JSON()["items"].([]any) {
			if m := it.(map[string]any); jnum(m, "student_id") == kid.ID {
				seen = true
				if m["leave"] != nil || m["name"] != models.ErasedName {
					t.Fatalf("roll entry of the erased child: %v", m)
				}
			}
		}
		if !seen {
			t.Fatal("the erased child's mark left the past roll")
		}
	})
}
