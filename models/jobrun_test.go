package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestTryJobLock(t *testing.T) {
	url := modelstest.URL(t)
	a, b := modelstest.Open(t, url), modelstest.Open(t, url)
	ctx := context.Background()
	lease := 300 * time.Millisecond
	try := func(db *models.DB, holder string) (*models.JobLock, bool) {
		t.Helper()
		l, ok, err := models.TryJobLock(ctx, db, "j", holder, lease, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return l, ok
	}
	la, ok := try(a, "a")
	if !ok {
		t.Fatal("a free lock was not taken")
	}
	if _, ok := try(b, "b"); ok {
		t.Fatal("a held lock was taken by another instance")
	}
	time.Sleep(2 * lease) // past the first lease: renewals keep it
	if _, ok := try(b, "b"); ok {
		t.Fatal("a held lock was lost while its holder ran")
	}
	la.Release()
	lb, ok := try(b, "b")
	if !ok {
		t.Fatal("a released lock could not be taken")
	}
	lb.Release()

	t.Run("crashedHolderLosesLease", func(t *testing.T) {
		if modelstest.Engine() != "sqlite" {
			t.Skip("PostgreSQL's advisory lock ends with the holder's session")
		}
		if err := a.W.Exec("INSERT INTO job_locks (name, holder, expires_at) VALUES ('k', 'dead', ?)",
			time.Now().Add(-time.Second).UTC()).Error; err != nil {
			t.Fatal(err)
		}
		l, ok, err := models.TryJobLock(ctx, b, "k", "b", lease, time.Now())
		if err != nil || !ok {
			t.Fatalf("expired lease not taken over: %v", err)
		}
		l.Release()
	})
}
