package models_test

import (
	"encoding/json"
	"testing"
	"unicode"
	"unicode/utf8"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestNotificationStatusFitsPhrase checks what families read: every
// notification an enrollment event queues carries a "status" in Chinese of
// at most 5 characters (WeChat's phrase limit), never a raw English status.
func TestNotificationStatusFitsPhrase(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 1 })
	ss := w.students(2)
	modelstest.Parent(t, w.db, ss[0].ID, ss[1].ID)
	a := w.admin.Actor()
	first, err := w.enroll(a, ss[0].ID, o.ID) // enrolled
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.enroll(a, ss[1].ID, o.ID); err != nil { // waitlisted
		t.Fatal(err)
	}
	if _, err := models.Withdraw(w.ctx, w.db, a, first.ID); err != nil { // promotes the second
		t.Fatal(err)
	}
	if _, err := models.CancelOffering(w.ctx, w.db, a, o.ID, ""); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Kind    string
		Payload string
	}
	w.db.R.Raw("SELECT kind, payload FROM outbox ORDER BY id").Scan(&rows)
	kinds := map[string]string{}
	for _, r := range rows {
		var p map[string]string
		if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
			t.Fatal(err)
		}
		st := p["status"]
		if st == "" || utf8.RuneCountInString(st) > 5 {
			t.Fatalf("%s: status %q is empty or longer than 5 characters", r.Kind, st)
		}
		for _, c := range st {
			if !unicode.Is(unicode.Han, c) {
				t.Fatalf("%s: status %q is not Chinese", r.Kind, st)
			}
		}
		kinds[r.Kind] = st
	}
	want := map[string]string{models.NotifyEnrollmentConfirmed: "报名成功", models.NotifyWaitlistPromoted: "候补转正",
		models.NotifyOfferingCancelled: "已取消"}
	for k, v := range want {
		if kinds[k] != v {
			t.Fatalf("%s: status %q, want %q (all: %v)", k, kinds[k], v, kinds)
		}
	}
}
