package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestMessagesNameChildAndClub: a parent with two children gets, for every
// event of either child, a message naming that child and the club:
// enrolled, joined a waitlist (with its position), promoted, withdrawn by
// the school, won or lost a draw, offering cancelled (with the reason).
func TestMessagesNameChildAndClub(t *testing.T) {
	w := newEnrollWorld(t)
	sibling := modelstest.Student(t, w.db, w.schoolID, 4, "")
	if err := w.db.Tx(context.Background(), func(tx *gorm.DB) error { return models.LinkParent(tx, w.parent.ID, sibling.ID, "phone") }); err != nil {
		t.Fatal(err)
	}
	children := map[int64]string{w.student.ID: w.student.Name, sibling.ID: sibling.Name}
	enroll := func(tok string, st, o int64, wantStatus string) map[string]any {
		t.Helper()
		e := w.do("POST", "/api/v1/enrollments", tok, map[string]any{"student_id": st, "offering_id": o}).want(t, 201).JSON()
		if e["status"] != wantStatus {
			t.Fatalf("enrollment %v, want %s", e, wantStatus)
		}
		return e
	}
	// A club of one seat: the first child enrolls, the sibling waits, the
	// first withdraws (the sibling is promoted), the school withdraws the
	// sibling.
	small := w.publishedOffering(t, func(b map[string]any) { b["name"], b["capacity"], b["weekdays"] = "篮球社", 1, []int{2} })
	first := enroll(w.parentTok, w.student.ID, small, "enrolled")
	second := enroll(w.parentTok, sibling.ID, small, "waitlisted")
	w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(first, "id")), w.parentTok, nil).want(t, 200)
	w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(second, "id")), w.adminTok, nil).want(t, 200)
	// A lottery club of one seat for both children.
	lot := w.publishedOffering(t, func(b map[string]any) {
		b["name"], b["capacity"], b["mode"], b["weekdays"] = "机器人社", 1, "lottery", []int{3}
	})
	enroll(w.parentTok, w.student.ID, lot, "applied")
	enroll(w.parentTok, sibling.ID, lot, "applied")
	if err := w.db.W.Exec("UPDATE offerings SET enroll_closes_at = ? WHERE id = ?", time.Now().Add(-time.Second).UTC(), lot).Error; err != nil {
		t.Fatal(err)
	}
	w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", w.schoolID, w.termID), w.adminTok, nil).want(t, 200)
	// A club cancelled with a reason.
	gone := w.publishedOffering(t, func(b map[string]any) { b["name"], b["weekdays"] = "合唱团", []int{5} })
	enroll(w.parentTok, sibling.ID, gone, "enrolled")
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/cancel", gone), w.adminTok, map[string]any{"reason": "指导教师调离"}).want(t, 200)

	var rows []struct {
		Kind      string
		StudentID int64
		Payload   string
	}
	w.db.R.Raw("SELECT kind, student_id, payload FROM outbox WHERE user_id = ? ORDER BY id", w.parent.ID).Scan(&rows)
	type event struct{ kind, student, offering, status string }
	var got []event
	for _, r := range rows {
		var p map[string]string
		if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
			t.Fatal(err)
		}
		if p["student"] != children[r.StudentID] || p["student"] == "" {
			t.Errorf("%s for student %d names child %q: %s", r.Kind, r.StudentID, p["student"], r.Payload)
		}
		if p["offering"] == "" {
			t.Errorf("%s names no club: %s", r.Kind, r.Payload)
		}
		switch r.Kind {
		case models.NotifyWaitlisted:
			if p["position"] != "1" || !strings.Contains(p["note"], "1") {
				t.Errorf("waitlist message without its position: %s", r.Payload)
			}
		case models.NotifyOfferingCancelled:
			if !strings.Contains(p["note"], "指导教师调离") {
				t.Errorf("cancellation without its reason: %s", r.Payload)
			}
		}
		got = append(got, event{r.Kind, p["student"], p["offering"], p["status"]})
	}
	want := []event{
		{models.NotifyEnrollmentConfirmed, w.student.Name, "篮球社", "报名成功"},
		{models.NotifyWaitlisted, sibling.Name, "篮球社", "候补中"},
		{models.NotifyWaitlistPromoted, sibling.Name, "篮球社", "候补转正"},
		{models.NotifyWithdrawn, sibling.Name, "篮球社", "已退出"},
	}
	for _, wt := range want {
		found := false
		for _, g := range got {
			found = found || g == wt
		}
		if !found {
			t.Errorf("no message %+v among %+v", wt, got)
		}
	}
	lottery, cancelled := 0, 0
	for _, g := range got {
		switch {
		case g.kind == models.NotifyLotteryResult && g.offering == "机器人社" && (g.status == "中签" || g.status == "未中签"):
			lottery++
		case g.kind == models.NotifyOfferingCancelled && g.offering == "合唱团" && g.student == sibling.Name:
			cancelled++
		}
	}
	if lottery != 2 || cancelled != 1 {
		t.Errorf("lottery messages %d (want 2), cancellation messages %d (want 1): %+v", lottery, cancelled, got)
	}
}
