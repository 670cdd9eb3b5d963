package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestBatchPricesFromItsOwnRead: the enrollment batch prices a seat from
// what it read itself (the offering's fee, the term's calendar less the
// cancelled sessions, the child's waiver) and holds it for the nearest
// region's hold minutes; its order and ledger rows are written with the
// batch, and the money invariants hold after.
func TestBatchPricesFromItsOwnRead(t *testing.T) {
	ctx := context.Background()
	w := newFeeWorld(t)
	hold := func(region int64, by models.User, minutes int) {
		t.Helper()
		if _, err := models.SetFeePolicy(ctx, w.db, by.Actor(), region, models.NewFeePolicy{HoldMinutes: &minutes}); err != nil {
			t.Fatal(err)
		}
	}
	held := func(t *testing.T, e models.Enrollment, amount int64, minutes int) {
		t.Helper()
		if e.Status != models.StatusPendingPayment || e.OrderID == nil || e.AmountFen == nil || *e.AmountFen != amount ||
			e.HoldExpiresAt == nil || !e.HoldExpiresAt.Equal(w.now.Add(time.Duration(minutes)*time.Minute)) {
			t.Fatalf("enrollment = %+v (amount %v), want held for %d fen and %d minutes", e, e.AmountFen, amount, minutes)
		}
		v := w.order(t, *e.OrderID)
		if v.AmountFen != amount || v.EnrollmentID != e.ID {
			t.Fatalf("order = %+v", v.Order)
		}
		var row struct {
			HeldAt        *time.Time
			HoldExpiresAt *time.Time
		}
		if err := w.db.R.Raw("SELECT held_at, hold_expires_at FROM enrollments WHERE id = ?", e.ID).Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.HeldAt == nil || !row.HeldAt.Equal(w.now) || row.HoldExpiresAt == nil || !row.HoldExpiresAt.Equal(*e.HoldExpiresAt) {
			t.Fatalf("row held_at %v, hold_expires_at %v", row.HeldAt, row.HoldExpiresAt)
		}
	}
	priced := w.published(t, 300, nil) // 19 Mondays billed at 3 yuan
	t.Run("defaultHold", func(t *testing.T) {
		held(t, w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), priced), 5700, models.DefaultHoldMinutes)
	})
	t.Run("cityHoldInherited", func(t *testing.T) {
		hold(w.city.ID, w.bureauCity, 90)
		held(t, w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), priced), 5700, 90)
	})
	t.Run("countyHoldIsNearer", func(t *testing.T) {
		hold(w.county.ID, w.bureauCounty, 20)
		held(t, w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), priced), 5700, 20)
	})
	t.Run("cancelledSessionNotBilled", func(t *testing.T) {
		var sid int64
		if err := w.db.R.Raw("SELECT id FROM sessions WHERE offering_id = ? ORDER BY session_date DESC LIMIT 1", priced.ID).Scan(&sid).Error; err != nil || sid == 0 {
			t.Fatalf("session %d, %v", sid, err)
		}
		if _, err := models.CancelSession(ctx, w.db, w.admin.Actor(), sid, "雨天", w.now); err != nil {
			t.Fatal(err)
		}
		held(t, w.enroll(t, modelstest.Student(t, w.db, w.school.ID, 3, ""), priced), 5400, 20)
	})
	t.Run("halfWaiver", func(t *testing.T) {
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		if _, err := models.SetStudentWaiver(ctx, w.db, w.admin.Actor(), st.ID, models.WaiverHalf, models.WaiverDibao); err != nil {
			t.Fatal(err)
		}
		e := w.enroll(t, st, priced)
		held(t, e, 2700, 20)
		if v := w.order(t, *e.OrderID); v.GrossFen != 5400 || v.WaiverFen != 2700 || v.Waiver != models.WaiverHalf {
			t.Fatalf("order = %+v", v.Order)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

// TestEnrollConcurrentPaid is the paid rush under load: 300 students at
// once, through two handles on one database, for four priced clubs of 20
// seats. Exactly 80 seats are held, each with one unpaid order whose charge
// is in the ledger, the other 220 wait at positions 1..n, and every
// invariant (the money ones too) holds.
func TestEnrollConcurrentPaid(t *testing.T) {
	url := modelstest.URL(t)
	dbs := []*models.DB{modelstest.Open(t, url), modelstest.Open(t, url)}
	w := newWorld(t, dbs[0], 2)
	var offs []models.Offering
	for i := 0; i < 4; i++ {
		offs = append(offs, w.offering(func(in *models.NewOffering) {
			in.Capacity, in.Weekdays, in.FeeFen, in.Billing = 20, []int{1 + i}, 300, models.BillingSession
		}))
	}
	students := w.students(300)
	a := w.admin.Actor()
	results := make([]models.Enrollment, len(students))
	errs := make([]error, len(students))
	var wg sync.WaitGroup
	for i, s := range students {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = models.Enroll(context.Background(), dbs[i%len(dbs)],
				models.NewEnrollment{Actor: a, StudentID: s.ID, OfferingID: offs[i%len(offs)].ID})
		}()
	}
	wg.Wait()
	held, waiting := 0, 0
	orders := map[int64]bool{}
	for i, e := range results {
		if errs[i] != nil {
			t.Fatalf("enroll: %v", errs[i])
		}
		switch e.Status {
		case models.StatusPendingPayment:
			held++
			if e.OrderID == nil || e.AmountFen == nil || *e.AmountFen <= 0 || e.HoldExpiresAt == nil || orders[*e.OrderID] {
				t.Fatalf("held seat %+v", e)
			}
			orders[*e.OrderID] = true
		case models.StatusWaitlisted:
			waiting++
		default:
			t.Fatalf("status %s", e.Status)
		}
	}
	if held != 80 || waiting != 220 {
		t.Fatalf("held %d, waiting %d; want 80 and 220", held, waiting)
	}
	var charges int64
	if err := w.db.R.Raw("SELECT COUNT(*) FROM fee_ledger WHERE kind = ?", models.LedgerCharge).Scan(&charges).Error; err != nil || charges != 80 {
		t.Fatalf("%d charges in the ledger (%v), want 80", charges, err)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestCalendarChangeRacingABatch: a no-service day set while an enrollment
// batch that prices a seat holds its locks is either read by the batch or
// waits for its order and credits it — never a seat billed for a day that
// will not be held with nothing credited (on PostgreSQL the calendar's
// write takes the term's offerings' locks first; SQLite's one writer
// serialises the two).
func TestCalendarChangeRacingABatch(t *testing.T) {
	ctx := context.Background()
	w := newFeeWorld(t)
	priced := w.published(t, 300, nil) // 19 Mondays billed at 3 yuan
	var last string
	if err := w.db.R.Raw("SELECT session_date FROM sessions WHERE offering_id = ? ORDER BY session_date DESC LIMIT 1", priced.ID).Scan(&last).Error; err != nil || last == "" {
		t.Fatalf("last session %q, %v", last, err)
	}
	st := modelstest.Student(t, w.db, w.school.ID, 3, "")
	paused, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	models.ObserveDecide(w.db, func(models.NewEnrollment) { once.Do(func() { close(paused); <-release }) })
	defer models.ObserveDecide(w.db, nil)
	type result struct {
		e   models.Enrollment
		err error
	}
	enrolled := make(chan result, 1)
	go func() {
		e, err := models.Enroll(ctx, w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: st.ID, OfferingID: priced.ID, Now: w.now})
		enrolled <- result{e, err}
	}()
	<-paused // the batch holds its locks and has read the term's calendar
	changed := make(chan error, 1)
	go func() {
		cal := models.TermCalendar{NoServiceDays: append(w.term.NoService(), last)}
		_, err := models.SetTermCalendar(ctx, w.db, w.admin.Actor(), w.school.ID, w.term.ID, cal, w.now)
		changed <- err
	}()
	select { // without the locks the change commits here, before the order exists
	case err := <-changed:
		changed <- err
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	r := <-enrolled
	if r.err != nil {
		t.Fatal(r.err)
	}
	if err := <-changed; err != nil {
		t.Fatal(err)
	}
	v := w.order(t, *r.e.OrderID)
	if net := v.AmountFen - v.Sums.Credit; net != 18*300 {
		t.Fatalf("order billed %d fen, credited %d: %d net for 18 sessions held, want %d", v.AmountFen, v.Sums.Credit, net, 18*300)
	}
	modelstest.CheckInvariants(t, w.db)
}
