package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/jobs"
	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat/pay"
)

var (
	payKeyOnce sync.Once
	payKey     *rsa.PrivateKey
)

const payAPIv3 = "kehou-test-apiv3-key-0123456789a"

// payWorld is an enrollWorld whose kehou listens on a real port and pays
// through a fake WeChat Pay over HTTP, as it would through WeChat Pay.
type payWorld struct {
	*enrollWorld
	fake   *pay.Fake
	client *pay.Client
	seats  int
}

func newPayWorld(t *testing.T) *payWorld {
	t.Helper()
	payKeyOnce.Do(func() { payKey, _ = rsa.GenerateKey(rand.Reader, 2048) })
	w := newEnrollWorld(t)
	fake, err := pay.NewFake("1900000109", "wxkehoutest", payAPIv3, "KEHOUTESTSERIAL01", &payKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	fake.RetryDelays = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	fsrv := httptest.NewServer(fake)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.app.Listener(ln) }()
	t.Cleanup(func() { fake.Wait(); fsrv.Close(); _ = w.app.Shutdown() })
	client, err := pay.New(context.Background(), pay.Config{AppID: fake.AppID, MchID: fake.MchID, SerialNo: fake.MerchantSerial,
		PrivateKey: payKey, APIv3Key: payAPIv3, PublicKeyID: fake.PublicKeyID, PublicKey: fake.PublicKey(),
		NotifyURL: "http://" + ln.Addr().String() + "/api/v1/pay/wechat/notify", APIBase: fsrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	w.api.Pay = client
	return &payWorld{enrollWorld: w, fake: fake, client: client}
}

// heldSeat enrolls the world's student in a new priced club (3 yuan a
// session): a seat held for payment. It answers the enrollment and order.
func (w *payWorld) heldSeat(t *testing.T) (enrollment, order int64) {
	t.Helper()
	w.seats++ // each on a weekday of its own: a student's clubs may not clash
	oid := w.publishedOffering(t, func(b map[string]any) {
		b["fee_fen"], b["billing"], b["weekdays"], b["name"] = 300, "session", []int{w.seats}, fmt.Sprintf("收费社团%d", w.seats)
	})
	e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201).JSON()
	if e["status"] != "pending_payment" || e["order_id"] == nil {
		t.Fatalf("a seat in a priced club = %v", e)
	}
	return int64(e["id"].(float64)), int64(e["order_id"].(float64))
}

// startPay asks kehou for the wx.requestPayment parameters of order.
func (w *payWorld) startPay(t *testing.T, order int64) pay.PayParams {
	t.Helper()
	m := w.do("POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", order), w.parentTok, nil).want(t, 200).JSON()
	return pay.PayParams{TimeStamp: m["timeStamp"].(string), NonceStr: m["nonceStr"].(string), Package: m["package"].(string),
		SignType: m["signType"].(string), PaySign: m["paySign"].(string)}
}

func (w *payWorld) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := w.db.R.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *payWorld) status(t *testing.T, enrollment int64) string {
	t.Helper()
	var s string
	w.db.R.Raw("SELECT status FROM enrollments WHERE id = ?", enrollment).Scan(&s)
	return s
}

// TestWeChatPayEndToEnd: a held seat paid from the mini-program is
// enrolled; the parameters are signed for wx.requestPayment; asking again
// signs the same prepay; the same notification twice moves money once.
func TestWeChatPayEndToEnd(t *testing.T) {
	w := newPayWorld(t)
	enr, order := w.heldSeat(t)
	p := w.startPay(t, order)
	if again := w.startPay(t, order); again.Package != p.Package {
		t.Fatalf("asking twice made a second prepay: %s, then %s", p.Package, again.Package)
	}
	w.do("POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", order), w.otherParentTok, nil).want(t, 404)
	w.do("POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", order), w.adminTok, nil).want(t, 403)
	tx, err := w.fake.RequestPayment(p)
	if err != nil {
		t.Fatal(err)
	}
	w.fake.Wait()
	if s := w.status(t, enr); s != "enrolled" {
		t.Fatalf("after payment the seat is %s", s)
	}
	o := w.do("GET", fmt.Sprintf("/api/v1/orders/%d", order), w.parentTok, nil).want(t, 200).JSON()
	if o["status"] != "paid" || o["owed_fen"].(float64) != 0 {
		t.Fatalf("order after payment = %v", o)
	}
	w.fake.SetNotifyMode(pay.NotifyDuplicate)
	if err := w.fake.Resend(models.OutTradeNo(order, int64(o["paid_fen"].(float64)))); err != nil {
		t.Fatal(err)
	}
	w.fake.Wait()
	if n := w.count(t, "SELECT COUNT(*) FROM fee_ledger WHERE kind = 'payment' AND ref = ?", tx); n != 1 {
		t.Fatalf("%d payment rows for one transaction", n)
	}
	for _, s := range w.fake.Sent() {
		if s.Status != 204 {
			t.Fatalf("a notification was answered %d", s.Status)
		}
	}
	w.do("POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", order), w.parentTok, nil).want(t, 409, "nothing_owed")
	modelstest.CheckInvariants(t, w.db)
}

// TestWeChatPayNotifyRefusesForgeries: a notification signed by another key
// or stamped ten minutes ago is answered 401 and changes nothing.
func TestWeChatPayNotifyRefusesForgeries(t *testing.T) {
	for _, mode := range []string{pay.NotifyForged, pay.NotifyStale} {
		t.Run(mode, func(t *testing.T) {
			w := newPayWorld(t)
			enr, order := w.heldSeat(t)
			p := w.startPay(t, order)
			w.fake.SetNotifyMode(mode)
			if _, err := w.fake.RequestPayment(p); err != nil {
				t.Fatal(err)
			}
			w.fake.Wait()
			sent := w.fake.Sent()
			if len(sent) != 1 || sent[0].Status != 401 {
				t.Fatalf("deliveries %+v", sent)
			}
			if s := w.status(t, enr); s != "pending_payment" || w.count(t, "SELECT COUNT(*) FROM fee_ledger WHERE kind = 'payment'") != 0 {
				t.Fatalf("a %s notification wrote: seat %s", mode, s)
			}
			if logs := w.logs.String(); strings.Contains(logs, payAPIv3) {
				t.Fatal("the APIv3 key is in the logs")
			}
		})
	}
}

// expireHold moves enrollment's hold into the past.
func (w *payWorld) expireHold(t *testing.T, enrollment int64) {
	t.Helper()
	if err := w.db.W.Exec("UPDATE enrollments SET hold_expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), enrollment).Error; err != nil {
		t.Fatal(err)
	}
}

// TestWeChatPayHoldAsksFirst: when the hold runs out with no notification,
// the holds job asks WeChat Pay: a payment made is applied (the seat
// stays), an unpaid order is closed there before the seat goes.
func TestWeChatPayHoldAsksFirst(t *testing.T) {
	w := newPayWorld(t)
	holds := jobs.HoldsWithPay(w.client)
	ctx := context.Background()

	enr, order := w.heldSeat(t)
	p := w.startPay(t, order)
	w.fake.SetNotifyMode(pay.NotifyDrop)
	if _, err := w.fake.RequestPayment(p); err != nil {
		t.Fatal(err)
	}
	w.expireHold(t, enr)
	if _, err := holds.Run(ctx, w.db, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := w.status(t, enr); s != "enrolled" {
		t.Fatalf("a seat paid without a notification is %s after its hold", s)
	}

	enr2, order2 := w.heldSeat(t)
	w.startPay(t, order2)
	w.expireHold(t, enr2)
	if _, err := holds.Run(ctx, w.db, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := w.status(t, enr2); s != "withdrawn" {
		t.Fatalf("an unpaid seat is %s after its hold", s)
	}
	var owed int64
	w.db.R.Raw("SELECT amount_fen FROM pay_orders WHERE order_id = ?", order2).Scan(&owed)
	if tr, err := w.client.Query(ctx, models.OutTradeNo(order2, owed)); err != nil || tr.State != pay.StateClosed {
		t.Fatalf("the released seat's order at WeChat Pay: %+v, %v", tr, err)
	}
	modelstest.CheckInvariants(t, w.db)
}

// paidAfterWithdrawal holds a seat, starts its payment, withdraws the
// child and then pays: money that lands with no seat, whose full refund is
// queued for WeChat Pay. It returns the order.
func (w *payWorld) paidAfterWithdrawal(t *testing.T) int64 {
	t.Helper()
	enr, order := w.heldSeat(t)
	p := w.startPay(t, order)
	w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", enr), w.parentTok, nil).want(t, 200)
	if _, err := w.fake.RequestPayment(p); err != nil {
		t.Fatal(err)
	}
	w.fake.Wait()
	return order
}

// TestWeChatPayLatePaymentRefunded: money that lands after the seat is
// gone is recorded and refunded in full through WeChat Pay; a refund
// refused with SYSTEM_ERROR is sent again later, with the same
// out_refund_no, until it succeeds.
func TestWeChatPayLatePaymentRefunded(t *testing.T) {
	w := newPayWorld(t)
	ctx := context.Background()
	order := w.paidAfterWithdrawal(t)
	if n := w.count(t, "SELECT COUNT(*) FROM pay_refunds WHERE order_id = ? AND status = 'pending'", order); n != 1 {
		t.Fatalf("%d refunds queued for a payment without a seat", n)
	}
	w.fake.Fail(pay.EndpointRefund, "SYSTEM_ERROR")
	if _, err := jobs.SendRefunds(ctx, w.db, w.client, 10); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, "SELECT COUNT(*) FROM pay_refunds WHERE order_id = ? AND status = 'pending' AND attempts = 1", order); n != 1 {
		t.Fatal("a refund refused with SYSTEM_ERROR is not waiting to be sent again")
	}
	w.db.W.Exec("UPDATE pay_refunds SET next_attempt_at = ? WHERE order_id = ?", time.Now().Add(-time.Second).UTC(), order)
	if _, err := jobs.SendRefunds(ctx, w.db, w.client, 10); err != nil {
		t.Fatal(err)
	}
	w.fake.Wait()
	if n := w.count(t, "SELECT COUNT(*) FROM pay_refunds WHERE order_id = ? AND status = 'success'", order); n != 1 {
		t.Fatalf("the refund did not succeed after its retry: deliveries %+v", w.fake.Sent())
	}
	o := w.do("GET", fmt.Sprintf("/api/v1/orders/%d", order), w.parentTok, nil).want(t, 200).JSON()
	if o["status"] != "refunded" || o["paid_fen"] != o["refunded_fen"] {
		t.Fatalf("order = %v", o)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestWeChatPayRefundRefusedShown: a refund WeChat Pay refuses for want
// of funds (NOT_ENOUGH) is sent again later; one it refuses for good is
// failed, the job's run says so, and the order shows it — the family sees
// the refund failed, the school also WeChat Pay's reason.
func TestWeChatPayRefundRefusedShown(t *testing.T) {
	w := newPayWorld(t)
	ctx := context.Background()
	order := w.paidAfterWithdrawal(t)
	due := func() {
		w.db.W.Exec("UPDATE pay_refunds SET next_attempt_at = ? WHERE order_id = ?", time.Now().Add(-time.Second).UTC(), order)
	}
	w.fake.Fail(pay.EndpointRefund, "NOT_ENOUGH")
	if _, err := jobs.SendRefunds(ctx, w.db, w.client, 10); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, "SELECT COUNT(*) FROM pay_refunds WHERE order_id = ? AND status = 'pending' AND attempts = 1", order); n != 1 {
		t.Fatal("a refund refused with NOT_ENOUGH is not waiting to be sent again")
	}
	due()
	w.fake.Fail(pay.EndpointRefund, "PARAM_ERROR")
	if _, err := jobs.SendRefunds(ctx, w.db, w.client, 10); err == nil || !strings.Contains(err.Error(), "for good") {
		t.Fatalf("a refund refused for good: the run answered %v", err)
	}
	refund := func(tok string) map[string]any {
		o := w.do("GET", fmt.Sprintf("/api/v1/orders/%d", order), tok, nil).want(t, 200).JSON()
		for _, r := range o["refunds"].([]any) {
			if wr, ok := r.(map[string]any)["wechat_refund"].(map[string]any); ok {
				return wr
			}
		}
		t.Fatalf("no refund through WeChat Pay in %v", o)
		return nil
	}
	if got := refund(w.parentTok); got["status"] != "failed" || got["last_error"] != nil {
		t.Fatalf("the family sees %v, want failed without WeChat Pay's words", got)
	}
	if got := refund(w.adminTok); got["status"] != "failed" || !strings.Contains(fmt.Sprint(got["last_error"]), "PARAM_ERROR") {
		t.Fatalf("the school sees %v, want failed with WeChat Pay's reason", got)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestWeChatPayReconcile finds each kind of difference between the trade
// bill and the ledger, and shows them to the school's admin only.
func TestWeChatPayReconcile(t *testing.T) {
	w := newPayWorld(t)
	ctx := context.Background()
	day := models.LocalDate(time.Now())
	var trades []string
	for i := 0; i < 3; i++ {
		st := modelstest.Student(t, w.db, w.schoolID, 3, fmt.Sprintf("1370000%04d", i))
		if err := w.db.Tx(ctx, func(tx *gorm.DB) error { return models.LinkParent(tx, w.parent.ID, st.ID, "phone") }); err != nil {
			t.Fatal(err)
		}
		oid := w.publishedOffering(t, func(b map[string]any) {
			b["fee_fen"], b["billing"], b["name"] = 300, "session", fmt.Sprintf("社团%d", i)
		})
		e := w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": st.ID, "offering_id": oid}).want(t, 201).JSON()
		order := int64(e["order_id"].(float64))
		start, err := models.StartWeChatPay(ctx, w.db, w.parent.Actor(), order)
		if err != nil {
			t.Fatal(err)
		}
		w.startPay(t, order)
		tx, err := w.fake.Pay(start.OutTradeNo)
		if err != nil {
			t.Fatal(err)
		}
		trades = append(trades, start.OutTradeNo+"|"+tx)
	}
	w.fake.Wait()
	if models.LocalDate(time.Now()) != day {
		t.Skip("the payments straddled midnight in Asia/Shanghai, so the day's bill has only some of them")
	}
	w.fake.EditBill(day, func(rows []pay.BillRow) []pay.BillRow {
		var out []pay.BillRow
		for _, r := range rows {
			switch {
			case trades[0] == r.OutTradeNo+"|"+r.TransactionID:
				continue // missing at WeChat Pay
			case trades[1] == r.OutTradeNo+"|"+r.TransactionID:
				r.AmountFen++ // amount differs
			}
			out = append(out, r)
		}
		return append(out, pay.BillRow{Time: time.Now(), TransactionID: "4200000000000", OutTradeNo: "KH999999-1", State: pay.StateSuccess, AmountFen: 1})
	})
	sum, err := jobs.Reconcile(ctx, w.db, w.client, day)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, d := range sum.Diffs {
		kinds[d.Kind]++
	}
	if kinds[models.DiffMissingRemote] != 1 || kinds[models.DiffAmount] != 1 || kinds[models.DiffMissingLocal] != 1 || len(sum.Diffs) != 3 {
		t.Fatalf("differences = %+v", sum.Diffs)
	}
	if _, err := jobs.Reconcile(ctx, w.db, w.client, day); err != nil { // again: replaced, not doubled
		t.Fatal(err)
	}
	m := w.do("GET", "/api/v1/pay/reconciliation?from="+day, w.adminTok, nil).want(t, 200).JSON()
	if items := m["items"].([]any); len(items) != 2 { // the unknown trade belongs to no school
		t.Fatalf("the school admin sees %d differences", len(items))
	}
	if items := w.do("GET", "/api/v1/pay/reconciliation", w.otherAdminTok, nil).want(t, 200).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("another school's admin sees %d", len(items))
	}
	w.do("GET", "/api/v1/pay/reconciliation", w.parentTok, nil).want(t, 403)
	w.do("GET", "/api/v1/pay/reconciliation?from=yesterday", w.adminTok, nil).want(t, 400)
}

// TestWeChatPaymentAppliedOnceAcrossInstances: two instances applying the
// same payment at once (WeChat Pay's retry racing the first delivery, or
// the query path racing the notification) move money once.
func TestWeChatPaymentAppliedOnceAcrossInstances(t *testing.T) {
	w := newPayWorld(t)
	enr, order := w.heldSeat(t)
	start, err := models.StartWeChatPay(context.Background(), w.db, w.parent.Actor(), order)
	if err != nil {
		t.Fatal(err)
	}
	w.startPay(t, order)
	other := modelstest.Open(t, w.cfg.DatabaseURL)
	p := models.WeChatPayment{OutTradeNo: start.OutTradeNo, TransactionID: "4200009999", AmountFen: start.AmountFen, PaidAt: time.Now()}
	var wg sync.WaitGroup
	outcomes := make([]string, 16)
	errs := make([]error, 16)
	for i := range outcomes {
		db := w.db
		if i%2 == 1 {
			db = other
		}
		wg.Add(1)
		go func(i int, db *models.DB) {
			defer wg.Done()
			outcomes[i], errs[i] = models.ApplyWeChatPayment(context.Background(), db, p)
		}(i, db)
	}
	wg.Wait()
	applied := 0
	for i, o := range outcomes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if o == models.PaymentApplied {
			applied++
		}
	}
	if applied != 1 || w.status(t, enr) != "enrolled" || w.count(t, "SELECT COUNT(*) FROM fee_ledger WHERE kind = 'payment'") != 1 {
		t.Fatalf("applied %d times: %v", applied, outcomes)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestErasureBlanksRefundReasons: a refund's reason may describe the child
// (and its audit line quotes it); a confirmed deletion blanks both, though
// the money itself is kept.
func TestErasureBlanksRefundReasons(t *testing.T) {
	w := newPayWorld(t)
	_, order := w.heldSeat(t)
	const why = "孩子因病住院，退两节课"
	path := fmt.Sprintf("/api/v1/orders/%d", order)
	w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "bank", "ref": "B-1", "paid_at": time.Now().Format(time.RFC3339)}).want(t, 200)
	w.do("POST", path+"/refunds", w.adminTok, map[string]any{"amount_fen": 600, "reason": why}, "Idempotency-Key", "r-1").want(t, 200)
	req := w.do("POST", fmt.Sprintf("/api/v1/me/children/%d/deletion-request", w.student.ID), w.parentTok,
		map[string]string{"reason": "转学"}).want(t, 201).JSON()
	w.do("POST", fmt.Sprintf("/api/v1/deletion-requests/%d/confirm", jnum(req, "id")), w.adminTok, nil).want(t, 200)
	if n := w.count(t, "SELECT COUNT(*) FROM fee_ledger WHERE order_id = ? AND reason LIKE ?", order, "%因病%"); n != 0 {
		t.Fatal("the ledger still holds the refund's reason")
	}
	if n := w.count(t, "SELECT COUNT(*) FROM fee_audit WHERE detail LIKE ?", "%因病%"); n != 0 {
		t.Fatal("the fee audit still quotes the refund's reason")
	}
	if n := w.count(t, "SELECT COUNT(*) FROM fee_ledger WHERE order_id = ? AND kind = 'refund' AND amount_fen = 600", order); n != 1 {
		t.Fatal("erasure moved money")
	}
}

// TestCalendarDayRefundsPaidSessions: a day the calendar takes away is not
// billed — the paid family gets that session's share back, as when the
// school cancels the session by hand.
func TestCalendarDayRefundsPaidSessions(t *testing.T) {
	w := newPayWorld(t)
	_, order := w.heldSeat(t)
	path := fmt.Sprintf("/api/v1/orders/%d", order)
	w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "bank", "ref": "B-2", "paid_at": time.Now().Format(time.RFC3339)}).want(t, 200)
	var day string
	w.db.R.Raw(`SELECT MIN(s.session_date) FROM sessions s JOIN orders o ON o.offering_id = s.offering_id
		WHERE o.id = ? AND s.session_date > ?`, order, models.LocalDate(time.Now())).Scan(&day)
	if day == "" {
		t.Skip("no session left in the fixture's term")
	}
	w.do("PUT", fmt.Sprintf("/api/v1/schools/%d/terms/%d/calendar", w.schoolID, w.termID), w.adminTok,
		map[string]any{"no_service_days": []string{day}, "extra_days": []any{}}).want(t, 200)
	o := w.do("GET", path, w.parentTok, nil).want(t, 200).JSON()
	if o["refunded_fen"].(float64) != 300 {
		t.Fatalf("after the calendar took %s away the order = %v", day, o)
	}
}
