package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"kehou/models"
	"kehou/wechat"
)

// typedNames are the payload keys that carry what people typed (a child's
// or a club's name): the only values that may be too long for a field,
// which the WeChat client then ends with "…". Everything else kehou writes
// must fit as written.
var typedNames = map[string]bool{"student": true, "offering": true}

// checkFits maps payload through the default template fields and fails when
// a value kehou wrote would be cut, or a typed name would be cut without
// its mark.
func checkFits(t *testing.T, kind string, payload map[string]string) {
	t.Helper()
	tpl := wechat.Template{Fields: models.DefaultTemplateFields}
	byKey := map[string]string{}
	for k, v := range models.DefaultTemplateFields {
		byKey[v] = k
	}
	for key, v := range tpl.Data(payload) {
		got := wechat.Truncate(key, v)
		switch {
		case got == v:
		case typedNames[byKey[key]] && strings.HasSuffix(got, "…"):
		default:
			t.Errorf("%s: %s (%s) %q would reach WeChat as %q", kind, byKey[key], key, v, got)
		}
	}
}

// TestNotificationsFitWeChatFields drives every event that messages a
// family, with the longest names the roster and the offering form accept
// and the longest reasons, and checks each queued message against WeChat's
// field limits (thing 20, phrase 5): kehou's own words are never cut.
func TestNotificationsFitWeChatFields(t *testing.T) {
	w := newAttWorld(t)
	longName := strings.Repeat("欧", 50)    // roster: name ≤ 50
	longClub := strings.Repeat("篮", 100)   // offering form: name ≤ 100
	longReason := strings.Repeat("雨", 200) // models.MaxReasonLen
	w.db.W.Exec("UPDATE students SET name = ? WHERE id = ?", longName, w.kids[0].ID)
	w.db.W.Exec("UPDATE offerings SET name = ? WHERE id = ?", longClub, w.club)
	// The session alerts: absent, then arrived; a dismissal; a cancelled
	// session with the longest reason.
	s1 := w.session(t, w.club, "2030-11-05")
	w.setNow(sh(2030, 11, 5, 16, 35))
	w.mark(s1, w.teacherTok, map[int64]string{w.kids[0].ID: "absent"}, "").want(t, 200)
	w.mark(s1, w.teacherTok, map[int64]string{w.kids[0].ID: "late"}, "").want(t, 200)
	w.setNow(sh(2030, 11, 5, 18, 5))
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/dismissal", s1), w.teacherTok, map[string]any{"records": []any{
		map[string]any{"student_id": w.kids[0].ID, "by": "other"}}}).want(t, 200)
	s2 := w.session(t, w.club, "2030-11-12")
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%d/cancel", s2), w.adminTok, map[string]any{"reason": longReason}).want(t, 200)
	// Enrollment outcomes: enrolled, waitlisted (a four-digit place is
	// beyond any club), promoted, withdrawn by the school; then the club
	// cancelled with the longest reason.
	full := w.publishedOffering(t, func(m map[string]any) {
		m["name"], m["capacity"], m["weekdays"], m["term_id"] = strings.Repeat("美", 100), 1, []int{5}, w.term
		m["enroll_opens_at"], m["enroll_closes_at"] = "2030-08-01T08:00:00+08:00", "2030-12-31T20:00:00+08:00"
	})
	first := w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": w.kids[0].ID, "offering_id": full}).want(t, 201).JSON()
	w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": w.kids[1].ID, "offering_id": full}).want(t, 201)
	w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(first, "id")), w.adminTok, nil).want(t, 200)
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/cancel", w.club2), w.adminTok, map[string]any{"reason": strings.Repeat("停", 100)}).want(t, 200)
	// A refund by hand of a seat paid at the bank, with the longest reason.
	priced := w.publishedOffering(t, func(m map[string]any) {
		m["name"], m["capacity"], m["weekdays"], m["term_id"] = strings.Repeat("钱", 100), 5, []int{3}, w.term
		m["fee_fen"], m["billing"] = 99_999, "session"
		m["enroll_opens_at"], m["enroll_closes_at"] = "2030-08-01T08:00:00+08:00", "2030-12-31T20:00:00+08:00"
	})
	held := w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": w.kids[0].ID, "offering_id": priced}).want(t, 201).JSON()
	orderPath := fmt.Sprintf("/api/v1/orders/%d", jnum(held, "order_id"))
	w.do("POST", orderPath+"/payments", w.adminTok, map[string]any{"method": "bank", "ref": "B-1", "paid_at": w.now.Format(time.RFC3339)}).want(t, 200)
	w.do("POST", orderPath+"/refunds", w.adminTok, map[string]any{"amount_fen": 99_999, "reason": longReason}).want(t, 200)

	var rows []outboxRow
	if err := w.db.R.Raw("SELECT kind, user_id, dedupe_key, payload FROM outbox ORDER BY id").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		var p map[string]string
		if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
			t.Fatal(err)
		}
		seen[r.Kind] = true
		checkFits(t, r.Kind, p)
		if r.Kind == models.NotifySessionCancelled || r.Kind == models.NotifyOfferingCancelled || r.Kind == models.NotifyRefund {
			if !strings.Contains(p["detail"], "雨雨雨") && !strings.Contains(p["detail"], "停停停") {
				t.Errorf("%s: the full reason is not kept for the inbox: %v", r.Kind, p)
			}
		}
	}
	for _, k := range []string{models.NotifyAbsence, models.NotifyDismissal, models.NotifySessionCancelled, models.NotifyEnrollmentConfirmed,
		models.NotifyWaitlisted, models.NotifyWaitlistPromoted, models.NotifyWithdrawn, models.NotifyOfferingCancelled, models.NotifyRefund} {
		if !seen[k] {
			t.Errorf("no %s message was queued", k)
		}
	}
	if n := utf8.RuneCountInString(longReason); n != models.MaxReasonLen {
		t.Fatalf("reason of %d characters, the limit is %d", n, models.MaxReasonLen)
	}
}
