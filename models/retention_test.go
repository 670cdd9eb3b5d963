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

	t.Run("withoutOptionalTables", func(t *testing.T) {
		n, err := models.PurgeExpired(ctx, db, now, models.DefaultRetention)
		if err != nil {
			t.Fatal(err)
		}
		// two expired tokens, one old run, one old slot
		if n != 4 {
			t.Fatalf("purged %d rows, want 4", n)
		}
		var hashes []string
		db.R.Raw("SELECT token_hash FROM refresh_tokens ORDER BY token_hash").Scan(&hashes)
		if len(hashes) != 2 || hashes[0] != "live" || hashes[1] != "spentNotExpired" {
			t.Fatalf("tokens left %v", hashes)
		}
		var names []string
		db.R.Raw("SELECT name FROM job_runs").Scan(&names)
		if len(names) != 1 || names[0] != "recent" {
			t.Fatalf("runs left %v", names)
		}
	})
	t.Run("idempotencyKeysWhenTableExists", func(t *testing.T) {
		f.exec(`CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, expires_at TIMESTAMP NOT NULL)`)
		f.exec(`INSERT INTO idempotency_keys (key, expires_at) VALUES ('old', ?), ('new', ?)`, now.Add(-time.Minute), now.Add(time.Hour))
		n, err := models.PurgeExpired(ctx, db, now, models.DefaultRetention)
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want 1", n, err)
		}
		var keys []string
		db.R.Raw("SELECT key FROM idempotency_keys").Scan(&keys)
		if len(keys) != 1 || keys[0] != "new" {
			t.Fatalf("keys left %v", keys)
		}
	})
}
