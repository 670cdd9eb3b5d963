package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestSeedDemoFatherInbox: the demo father (openid "demo-13812345678", the
// one README names) finds his family's past in his inbox, each message
// dated when it would have been sent — a "报名成功" on its enrollment's
// day, a "已离校" on its afternoon with the day in its text — newest first.
// Built on a Monday (the last school day before it is three calendar days
// back) at moments of the afternoon that once lost Friday's "已离校": as
// today's sessions begin, after one school's base service ended (17:30,
// recorded 17:50) and not school 1's, and the evening.
func TestSeedDemoFatherInbox(t *testing.T) {
	for name, at := range map[string]string{"sessionsBeginning": "2026-12-07T16:25",
		"oneSchoolRecordedToday": "2026-12-07T17:51", "evening": "2026-12-07T20:00"} {
		t.Run(name, func(t *testing.T) { checkFatherInbox(t, at) })
	}
}

func checkFatherInbox(t *testing.T, at string) {
	url := modelstest.URL(t)
	if err := run(context.Background(), []string{"seed", "demo", "--small", "--today", at}, envFor("DATABASE_URL", url), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	db := modelstest.Open(t, url)
	var father int64
	db.R.Raw("SELECT id FROM users WHERE openid = ?", "demo-13812345678").Scan(&father)
	if father == 0 {
		t.Fatal("no parent account with openid demo-13812345678")
	}
	inbox, err := models.FindInbox(context.Background(), db, father, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	var enrolled, dismissed int
	dated := regexp.MustCompile(`\d\d-\d\d周.\d\d:\d\d `)
	for i, m := range inbox {
		if i > 0 && m.CreatedAt.After(inbox[i-1].CreatedAt) {
			t.Fatalf("inbox not newest first at %d: %s after %s", i, m.CreatedAt, inbox[i-1].CreatedAt)
		}
		switch m.Kind {
		case models.NotifyEnrollmentConfirmed:
			var made time.Time
			if err := db.R.Raw(`SELECT e.created_at FROM enrollments e JOIN outbox o ON o.id = ?
				WHERE o.dedupe_key = 'enrolled:enrollment:' || CAST(e.id AS TEXT) || ':user:' || CAST(o.user_id AS TEXT)`, m.ID).
				Row().Scan(&made); err == nil {
				enrolled++
				if !m.CreatedAt.Equal(made) {
					t.Errorf("报名成功 %d dated %s, its enrollment made %s", m.ID, m.CreatedAt, made)
				}
			}
		case models.NotifyDismissal:
			dismissed++
			if !dated.MatchString(m.Body) {
				t.Errorf("已离校 %d does not name its day: %q", m.ID, m.Body)
			}
		}
	}
	// The last school day before the demo's morning: every child of his
	// dismissed that day (base service included) has its "已离校".
	var kids []struct {
		Sid  int64
		Date string
	}
	if err := db.R.Raw(`SELECT DISTINCT d.student_id AS sid, s.session_date AS date FROM dismissals d
		JOIN sessions s ON s.id = d.session_id JOIN parent_students ps ON ps.student_id = d.student_id
		WHERE ps.user_id = ? AND s.session_date = (SELECT MAX(s2.session_date) FROM dismissals d2
			JOIN sessions s2 ON s2.id = d2.session_id JOIN parent_students p2 ON p2.student_id = d2.student_id WHERE p2.user_id = ?)`,
		father, father).Scan(&kids).Error; err != nil || len(kids) == 0 {
		t.Fatalf("the family's last dismissals: %v %v", kids, err)
	}
	for _, k := range kids {
		var n int64
		db.R.Raw("SELECT COUNT(*) FROM outbox WHERE user_id = ? AND dedupe_key = ?", father,
			fmt.Sprintf("dismissal:%s:student:%d:user:%d", k.Date, k.Sid, father)).Scan(&n)
		if n != 1 {
			t.Errorf("child %d dismissed on %s: %d 已离校 messages, want 1", k.Sid, k.Date, n)
		}
	}
	if enrolled == 0 || dismissed == 0 {
		t.Fatalf("the father's inbox has %d 报名成功 and %d 已离校 of the past: %+v", enrolled, dismissed, inbox)
	}
}
