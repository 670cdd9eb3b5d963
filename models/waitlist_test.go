package models_test

import (
	"errors"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

func outboxCount(t *testing.T, db *models.DB, kind string, studentID int64) int64 {
	t.Helper()
	var n int64
	if err := db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ? AND student_id = ?", kind, studentID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWithdrawPromotes is rule 7: withdrawing an enrolled student promotes
// exactly the head of the waitlist, positions close up, and the promoted
// family is notified; withdrawing a waitlisted one closes its gap.
func TestWithdrawPromotes(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 2 })
	ss := w.students(5)
	parent := modelstest.Parent(t, w.db, ss[2].ID)
	a := w.admin.Actor()
	var es []models.Enrollment
	for _, s := range ss {
		e, err := w.enroll(a, s.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if es[1].Status != "enrolled" || es[2].Status != "waitlisted" || *es[4].WaitlistPosition != 3 {
		t.Fatalf("setup: %v %v %v", es[1].Status, es[2].Status, *es[4].WaitlistPosition)
	}

	t.Run("promotesHeadOnly", func(t *testing.T) {
		got, err := models.Withdraw(w.ctx, w.db, a, es[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "withdrawn" || got.WithdrawnBy == nil || *got.WithdrawnBy != w.admin.ID || got.WithdrawnAt == nil {
			t.Fatalf("withdrawn = %+v", got)
		}
		head, _ := models.FindEnrollmentByID(w.ctx, w.db, es[2].ID)
		next, _ := models.FindEnrollmentByID(w.ctx, w.db, es[3].ID)
		last, _ := models.FindEnrollmentByID(w.ctx, w.db, es[4].ID)
		if head.Status != "enrolled" || head.WaitlistPosition != nil || *next.WaitlistPosition != 1 || *last.WaitlistPosition != 2 {
			t.Fatalf("after promotion: head=%s next=%v last=%v", head.Status, *next.WaitlistPosition, *last.WaitlistPosition)
		}
		if e, wl := checkInvariants(t, w.db, o.ID); e != 2 || wl != 2 {
			t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
		}
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ? AND user_id = ?", models.NotifyWaitlistPromoted, parent.ID).Scan(&n)
		if n != 1 {
			t.Fatalf("promoted family got %d notifications, want 1", n)
		}
	})
	t.Run("waitlistedClosesGap", func(t *testing.T) {
		if _, err := models.Withdraw(w.ctx, w.db, a, es[3].ID); err != nil {
			t.Fatal(err)
		}
		last, _ := models.FindEnrollmentByID(w.ctx, w.db, es[4].ID)
		if last.Status != "waitlisted" || *last.WaitlistPosition != 1 {
			t.Fatalf("last = %s %v", last.Status, *last.WaitlistPosition)
		}
		if e, wl := checkInvariants(t, w.db, o.ID); e != 2 || wl != 1 {
			t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
		}
	})
	t.Run("ErrNotLiveTwice", func(t *testing.T) {
		if _, err := models.Withdraw(w.ctx, w.db, a, es[0].ID); !errors.Is(err, models.ErrNotLive) {
			t.Fatalf("second withdraw: %v", err)
		}
	})
	t.Run("ErrNotFoundOtherParent", func(t *testing.T) {
		other := modelstest.Parent(t, w.db)
		if _, err := models.Withdraw(w.ctx, w.db, other.Actor(), es[1].ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("stranger withdraw: %v", err)
		}
	})
	t.Run("guardianWithdraws", func(t *testing.T) {
		if _, err := models.Withdraw(w.ctx, w.db, parent.Actor(), es[2].ID); err != nil {
			t.Fatal(err)
		}
		if e, wl := checkInvariants(t, w.db, o.ID); e != 2 || wl != 0 {
			t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
		}
	})
	t.Run("reenrollAfterWithdraw", func(t *testing.T) {
		e, err := w.enroll(a, ss[0].ID, o.ID)
		if err != nil || e.Status != "waitlisted" || *e.WaitlistPosition != 1 {
			t.Fatalf("re-enroll: %+v %v", e, err)
		}
	})
}

// TestPromotionSkipsConflictingHead: a head of the waitlist that has since
// enrolled in an overlapping club is not promoted (rule 5 holds) and keeps
// its place; the next one gets the seat.
func TestPromotionSkipsConflictingHead(t *testing.T) {
	w := newWorld(t, mustDB(t), 3)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 1 })
	other := w.offering(func(n *models.NewOffering) {
		n.Name = "美术社"
		n.Weekdays = []int{4}
		n.StartTime = "17:00"
		n.EndTime = "18:30"
	})
	ss := w.students(3)
	a := w.admin.Actor()
	e0, _ := w.enroll(a, ss[0].ID, o.ID)
	e1, _ := w.enroll(a, ss[1].ID, o.ID)                       // waitlist 1
	e2, _ := w.enroll(a, ss[2].ID, o.ID)                       // waitlist 2
	if _, err := w.enroll(a, ss[1].ID, other.ID); err != nil { // now overlaps o on Thursday
		t.Fatal(err)
	}
	if _, err := models.Withdraw(w.ctx, w.db, a, e0.ID); err != nil {
		t.Fatal(err)
	}
	h1, _ := models.FindEnrollmentByID(w.ctx, w.db, e1.ID)
	h2, _ := models.FindEnrollmentByID(w.ctx, w.db, e2.ID)
	if h1.Status != "waitlisted" || *h1.WaitlistPosition != 1 || h2.Status != "enrolled" {
		t.Fatalf("head=%s/%v second=%s", h1.Status, h1.WaitlistPosition, h2.Status)
	}
	checkInvariants(t, w.db, o.ID)
}

// TestCapacityIncreasePromotes: raising the capacity fills the new seats
// from the waitlist; lowering it below the seats taken is refused.
func TestCapacityIncreasePromotes(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 1 })
	for _, s := range w.students(4) {
		if _, err := w.enroll(w.admin.Actor(), s.ID, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	three := 3
	if _, err := models.PatchOffering(w.ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{Capacity: &three}); err != nil {
		t.Fatal(err)
	}
	if e, wl := checkInvariants(t, w.db, o.ID); e != 3 || wl != 1 {
		t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
	}
	two := 2
	_, err := models.PatchOffering(w.ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{Capacity: &two})
	var ve *models.ValidationError
	if !errors.As(err, &ve) || ve.Fields["capacity"] == "" {
		t.Fatalf("shrink below enrolled: %v", err)
	}
	mode := models.ModeLottery
	_, err = models.PatchOffering(w.ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{Mode: &mode})
	if !errors.As(err, &ve) || ve.Fields["mode"] == "" {
		t.Fatalf("mode change after publish: %v", err)
	}
}

// TestCancelReleasesSeats: cancelling withdraws every live enrollment,
// zeroes the counters and notifies each family, in one transaction.
func TestCancelReleasesSeats(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 2 })
	ss := w.students(3)
	for _, s := range ss {
		modelstest.Parent(t, w.db, s.ID)
		if _, err := w.enroll(w.admin.Actor(), s.ID, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := models.CancelOffering(w.ctx, w.db, w.admin.Actor(), o.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "cancelled" || got.EnrolledCount != 0 || got.WaitlistedCount != 0 {
		t.Fatalf("cancelled = %+v", got)
	}
	if e, wl := checkInvariants(t, w.db, o.ID); e != 0 || wl != 0 {
		t.Fatalf("live rows remain: %d %d", e, wl)
	}
	for _, s := range ss {
		if outboxCount(t, w.db, models.NotifyOfferingCancelled, s.ID) != 1 {
			t.Fatalf("student %d's family not notified", s.ID)
		}
	}
	if _, err := models.CancelOffering(w.ctx, w.db, w.admin.Actor(), o.ID, ""); !errors.Is(err, models.ErrInvalidStatus) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := w.enroll(w.admin.Actor(), ss[0].ID, o.ID); !errors.Is(err, models.ErrNotOpen) {
		t.Fatalf("enroll in cancelled: %v", err)
	}
}

// TestEnrollConfirmationNotifies: a seat taken queues exactly one
// confirmation per linked parent; a waitlist place queues none.
func TestEnrollConfirmationNotifies(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 1 })
	ss := w.students(2)
	p := modelstest.Parent(t, w.db, ss[0].ID, ss[1].ID)
	for _, s := range ss {
		if _, err := w.enroll(p.Actor(), s.ID, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n0, n1 := outboxCount(t, w.db, models.NotifyEnrollmentConfirmed, ss[0].ID), outboxCount(t, w.db, models.NotifyEnrollmentConfirmed, ss[1].ID); n0 != 1 || n1 != 0 {
		t.Fatalf("confirmations %d %d, want 1 0", n0, n1)
	}
	var appliedBy int64
	w.db.R.Raw("SELECT applied_by FROM enrollments WHERE student_id = ?", ss[0].ID).Scan(&appliedBy)
	if appliedBy != p.ID {
		t.Fatalf("consent record applied_by=%d, want %d", appliedBy, p.ID)
	}
}

// TestEnrollFull: with the waitlist off, a full offering answers ErrFull
// and nothing is written.
func TestEnrollFull(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	off := false
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 1; n.Waitlist = &off })
	ss := w.students(2)
	if _, err := w.enroll(w.admin.Actor(), ss[0].ID, o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.enroll(w.admin.Actor(), ss[1].ID, o.ID); !errors.Is(err, models.ErrFull) {
		t.Fatalf("got %v, want ErrFull", err)
	}
	if e, wl := checkInvariants(t, w.db, o.ID); e != 1 || wl != 0 {
		t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
	}
}
