package models_test

import (
	"errors"
	"testing"

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
