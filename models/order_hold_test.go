package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func (w *feeWorld) enroll(t *testing.T, st models.Student, o models.Offering) models.Enrollment {
	t.Helper()
	e, err := models.Enroll(context.Background(), w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: st.ID, OfferingID: o.ID, Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (w *feeWorld) published(t testing.TB, fee int64, mod func(*models.UpdateOffering)) models.Offering {
	t.Helper()
	ctx := context.Background()
	o := w.mondayClub(t, w.admin, w.term, models.BillingSession, fee)
	if mod != nil {
		var in models.UpdateOffering
		mod(&in)
		var err error
		if o, err = models.PatchOffering(ctx, w.db, w.admin.Actor(), o.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	o, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestHoldOnEnroll(t *testing.T) {
	w := newFeeWorld(t)
	hold := 15
	if _, err := models.SetFeePolicy(context.Background(), w.db, w.bureauCounty.Actor(), w.county.ID, models.NewFeePolicy{HoldMinutes: &hold}); err != nil {
		t.Fatal(err)
	}
	priced := w.published(t, 300, nil)
	t.Run("priced seat is held", func(t *testing.T) {
		e := w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), priced)
		if e.Status != models.StatusPendingPayment || e.OrderID == nil || e.AmountFen == nil || *e.AmountFen != 5700 ||
			e.HoldExpiresAt == nil || !e.HoldExpiresAt.Equal(w.now.Add(15*time.Minute)) {
			t.Fatalf("enrollment = %+v", e)
		}
	})
	t.Run("free seat is enrolled", func(t *testing.T) {
		e := w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), w.published(t, 0, nil))
		if e.Status != models.StatusEnrolled || e.OrderID != nil {
			t.Fatalf("enrollment = %+v", e)
		}
	})
	t.Run("full waiver is enrolled with a waived order", func(t *testing.T) {
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		if _, err := models.SetStudentWaiver(context.Background(), w.db, w.admin.Actor(), st.ID, models.WaiverFull, models.WaiverDisability); err != nil {
			t.Fatal(err)
		}
		e := w.enroll(t, st, priced)
		if e.Status != models.StatusEnrolled || e.OrderID == nil || *e.AmountFen != 0 {
			t.Fatalf("enrollment = %+v", e)
		}
		if v := w.order(t, *e.OrderID); v.Status != models.OrderWaived || v.WaiverFen != 5700 {
			t.Fatalf("order = %+v", v.Order)
		}
	})
	t.Run("a held seat counts for the rules", func(t *testing.T) {
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		w.enroll(t, st, priced)
		// Another Monday club at the same time: rule 5 binds the held seat.
		_, err := models.Enroll(context.Background(), w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: st.ID,
			OfferingID: w.published(t, 0, nil).ID, Now: w.now})
		if !errors.Is(err, models.ErrScheduleConflict) {
			t.Fatalf("clashing club = %v, want schedule_conflict", err)
		}
	})
	t.Run("capacity counts held seats", func(t *testing.T) {
		one := 1
		o := w.published(t, 300, func(in *models.UpdateOffering) { in.Capacity = &one })
		w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), o)
		e := w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), o)
		if e.Status != models.StatusWaitlisted {
			t.Fatalf("second = %s, want waitlisted behind the held seat", e.Status)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

func TestHoldExpiryPromotesTheWaitlist(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	one := 1
	o := w.published(t, 300, func(in *models.UpdateOffering) { in.Capacity = &one })
	a := w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), o)
	sb := modelstest.Student(t, w.db, w.school.ID, 3, "13800001111")
	modelstest.Parent(t, w.db, sb.ID)
	b := w.enroll(t, sb, o)
	if a.Status != models.StatusPendingPayment || b.Status != models.StatusWaitlisted {
		t.Fatalf("a %s, b %s", a.Status, b.Status)
	}
	t.Run("not yet", func(t *testing.T) {
		n, err := models.ReleaseExpiredHolds(ctx, w.db, a.HoldExpiresAt.Add(-time.Second))
		if err != nil || n != 0 {
			t.Fatalf("released %d, %v; want none before the expiry", n, err)
		}
	})
	n, err := models.ReleaseExpiredHolds(ctx, w.db, *a.HoldExpiresAt)
	if err != nil || n != 1 {
		t.Fatalf("released %d, %v; want 1", n, err)
	}
	ea, _ := models.FindEnrollmentByID(ctx, w.db, a.ID)
	eb, _ := models.FindEnrollmentByID(ctx, w.db, b.ID)
	if ea.Status != models.StatusWithdrawn || !ea.UnpaidRelease || eb.Status != models.StatusPendingPayment || eb.HoldExpiresAt == nil {
		t.Fatalf("a = %s (unpaid %v), b = %s; want a released, b holding", ea.Status, ea.UnpaidRelease, eb.Status)
	}
	if v := w.order(t, *a.OrderID); v.Status != models.OrderClosed {
		t.Fatalf("a's order = %s, want closed", v.Status)
	}
	t.Run("the loser of the race sees it", func(t *testing.T) {
		_, err := models.RecordPayment(ctx, w.db, w.admin.Actor(), *a.OrderID, models.NewPayment{Method: models.PayBank, Ref: "late", PaidAt: w.now})
		if !errors.Is(err, models.ErrNothingOwed) && !errors.Is(err, models.ErrHoldExpired) {
			t.Fatalf("late payment = %v, want refused", err)
		}
	})
	var msgs int64
	w.db.R.Raw("SELECT COUNT(*) FROM outbox WHERE student_id = ? AND kind = ?", b.StudentID, models.NotifyWaitlistPromoted).Scan(&msgs)
	if msgs != 1 {
		t.Fatalf("b got %d promotion messages, want 1", msgs)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestHoldPaymentRacesExpiry races, for many held seats with a waitlist
// behind each, a payment against the release of the expired holds: each
// seat goes one way, exactly one waitlisted child gets each released seat,
// and no offering is oversold.
func TestHoldPaymentRacesExpiry(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	const n = 12
	one := 1
	type seat struct {
		held, waiting models.Enrollment
	}
	var seats []seat
	for i := 0; i < n; i++ {
		o := w.published(t, 300, func(in *models.UpdateOffering) { in.Capacity = &one })
		h := w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), o)
		wt := w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), o)
		seats = append(seats, seat{h, wt})
	}
	expiry := *seats[0].held.HoldExpiresAt
	var wg sync.WaitGroup
	paid := make([]error, n)
	for i := range seats {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, paid[i] = models.RecordPayment(ctx, w.db, w.admin.Actor(), *seats[i].held.OrderID,
				models.NewPayment{Method: models.PayCash, Ref: fmt.Sprint("R", i), PaidAt: w.now})
		}(i)
	}
	var mu sync.Mutex
	var released int
	var relErr error
	for k := 0; k < 2; k++ { // two instances' jobs at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := models.ReleaseExpiredHolds(ctx, w.db, expiry)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				relErr = err
			}
			released += r
		}()
	}
	wg.Wait()
	if relErr != nil {
		t.Fatal(relErr)
	}
	lost := 0
	for _, err := range paid {
		if err != nil {
			lost++
		}
	}
	if released != lost {
		t.Errorf("released %d seats, %d payments lost the race", released, lost)
	}
	for i, s := range seats {
		h, _ := models.FindEnrollmentByID(ctx, w.db, s.held.ID)
		wt, _ := models.FindEnrollmentByID(ctx, w.db, s.waiting.ID)
		switch {
		case paid[i] == nil:
			if h.Status != models.StatusEnrolled || wt.Status != models.StatusWaitlisted {
				t.Errorf("seat %d paid: held %s, waiting %s", i, h.Status, wt.Status)
			}
		case errors.Is(paid[i], models.ErrHoldExpired) || errors.Is(paid[i], models.ErrNothingOwed):
			if h.Status != models.StatusWithdrawn || wt.Status != models.StatusPendingPayment {
				t.Errorf("seat %d released: held %s, waiting %s", i, h.Status, wt.Status)
			}
		default:
			t.Errorf("seat %d: payment %v", i, paid[i])
		}
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestFinanceSumsTheLedger checks the finance report against the orders
// themselves: paid, unpaid, waived, refunded and released seats in two
// schools of a county.
func TestFinanceSumsTheLedger(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	o := w.published(t, 300, nil)
	var orders []int64
	add := func(waiver string) models.Enrollment {
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		if waiver != models.WaiverNone {
			if _, err := models.SetStudentWaiver(ctx, w.db, w.admin.Actor(), st.ID, waiver, models.WaiverOther); err != nil {
				t.Fatal(err)
			}
		}
		e := w.enroll(t, st, o)
		orders = append(orders, *e.OrderID)
		return e
	}
	pay := func(e models.Enrollment, ref string) {
		if _, err := models.RecordPayment(ctx, w.db, w.admin.Actor(), *e.OrderID, models.NewPayment{Method: models.PayBank, Ref: ref, PaidAt: w.now}); err != nil {
			t.Fatal(err)
		}
	}
	released := add(models.WaiverNone) // released unpaid
	if _, err := models.ReleaseExpiredHolds(ctx, w.db, *released.HoldExpiresAt); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(time.Hour)      // the other holds run past that release
	pay(add(models.WaiverNone), "p1") // paid 5700
	add(models.WaiverNone)            // unpaid 5700
	add(models.WaiverFull)            // waived 5700
	half := add(models.WaiverHalf)    // paid 2850, then withdrawn before the start: 2850 back
	pay(half, "p2")
	if _, err := models.Withdraw(ctx, w.db, w.admin.Actor(), half.ID); err != nil {
		t.Fatal(err)
	}
	f, err := models.FindFinance(ctx, w.db, models.StatScope{Type: models.ScopeRegion, ID: w.city.ID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want models.FinanceFigures
	for _, id := range orders {
		v := w.order(t, id)
		want.BilledFen += v.Sums.Charge
		want.WaivedFen += v.Sums.Waiver
		want.CollectedFen += v.Sums.Payment
		want.RefundedFen += v.Sums.Refund
		want.VoidedFen += v.Sums.Void
		want.OutstandingFen += max(0, v.Sums.Owed())
	}
	got := f.Totals
	if got.BilledFen != want.BilledFen || got.WaivedFen != want.WaivedFen || got.CollectedFen != want.CollectedFen ||
		got.RefundedFen != want.RefundedFen || got.OutstandingFen != want.OutstandingFen || got.VoidedFen != want.VoidedFen {
		t.Fatalf("finance = %+v, the orders sum to %+v", got, want)
	}
	// By hand: 5 × 5700 billed; 5700 + 2850 waived; 5700 + 2850 paid;
	// 2850 refunded; 5700 outstanding (one unpaid seat) from one student.
	if got.BilledFen != 28500 || got.WaivedFen != 8550 || got.CollectedFen != 8550 || got.RefundedFen != 2850 ||
		got.OutstandingFen != 5700 || got.OutstandingStudents != 1 || got.WaivedStudents != 2 || got.BilledStudents != 5 {
		t.Fatalf("finance = %+v", got)
	}
	if len(f.Schools) != 1 || f.Schools[0].SchoolID != w.school.ID {
		t.Fatalf("schools = %+v", f.Schools)
	}
	modelstest.CheckInvariants(t, w.db)
}

func TestHoldOnLotteryWin(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	lottery := models.ModeLottery
	o := w.published(t, 300, func(in *models.UpdateOffering) { in.Mode = &lottery })
	st := modelstest.Student(t, w.db, w.school.ID, 3, "")
	e, err := models.Enroll(ctx, w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: st.ID, OfferingID: o.ID})
	if err != nil || e.Status != models.StatusApplied || e.OrderID != nil {
		t.Fatalf("application = %+v, %v; want applied with no order", e, err)
	}
	closed := time.Now().Add(-time.Minute)
	if _, err := models.PatchOffering(ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{EnrollClosesAt: &closed}); err != nil {
		t.Fatal(err)
	}
	if _, err := models.RunLottery(ctx, w.db, w.admin.Actor(), w.school.ID, w.term.ID); err != nil {
		t.Fatal(err)
	}
	won, err := models.FindEnrollmentByID(ctx, w.db, e.ID)
	if err != nil || won.Status != models.StatusPendingPayment || won.HoldExpiresAt == nil {
		t.Fatalf("winner = %+v, %v; want a held seat", won, err)
	}
	orders, err := models.FindEnrollmentOrders(ctx, w.db, []int64{e.ID})
	if err != nil || orders[e.ID].Status != models.OrderUnpaid {
		t.Fatalf("orders = %+v, %v", orders, err)
	}
	modelstest.CheckInvariants(t, w.db)
}
