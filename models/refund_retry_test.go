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

// paidOrder is a seat of 19 × 300 fen paid at the bank.
func (w *feeWorld) paidOrder(t *testing.T) models.Order {
	t.Helper()
	_, ord := w.paidSeat(t, w.mondayClub(t, w.admin, w.term, models.BillingSession, 300), models.WaiverNone)
	_, err := models.RecordPayment(context.Background(), w.db, w.admin.Actor(), ord.ID,
		models.NewPayment{Method: models.PayBank, Ref: fmt.Sprintf("BANK-%d", ord.ID), PaidAt: w.now})
	if err != nil {
		t.Fatal(err)
	}
	return ord
}

// refundRows counts order id's refund rows.
func refundRows(t *testing.T, w *feeWorld, id int64) int64 {
	return count(t, w.db, "SELECT COUNT(*) FROM fee_ledger WHERE order_id = ? AND kind = ?", id, models.LedgerRefund)
}

// TestRefundRetry: a refund by hand retried after a lost answer does not
// refund twice — with an Idempotency-Key it replays (another body under
// the key is 422), without one an identical refund within the window is
// 409 duplicate_refund; a refund that differs, or comes after the window,
// is a new one.
func TestRefundRetry(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	a := w.admin.Actor()
	refund := func(id int64, amount int64, reason, key string) (models.OrderView, error) {
		return models.RefundOrder(ctx, w.db, a, id, models.NewRefund{AmountFen: amount, Reason: reason, Key: key})
	}
	t.Run("keyReplays", func(t *testing.T) {
		ord := w.paidOrder(t)
		for i := 0; i < 2; i++ {
			v, err := refund(ord.ID, 300, "退一节课", "key-1")
			if err != nil || v.Sums.Refund != 300 {
				t.Fatalf("try %d = %+v, %v; want 300 refunded once", i, v.Sums, err)
			}
		}
		if n := refundRows(t, w, ord.ID); n != 1 {
			t.Fatalf("refund rows = %d, want 1", n)
		}
	})
	t.Run("keyWithOtherBody422", func(t *testing.T) {
		ord := w.paidOrder(t)
		if _, err := refund(ord.ID, 300, "退一节课", "key-2"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			amount int64
			reason string
		}{{600, "退一节课"}, {300, "退两节课"}} {
			if _, err := refund(ord.ID, c.amount, c.reason, "key-2"); !errors.Is(err, models.ErrIdempotencyReused) {
				t.Fatalf("key-2 with %d %s = %v, want idempotency_key_reused", c.amount, c.reason, err)
			}
		}
		if n := refundRows(t, w, ord.ID); n != 1 {
			t.Fatalf("refund rows = %d, want 1", n)
		}
	})
	t.Run("badKey", func(t *testing.T) {
		ord := w.paidOrder(t)
		if _, err := refund(ord.ID, 300, "退一节课", "有空格 的键"); !errors.Is(err, models.ErrBadIdempotencyKey) {
			t.Fatalf("bad key = %v", err)
		}
	})
	t.Run("noKeyIdenticalWithinWindow409", func(t *testing.T) {
		ord := w.paidOrder(t)
		if _, err := refund(ord.ID, 300, "退一节课", ""); err != nil {
			t.Fatal(err)
		}
		w.now = w.now.Add(models.RefundRetryWindow - time.Second)
		if _, err := refund(ord.ID, 300, "退一节课", ""); !errors.Is(err, models.ErrDuplicateRefund) {
			t.Fatalf("identical again = %v, want duplicate_refund", err)
		}
		if v := w.order(t, ord.ID); v.Sums.Refund != 300 {
			t.Fatalf("refunded %d, want 300", v.Sums.Refund)
		}
	})
	t.Run("noKeyDifferentIsNew", func(t *testing.T) {
		ord := w.paidOrder(t)
		for _, c := range []struct {
			amount int64
			reason string
		}{{300, "退一节课"}, {600, "退一节课"}, {300, "退另一节课"}} {
			if _, err := refund(ord.ID, c.amount, c.reason, ""); err != nil {
				t.Fatalf("%d %s = %v", c.amount, c.reason, err)
			}
		}
		if v := w.order(t, ord.ID); v.Sums.Refund != 1200 {
			t.Fatalf("refunded %d, want 1200", v.Sums.Refund)
		}
	})
	t.Run("noKeyAfterWindowIsNew", func(t *testing.T) {
		ord := w.paidOrder(t)
		if _, err := refund(ord.ID, 300, "退一节课", ""); err != nil {
			t.Fatal(err)
		}
		w.now = w.now.Add(models.RefundRetryWindow + time.Second)
		if v, err := refund(ord.ID, 300, "退一节课", ""); err != nil || v.Sums.Refund != 600 {
			t.Fatalf("after the window = %+v, %v; want 600", v.Sums, err)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

// TestRefundRetryConcurrent: the same refund sent at once by eight clients
// refunds once — without a key one succeeds and the rest are
// duplicate_refund; with one key all succeed and one refund is made.
func TestRefundRetryConcurrent(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	a := w.admin.Actor()
	const n = 8
	race := func(id int64, key string) (ok, dup int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := models.RefundOrder(ctx, w.db, a, id, models.NewRefund{AmountFen: 300, Reason: "停课退费", Key: key})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, models.ErrDuplicateRefund):
					dup++
				default:
					t.Errorf("refund: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		return ok, dup
	}
	t.Run("noKey", func(t *testing.T) {
		ord := w.paidOrder(t)
		if ok, dup := race(ord.ID, ""); ok != 1 || dup != n-1 {
			t.Fatalf("%d refunded, %d duplicate; want 1 and %d", ok, dup, n-1)
		}
		if v := w.order(t, ord.ID); v.Sums.Refund != 300 || refundRows(t, w, ord.ID) != 1 {
			t.Fatalf("refunded %d, want 300 once", v.Sums.Refund)
		}
	})
	t.Run("sameKey", func(t *testing.T) {
		ord := w.paidOrder(t)
		if ok, dup := race(ord.ID, "tap-1"); ok != n || dup != 0 {
			t.Fatalf("%d answered, %d duplicate; want all %d answered", ok, dup, n)
		}
		if v := w.order(t, ord.ID); v.Sums.Refund != 300 || refundRows(t, w, ord.ID) != 1 {
			t.Fatalf("refunded %d, want 300 once", v.Sums.Refund)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}
