package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat/pay"
)

// paidInFake pays order at the fake WeChat Pay without notifying kehou
// and answers its out_trade_no.
func (w *payWorld) paidInFake(t *testing.T, order int64) string {
	t.Helper()
	w.fake.SetNotifyMode(pay.NotifyDrop)
	defer w.fake.SetNotifyMode(pay.NotifyNormal)
	if _, err := w.fake.RequestPayment(w.startPay(t, order)); err != nil {
		t.Fatal(err)
	}
	start, err := models.StartWeChatPay(context.Background(), w.db, w.parent.Actor(), order)
	if !errors.Is(err, models.ErrNothingOwed) {
		// Not applied yet: the order still owes, and its out_trade_no is
		// the one paid.
		if err != nil {
			t.Fatal(err)
		}
		return start.OutTradeNo
	}
	t.Fatal("paid before any notification")
	return ""
}

// notifyNow posts the fake's notification of outTradeNo to kehou and
// answers the status.
func (w *payWorld) notifyNow(t *testing.T, outTradeNo string) int {
	body, h, err := w.fake.Notification(outTradeNo)
	if err != nil {
		t.Error(err)
		return 0
	}
	req := httptest.NewRequest("POST", "/api/v1/pay/wechat/notify", bytes.NewReader(body))
	for k := range h {
		req.Header.Set(k, h.Get(k))
	}
	res, err := w.app.Test(req, -1)
	if err != nil {
		t.Error(err)
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestWeChatPayNotifyBurst: notifications of two orders, each delivered six
// times at once (WeChat Pay's retries racing its first delivery), go
// through the notification write path (batched on SQLite): every delivery
// is acknowledged, each payment is in the ledger once and its seat
// enrolled.
func TestWeChatPayNotifyBurst(t *testing.T) {
	w := newPayWorld(t)
	var trades []string
	var seats []int64
	for range 2 {
		enr, order := w.heldSeat(t)
		trades, seats = append(trades, w.paidInFake(t, order)), append(seats, enr)
	}
	var wg sync.WaitGroup
	statuses := make(chan int, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- w.notifyNow(t, trades[i%2])
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 204 {
			t.Fatalf("a delivery was answered %d", s)
		}
	}
	for i, no := range trades {
		if n := w.count(t, "SELECT COUNT(*) FROM fee_ledger f JOIN pay_orders p ON p.order_id = f.order_id WHERE f.kind = 'payment' AND p.out_trade_no = ?", no); n != 1 {
			t.Fatalf("%s: %d payment rows", no, n)
		}
		if s := w.status(t, seats[i]); s != "enrolled" {
			t.Fatalf("seat %d is %s after payment", seats[i], s)
		}
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestApplyNotifiedPaymentIsolated: in one batch, a payment of an unknown
// trade fails alone (ErrUnknownTrade) while the payment beside it applies.
func TestApplyNotifiedPaymentIsolated(t *testing.T) {
	w := newPayWorld(t)
	enr, order := w.heldSeat(t)
	no := w.paidInFake(t, order)
	start, err := models.StartWeChatPay(context.Background(), w.db, w.parent.Actor(), order)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	outcomes := make([]string, 8)
	for i := range errs {
		p := models.WeChatPayment{OutTradeNo: no, TransactionID: "4200000000TX1", AmountFen: start.AmountFen, PaidAt: time.Now()}
		if i%2 == 1 {
			p.OutTradeNo, p.TransactionID = "KH9999999999-1", "4200000000TX2"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i], errs[i] = models.ApplyNotifiedPayment(context.Background(), w.db, p)
		}()
	}
	wg.Wait()
	applied := 0
	for i := range errs {
		switch {
		case i%2 == 1 && !errors.Is(errs[i], models.ErrUnknownTrade):
			t.Fatalf("an unknown trade answered %q, %v", outcomes[i], errs[i])
		case i%2 == 0 && errs[i] != nil:
			t.Fatalf("a payment beside an unknown trade: %v", errs[i])
		case outcomes[i] == models.PaymentApplied:
			applied++
		}
	}
	if applied != 1 || w.status(t, enr) != "enrolled" {
		t.Fatalf("applied %d times: %v", applied, outcomes)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestApplyNotifiedPaymentBusy: past the bound of the notification write
// path the answer is ErrNotifyBusy (503 with Retry-After, WeChat Pay
// retries) and nothing is written.
func TestApplyNotifiedPaymentBusy(t *testing.T) {
	w := newPayWorld(t)
	_, order := w.heldSeat(t)
	no := w.paidInFake(t, order)
	w.db.LimitNotifyQueue(1)
	release := w.db.HoldNotifySlots(1)
	_, err := models.ApplyNotifiedPayment(context.Background(), w.db, models.WeChatPayment{OutTradeNo: no,
		TransactionID: "4200000000TX3", AmountFen: 1, PaidAt: time.Now()})
	if !errors.Is(err, models.ErrNotifyBusy) {
		t.Fatalf("past the bound: %v", err)
	}
	body, h, err := w.fake.Notification(no)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/pay/wechat/notify", bytes.NewReader(body))
	for k := range h {
		req.Header.Set(k, h.Get(k))
	}
	res, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("past the bound the notification is answered %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if n := w.count(t, "SELECT COUNT(*) FROM fee_ledger WHERE kind = 'payment'"); n != 0 {
		t.Fatalf("%d payments written past the bound", n)
	}
	release()
	if s := w.notifyNow(t, no); s != 204 {
		t.Fatalf("after the bound frees: %d", s)
	}
}
