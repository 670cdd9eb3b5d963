package models_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestIdempotentEnroll is rule 9: the same key and body replay the first
// answer; another body is refused; 20 concurrent requests with one key make
// one enrollment and 20 identical answers; keys are per user and expire.
func TestIdempotentEnroll(t *testing.T) {
	w := newWorld(t, mustDB(t), 3)
	o := w.offering(nil)
	o2 := w.offering(func(n *models.NewOffering) { n.Name = "美术社"; n.Weekdays = []int{1} })
	ss := w.students(3)
	p := modelstest.Parent(t, w.db, ss[0].ID, ss[1].ID, ss[2].ID)
	in := models.NewEnrollment{Actor: p.Actor(), StudentID: ss[0].ID, OfferingID: o.ID, IdempotencyKey: "k-1"}

	first, err := models.Enroll(w.ctx, w.db, in)
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	t.Run("replaySameBody", func(t *testing.T) {
		again, err := models.Enroll(w.ctx, w.db, in)
		if err != nil || !again.Replayed || again.ID != first.ID || again.Status != first.Status {
			t.Fatalf("replay: %+v %v", again, err)
		}
		a, _ := json.Marshal(first)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("replayed answer differs:\n%s\n%s", a, b)
		}
	})
	t.Run("replayAfterWithdrawStillFirstAnswer", func(t *testing.T) {
		if _, err := models.Withdraw(w.ctx, w.db, p.Actor(), first.ID); err != nil {
			t.Fatal(err)
		}
		again, err := models.Enroll(w.ctx, w.db, in)
		if err != nil || again.ID != first.ID || again.Status != "enrolled" {
			t.Fatalf("replay after withdraw: %+v %v", again, err)
		}
		checkInvariants(t, w.db, o.ID)
	})
	t.Run("ErrIdempotencyReusedOtherBody", func(t *testing.T) {
		other := in
		other.OfferingID = o2.ID
		if _, err := models.Enroll(w.ctx, w.db, other); !errors.Is(err, models.ErrIdempotencyReused) {
			t.Fatalf("got %v", err)
		}
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM enrollments WHERE offering_id = ?", o2.ID).Scan(&n)
		if n != 0 {
			t.Fatal("a reused key enrolled")
		}
	})
	t.Run("keyIsPerUser", func(t *testing.T) {
		staff := in
		staff.Actor = w.admin.Actor()
		staff.StudentID = ss[1].ID
		e, err := models.Enroll(w.ctx, w.db, staff)
		if err != nil || e.Replayed || e.StudentID != ss[1].ID {
			t.Fatalf("other user's same key: %+v %v", e, err)
		}
	})
	t.Run("errorsAreNotStored", func(t *testing.T) {
		bad := models.NewEnrollment{Actor: p.Actor(), StudentID: ss[1].ID, OfferingID: o.ID, IdempotencyKey: "k-err"}
		if _, err := models.Enroll(w.ctx, w.db, bad); !errors.Is(err, models.ErrAlreadyEnrolled) {
			t.Fatalf("got %v", err)
		}
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM idempotency_keys WHERE key = ?", "k-err").Scan(&n)
		if n != 0 {
			t.Fatal("an error answer was stored")
		}
	})
	t.Run("expiredKeyRunsAgain", func(t *testing.T) {
		late := in
		late.Now = time.Now().Add(models.IdempotencyTTL + time.Hour)
		late.Actor = w.admin.Actor() // staff: the window is overridden
		late.IdempotencyKey = "k-1"
		late.StudentID = ss[0].ID
		e, err := models.Enroll(w.ctx, w.db, late)
		if err != nil || e.Replayed || e.ID == first.ID {
			t.Fatalf("expired key: %+v %v", e, err)
		}
	})
	t.Run("ErrBadIdempotencyKey", func(t *testing.T) {
		bad := in
		bad.IdempotencyKey = "has space"
		if _, err := models.Enroll(w.ctx, w.db, bad); !errors.Is(err, models.ErrBadIdempotencyKey) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("concurrentSameKeyOneEffect", func(t *testing.T) {
		c := models.NewEnrollment{Actor: p.Actor(), StudentID: ss[2].ID, OfferingID: o.ID, IdempotencyKey: "k-race"}
		var wg sync.WaitGroup
		answers := make([]string, 20)
		errs := make([]error, 20)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := models.Enroll(w.ctx, w.db, c)
				b, _ := json.Marshal(e)
				answers[i], errs[i] = string(b), err
			}()
		}
		wg.Wait()
		for i := range answers {
			if errs[i] != nil || answers[i] != answers[0] {
				t.Fatalf("answer %d: %s %v, want %s", i, answers[i], errs[i], answers[0])
			}
		}
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM enrollments WHERE student_id = ? AND offering_id = ?", ss[2].ID, o.ID).Scan(&n)
		if n != 1 {
			t.Fatalf("%d enrollments for one key", n)
		}
	})
	t.Run("prune", func(t *testing.T) {
		n, err := models.PurgeExpired(w.ctx, w.db, time.Now().Add(models.IdempotencyTTL+time.Minute), models.DefaultRetention)
		if err != nil || n < 1 {
			t.Fatalf("pruned %d: %v", n, err)
		}
	})
}
