package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestCancelOfferingBesideAPayment: a school cancels a priced club while a
// payment for a seat held in it is committing (the payment moves the seat
// from pending_payment to enrolled under its order's lock, not the
// offering's). The cancel waits for it and withdraws the seat as it now
// stands — enrolled, so its payment is refunded — rather than failing on
// the status it read before (PostgreSQL; SQLite's one writer runs them one
// after the other).
func TestCancelOfferingBesideAPayment(t *testing.T) {
	if modelstest.Engine() != "postgres" {
		t.Skip("SQLite's single writer serialises the cancel and the payment")
	}
	w := newFeeWorld(t)
	ctx := context.Background()
	club := w.published(t, 300, nil)
	_, ord := w.paidSeat(t, club, models.WaiverNone)

	// The payment, held open at the moment it has moved the seat.
	pay := w.db.W.Begin()
	defer pay.Rollback()
	if err := pay.Exec("SELECT id FROM orders WHERE id = ? FOR UPDATE", ord.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := pay.Exec("UPDATE enrollments SET status = ? WHERE id = ?", models.StatusEnrolled, ord.EnrollmentID).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := models.CancelOffering(ctx, w.db, w.admin.Actor(), club.ID, "场地维修")
		done <- err
	}()
	// Wait until the cancel waits on the seat's row lock, then commit.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := w.db.R.Raw(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock'`).Scan(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the cancel finished before the payment committed: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancel never waited for the payment's row")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := pay.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("cancel beside a payment = %v, want it to withdraw the paid seat", err)
	}
	var status string
	w.db.R.Raw("SELECT status FROM enrollments WHERE id = ?", ord.EnrollmentID).Scan(&status)
	if status != string(models.StatusWithdrawn) {
		t.Fatalf("the seat paid during the cancel is %s, want withdrawn", status)
	}
	modelstest.CheckInvariants(t, w.db)
}
