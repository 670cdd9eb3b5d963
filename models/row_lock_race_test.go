package models_test

// Races on PostgreSQL between two writers of one row, each test holding
// one writer open at a chosen moment and checking the other waits for it
// and acts on what it committed.

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

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
	err := runBeside(t, w.db, pay, "the cancel", func() error { // it waits on the seat's row lock
		_, err := models.CancelOffering(ctx, w.db, w.admin.Actor(), club.ID, "场地维修")
		return err
	})
	if err != nil {
		t.Fatalf("cancel beside a payment = %v, want it to withdraw the paid seat", err)
	}
	var status string
	w.db.R.Raw("SELECT status FROM enrollments WHERE id = ?", ord.EnrollmentID).Scan(&status)
	if status != string(models.StatusWithdrawn) {
		t.Fatalf("the seat paid during the cancel is %s, want withdrawn", status)
	}
	modelstest.CheckInvariants(t, w.db)
}

// runBeside runs op (named what) beside held, an open transaction
// (PostgreSQL): once op waits on one of held's row locks, held commits; it
// answers op's error.
func runBeside(t *testing.T, db *models.DB, held *gorm.DB, what string, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	waitForLockWait(t, db, held, done, what)
	if err := held.Commit().Error; err != nil {
		t.Fatal(err)
	}
	return <-done
}

// waitForLockWait waits until some statement waits on a lock held by
// blocker, an open transaction (PostgreSQL), failing if what (whose result
// comes on done) finishes first or never waits. Only waits on blocker
// count: the test binaries of other packages share the database.
func waitForLockWait(t *testing.T, db *models.DB, blocker *gorm.DB, done <-chan error, what string) {
	t.Helper()
	var pid int64
	if err := blocker.Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := db.R.Raw(`SELECT COUNT(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`, pid).
			Scan(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("%s finished before the transaction it should wait for committed: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited for the row lock", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRefundAnswerBesideItsNotification: the refund worker records
// WeChat Pay's answer "PROCESSING" while WeChat Pay's notification that the
// same refund succeeded is committing (the fake settles a refund the
// moment it answers). The worker waits for it and leaves the refund
// succeeded, rather than overwriting it with the status it read before
// (PostgreSQL; SQLite's one writer runs them one after the other).
func TestRefundAnswerBesideItsNotification(t *testing.T) {
	if modelstest.Engine() != "postgres" {
		t.Skip("SQLite's single writer serialises the answer and the notification")
	}
	w := newFeeWorld(t)
	ctx := context.Background()
	st := modelstest.Student(t, w.db, w.school.ID, 3, "")
	parent := modelstest.Parent(t, w.db, st.ID)
	ord := w.order(t, *w.enroll(t, st, w.published(t, 300, nil)).OrderID).Order
	if _, err := models.ApplyWeChatPayment(ctx, w.db, w.wechatPaid(t, ord, parent)); err != nil {
		t.Fatal(err)
	}
	if _, err := models.RefundOrder(ctx, w.db, w.admin.Actor(), ord.ID, models.NewRefund{AmountFen: 300, Reason: "家长申请"}); err != nil {
		t.Fatal(err)
	}
	var r models.PayRefund
	if err := w.db.R.Where("order_id = ?", ord.ID).Take(&r).Error; err != nil {
		t.Fatal(err)
	}

	// The notification, held open at the moment it has recorded success.
	notice := w.db.W.Begin()
	defer notice.Rollback()
	if err := notice.Exec("UPDATE pay_refunds SET status = ?, refund_id = ?, succeeded_at = ? WHERE id = ?",
		models.PayRefundSuccess, "50"+r.OutRefundNo, w.now, r.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := runBeside(t, w.db, notice, "the worker's answer", func() error {
		return models.RecordRefundAttempt(ctx, w.db, r.ID, models.RefundAttempt{Status: "PROCESSING", RefundID: "50" + r.OutRefundNo})
	}); err != nil {
		t.Fatal(err)
	}
	var status string
	w.db.R.Raw("SELECT status FROM pay_refunds WHERE id = ?", r.ID).Scan(&status)
	if status != string(models.PayRefundSuccess) {
		t.Fatalf("the refund WeChat Pay said succeeded is %s after the worker's PROCESSING, want success", status)
	}
}

// TestWaiverChangeBesideAnother: a school sets a child's waiver while
// another change of it (an import, a second instance) is committing. The
// second waits and records the first one's waiver as its old one, so the
// audit trail reads none → half → full, not none → half and none → full.
func TestWaiverChangeBesideAnother(t *testing.T) {
	if modelstest.Engine() != "postgres" {
		t.Skip("SQLite's single writer serialises the two changes")
	}
	w := newFeeWorld(t)
	ctx := context.Background()
	st := modelstest.Student(t, w.db, w.school.ID, 3, "")

	// The first change, held open at the moment it has written the waiver.
	first := w.db.W.Begin()
	defer first.Rollback()
	if err := first.Exec("SELECT id FROM students WHERE id = ? FOR UPDATE", st.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := first.Exec("UPDATE students SET fee_waiver = ?, waiver_reason = ? WHERE id = ?",
		models.WaiverHalf, models.WaiverDibao, st.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := first.Exec(`INSERT INTO waiver_changes (student_id, school_id, old_waiver, old_reason, new_waiver, new_reason, source, changed_at)
		VALUES (?, ?, ?, '', ?, ?, ?, ?)`, st.ID, w.school.ID, models.WaiverNone, models.WaiverHalf, models.WaiverDibao,
		models.WaiverSourceRoster, w.now).Error; err != nil {
		t.Fatal(err)
	}
	if err := runBeside(t, w.db, first, "the second change", func() error {
		_, err := models.SetStudentWaiver(ctx, w.db, w.admin.Actor(), st.ID, models.WaiverFull, models.WaiverPovertyRegistered)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var trail []models.WaiverChange
	if err := w.db.R.Where("student_id = ?", st.ID).Order("id").Find(&trail).Error; err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 || trail[1].OldWaiver != models.WaiverHalf || trail[1].NewWaiver != models.WaiverFull {
		t.Fatalf("trail = %+v, want none → half, then half → full", trail)
	}
}
