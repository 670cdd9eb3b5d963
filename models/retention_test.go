package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestPurgeExpired(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	f := fx{t, db}
	ctx := context.Background()
	now := time.Now().UTC()
	u := modelstest.Parent(t, db)
	token := func(hash string, expires time.Time, used *time.Time) {
		f.exec(`INSERT INTO refresh_tokens (user_id, family, token_hash, expires_at, used_at, created_at)
			VALUES (?, 'f', ?, ?, ?, ?)`, u.ID, hash, expires, used, now)
	}
	spent := now.Add(-time.Hour)
	token("expired", now.Add(-time.Minute), nil)
	token("expiredSpent", now.Add(-time.Minute), &spent)
	token("spentNotExpired", now.Add(time.Hour), &spent) // kept: a replay must still revoke its family
	token("live", now.Add(time.Hour), nil)
	run := func(name string, started time.Time, status string) {
		f.exec(`INSERT INTO job_runs (name, trigger, instance, started_at, status) VALUES (?, 'manual', 'x', ?, ?)`,
			name, started, status)
	}
	run("old", now.Add(-100*24*time.Hour), models.RunSucceeded)
	run("recent", now.Add(-time.Hour), models.RunSucceeded)
	f.exec(`INSERT INTO job_slots (name, slot, instance, claimed_at) VALUES ('old', 's', 'x', ?)`, now.Add(-100*24*time.Hour))

	school := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	st := modelstest.Student(t, db, school.ID, 3, "")
	f.exec(`INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at, expires_at)
		VALUES (?, 'old', 'h', 201, '{}', ?, ?), (?, 'new', 'h', 201, '{}', ?, ?)`,
		u.ID, now, now.Add(-time.Minute), u.ID, now, now.Add(time.Hour))
	f.exec(`INSERT INTO binding_codes (student_id, school_id, code_hash, created_by, expires_at, created_at)
		VALUES (?, ?, 'expired', ?, ?, ?), (?, ?, 'live', ?, ?, ?)`,
		st.ID, school.ID, u.ID, now.Add(-time.Minute), now, st.ID, school.ID, u.ID, now.Add(time.Hour), now)
	f.exec(`INSERT INTO binding_failures (user_id, created_at) VALUES (?, ?), (?, ?)`,
		u.ID, now.Add(-48*time.Hour), u.ID, now.Add(-time.Minute))
	outbox := func(key, status string, created time.Time) {
		f.exec(`INSERT INTO outbox (kind, user_id, dedupe_key, payload, status, next_attempt_at, created_at)
			VALUES ('k', ?, ?, '{}', ?, ?, ?)`, u.ID, key, status, created, created)
	}
	outbox("oldSent", "sent", now.Add(-100*24*time.Hour))
	outbox("oldPending", "pending", now.Add(-100*24*time.Hour)) // kept: never delivered
	outbox("newSent", "sent", now.Add(-time.Hour))

	n, err := models.PurgeExpired(ctx, db, now, models.DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	// two expired tokens, one old run, one old slot, one key, one code,
	// one old failure, one old delivered notification
	if n != 8 {
		t.Fatalf("purged %d rows, want 8", n)
	}
	left := func(q string, want ...string) {
		t.Helper()
		var got []string
		db.R.Raw(q).Scan(&got)
		if len(got) != len(want) {
			t.Fatalf("%s: left %v, want %v", q, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: left %v, want %v", q, got, want)
			}
		}
	}
	left("SELECT token_hash FROM refresh_tokens ORDER BY token_hash", "live", "spentNotExpired")
	left("SELECT name FROM job_runs", "recent")
	left("SELECT key FROM idempotency_keys", "new")
	left("SELECT code_hash FROM binding_codes", "live")
	left("SELECT dedupe_key FROM outbox ORDER BY dedupe_key", "newSent", "oldPending")
	var failures int64
	db.R.Raw("SELECT COUNT(*) FROM binding_failures").Scan(&failures)
	if failures != 1 {
		t.Fatalf("%d binding failures left, want 1", failures)
	}
}
