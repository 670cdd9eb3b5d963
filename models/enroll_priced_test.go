package models_test

import (
	"context"
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
