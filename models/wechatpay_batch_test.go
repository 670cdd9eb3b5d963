package models_test

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// failAfterLedger makes the write of pay_orders' paid state for order id
// fail (after the payment's ledger row is written), or panic when panics
// is set, on db's write handle, until the test ends.
func failAfterLedger(t *testing.T, db *models.DB, id int64, panics bool) *atomic.Int32 {
	t.Helper()
	var hits atomic.Int32
	name := "test:failAfterLedger:" + t.Name()
	err := db.W.Callback().Raw().Before("gorm:raw").Register(name, func(tx *gorm.DB) {
		sql := tx.Statement.SQL.String()
		if !strings.HasPrefix(sql, "UPDATE pay_orders SET state") || !slices.Contains(tx.Statement.Vars, any(id)) {
			return
		}
		hits.Add(1)
		if panics {
			panic("injected: the notification of order " + sql)
		}
		_ = tx.AddError(errors.New("injected: the paid state of the order is not written"))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.W.Callback().Raw().Remove(name) })
	return &hits
}

// TestNotifiedPaymentsShareABatch: the payments of one batch of the
// notification write path (on SQLite, one transaction for many
// notifications) are each applied under a savepoint. One that fails after
// its ledger row is written leaves no trace and fails alone; beside it a
// payment is applied exactly once, its duplicate in the same batch is a
// repeat and an unknown trade is refused. A payment that panics sends the
// whole batch back one transaction per payment, with the same outcomes and
// the panic answered to its own notification only.
func TestNotifiedPaymentsShareABatch(t *testing.T) {
	for _, panics := range []bool{false, true} {
		name := map[bool]string{false: "failsAfterItsLedgerRow", true: "panics"}[panics]
		t.Run(name, func(t *testing.T) {
			w := newFeeWorld(t)
			club := w.published(t, 300, nil)
			parent := modelstest.Parent(t, w.db)
			_, good := w.paidSeat(t, club, models.WaiverNone)
			_, bad := w.paidSeat(t, club, models.WaiverNone)
			pGood, pBad := w.wechatPaid(t, good, parent), w.wechatPaid(t, bad, parent)
			unknown := models.WeChatPayment{OutTradeNo: "KH9999999999-1", TransactionID: "4200999", AmountFen: 100, PaidAt: w.now}
			hits := failAfterLedger(t, w.db, bad.ID, panics)

			outcomes, errs := models.ApplyNotifiedAsOneBatch(w.db, []models.WeChatPayment{pGood, unknown, pBad, pGood})

			if hits.Load() == 0 {
				t.Fatal("the injected failure never ran: the batch did not reach the order's paid state")
			}
			if errs[0] != nil || outcomes[0] != models.PaymentApplied {
				t.Fatalf("the good payment = %q, %v; want applied", outcomes[0], errs[0])
			}
			if errs[3] != nil || outcomes[3] != models.PaymentRepeated {
				t.Fatalf("its duplicate in the same batch = %q, %v; want repeated", outcomes[3], errs[3])
			}
			if !errors.Is(errs[1], models.ErrUnknownTrade) {
				t.Fatalf("the unknown trade = %q, %v", outcomes[1], errs[1])
			}
			_, isPanic := models.PanicValue(errs[2])
			if errs[2] == nil || isPanic != panics {
				t.Fatalf("the failing payment = %q, %v; want its own failure (a panic: %v)", outcomes[2], errs[2], panics)
			}
			payments := func(id int64) int64 {
				return count(t, w.db, "SELECT COUNT(*) FROM fee_ledger WHERE order_id = ? AND kind = ?", id, models.LedgerPayment)
			}
			if n := payments(good.ID); n != 1 {
				t.Fatalf("the good order has %d payment rows, want exactly 1", n)
			}
			if n := payments(bad.ID); n != 0 {
				t.Fatalf("the failed payment left %d ledger rows, want none (its savepoint rolled back)", n)
			}
			if s := w.order(t, good.ID).Status; s != models.OrderPaid {
				t.Fatalf("the good order is %s, want paid", s)
			}
			if s := w.order(t, bad.ID).Status; s != models.OrderUnpaid {
				t.Fatalf("the failed order is %s, want unpaid (WeChat Pay sends it again)", s)
			}
			modelstest.CheckInvariants(t, w.db)
		})
	}
}
