package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestSoldOutAnswer: once an offering without a waitlist is found full, a
// parent's request is answered "full" from memory — but a student with a
// row in it still gets "already enrolled" or its Idempotency-Key replay,
// and a withdrawal or a larger capacity reopens seats at once.
func TestSoldOutAnswer(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	off := false
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 2; n.Waitlist = &off })
	ss := w.students(4)
	parents := make([]models.Actor, len(ss))
	for i, s := range ss {
		parents[i] = modelstest.Parent(t, w.db, s.ID).Actor()
	}
	enroll := func(i int, key string) (models.Enrollment, error) {
		return models.Enroll(w.ctx, w.db, models.NewEnrollment{Actor: parents[i], StudentID: ss[i].ID, OfferingID: o.ID,
			IdempotencyKey: key})
	}
	first, err := enroll(0, "k0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enroll(1, "k1"); err != nil {
		t.Fatal(err)
	}
	if models.SoldOutCached(w.db, o.ID) {
		t.Fatal("sold out cached before anyone was refused")
	}
	if _, err := enroll(2, "k2"); !errors.Is(err, models.ErrFull) {
		t.Fatalf("third: %v, want ErrFull", err)
	}
	if !models.SoldOutCached(w.db, o.ID) {
		t.Fatal("a full offering was not cached as sold out")
	}
	if _, err := enroll(3, "k3"); !errors.Is(err, models.ErrFull) {
		t.Fatalf("fourth (from the cache): %v, want ErrFull", err)
	}
	// A student in the offering: its retry replays, a new request is
	// "already enrolled".
	re, err := enroll(0, "k0")
	if err != nil || !re.Replayed || re.ID != first.ID {
		t.Fatalf("retry with the key = %+v, %v; want a replay of %d", re, err, first.ID)
	}
	if _, err := enroll(0, ""); !errors.Is(err, models.ErrAlreadyEnrolled) {
		t.Fatalf("second request of an enrolled student: %v, want ErrAlreadyEnrolled", err)
	}
	// A withdrawal frees a seat: the next parent gets it, not "full".
	if _, err := models.Withdraw(w.ctx, w.db, parents[1], mustEnrollmentOf(t, w, ss[1].ID, o.ID)); err != nil {
		t.Fatal(err)
	}
	if models.SoldOutCached(w.db, o.ID) {
		t.Fatal("sold out still cached after a withdrawal")
	}
	if e, err := enroll(3, "k3"); err != nil || e.Status != models.StatusEnrolled {
		t.Fatalf("after the withdrawal: %+v, %v", e, err)
	}
	// Full again: a larger capacity set by the school also retires the
	// cached answer.
	if _, err := enroll(2, "k2b"); !errors.Is(err, models.ErrFull) || !models.SoldOutCached(w.db, o.ID) {
		t.Fatalf("full again: %v, cached %v", err, models.SoldOutCached(w.db, o.ID))
	}
	three := 3
	if _, err := models.PatchOffering(w.ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{Capacity: &three}); err != nil {
		t.Fatal(err)
	}
	if models.SoldOutCached(w.db, o.ID) {
		t.Fatal("sold out still cached after the capacity was raised")
	}
	if e, err := enroll(2, "k2c"); err != nil || e.Status != models.StatusEnrolled {
		t.Fatalf("after the capacity was raised: %+v, %v", e, err)
	}
	if e, wl := checkInvariants(t, w.db, o.ID); e != 3 || wl != 0 {
		t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
	}
}

func mustEnrollmentOf(t *testing.T, w *world, studentID, offeringID int64) int64 {
	t.Helper()
	var id int64
	if err := w.db.R.Raw("SELECT id FROM enrollments WHERE student_id = ? AND offering_id = ? AND status = ?",
		studentID, offeringID, models.StatusEnrolled).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("enrollment of %d in %d: %v", studentID, offeringID, err)
	}
	return id
}

// TestGroupTx: work committed together stays all-or-nothing per caller. A
// refusal rolls back only its own savepoint; an engine error or a panic
// makes the writer run every member alone, so each caller still gets its
// own answer and only the successful work is written.
func TestGroupTx(t *testing.T) {
	db := mustDB(t)
	ctx := context.Background()
	const n = 120
	kind := func(i int) string {
		switch {
		case i == 50:
			return "panic"
		case i%10 == 7:
			return "error"
		case i%3 == 1:
			return "refused"
		}
		return "ok"
	}
	errEngine := errors.New("engine trouble")
	// Hold the writer so the callers queue up and are committed in groups.
	hold := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = db.Tx(ctx, func(tx *gorm.DB) error { close(held); <-hold; return nil })
	}()
	<-held
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = db.GroupTx(ctx, func(tx *gorm.DB) error {
				if err := tx.Exec("INSERT INTO regions (name, code, path, level, created_at) VALUES (?, ?, '/', 1, ?)",
					"组", fmt.Sprintf("GROUP-%d", i), time.Now().UTC()).Error; err != nil {
					return err
				}
				switch kind(i) {
				case "panic":
					panic("boom")
				case "error":
					return errEngine
				case "refused":
					return models.ErrFull
				}
				return nil
			})
		}(i)
	}
	time.Sleep(100 * time.Millisecond)
	close(hold)
	wg.Wait()
	var codes []string
	if err := db.R.Raw("SELECT code FROM regions WHERE code LIKE 'GROUP-%'").Scan(&codes).Error; err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, c := range codes {
		written[c] = true
	}
	for i := 0; i < n; i++ {
		k, code := kind(i), fmt.Sprintf("GROUP-%d", i)
		switch k {
		case "ok":
			if errs[i] != nil || !written[code] {
				t.Errorf("%d: err %v, written %v; want committed", i, errs[i], written[code])
			}
		case "panic":
			if panics[i] != "boom" || written[code] {
				t.Errorf("%d: panic %v, written %v; want the panic back and nothing written", i, panics[i], written[code])
			}
		case "error":
			if !errors.Is(errs[i], errEngine) || written[code] {
				t.Errorf("%d: err %v, written %v; want the error and nothing written", i, errs[i], written[code])
			}
		case "refused":
			if !errors.Is(errs[i], models.ErrFull) || written[code] {
				t.Errorf("%d: err %v, written %v; want ErrFull and nothing written", i, errs[i], written[code])
			}
		}
	}
}
