package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// refundMessages are the refund messages queued for user, oldest first.
func refundMessages(t *testing.T, w *feeWorld, user int64) []map[string]string {
	t.Helper()
	var rows []models.OutboxMessage
	if err := w.db.R.Where("kind = ? AND user_id = ?", models.NotifyRefund, user).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows {
		var p map[string]string
		if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// wechatPaid makes order ord paid through WeChat Pay by parent.
func (w *feeWorld) wechatPaid(t *testing.T, ord models.Order, parent models.User) models.WeChatPayment {
	t.Helper()
	ctx := context.Background()
	start := models.WeChatPayStart{OrderID: ord.ID, SchoolID: ord.SchoolID, PayerUserID: parent.ID,
		OutTradeNo: models.OutTradeNo(ord.ID, ord.AmountFen), AmountFen: ord.AmountFen}
	if err := models.SavePrepay(ctx, w.db, start, "wx-prepay", w.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := models.WeChatPayment{OutTradeNo: start.OutTradeNo, TransactionID: fmt.Sprint("4200", ord.ID), AmountFen: ord.AmountFen, PaidAt: w.now}
	return p
}

// refundSucceeds records WeChat Pay's success of every queued refund of
// order id.
func (w *feeWorld) refundSucceeds(t *testing.T, id int64) {
	t.Helper()
	var rs []models.PayRefund
	w.db.R.Where("order_id = ?", id).Find(&rs)
	if len(rs) == 0 {
		t.Fatalf("no WeChat refund queued for order %d", id)
	}
	for _, r := range rs {
		for i := 0; i < 2; i++ { // the notification and a query both report it
			err := models.RecordRefundAttempt(context.Background(), w.db, r.ID, models.RefundAttempt{Status: "SUCCESS", RefundID: "50" + r.OutRefundNo, At: w.now})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRefundNotifications: every refund tells the child's guardians once,
// in the inbox (and through WeChat when they consented) — money the school
// pays back when recorded, money going back through WeChat Pay when WeChat
// Pay says it succeeded: a refund by hand, a cancelled offering, a payment
// that landed after its seat was gone.
func TestRefundNotifications(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	a := w.admin.Actor()
	o := w.published(t, 300, nil)
	seat := func() (models.Order, models.User) {
		t.Helper()
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		parent := modelstest.Parent(t, w.db, st.ID)
		e := w.enroll(t, st, o)
		return w.order(t, *e.OrderID).Order, parent
	}
	want := func(t *testing.T, got []map[string]string, n int, note string) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("%d refund messages, want %d: %v", len(got), n, got)
		}
		if n > 0 {
			p := got[n-1]
			if p["note"] != note || p["status"] != "已退费" || p["offering"] != o.Name || p["student"] == "" || p["order_id"] == "" {
				t.Fatalf("message %v, want note %q", p, note)
			}
		}
	}

	t.Run("byHandPaidAtTheBank", func(t *testing.T) {
		ord, parent := seat()
		if _, err := models.RecordPayment(ctx, w.db, a, ord.ID, models.NewPayment{Method: models.PayBank, Ref: "B1", PaidAt: w.now}); err != nil {
			t.Fatal(err)
		}
		if _, err := models.RefundOrder(ctx, w.db, a, ord.ID, models.NewRefund{AmountFen: 300, Reason: "家长申请"}); err != nil {
			t.Fatal(err)
		}
		got := refundMessages(t, w, parent.ID)
		want(t, got, 1, "3.00元由学校按原方式退还")
		if got[0]["detail"] != "3.00元由学校按原缴费方式退还（家长申请）" || got[0]["actor_id"] != fmt.Sprint(w.admin.ID) {
			t.Fatalf("message %v", got[0])
		}
		inbox, err := models.FindInbox(ctx, w.db, parent.ID, "", 10)
		if err != nil || len(inbox) == 0 || inbox[0].Kind != models.NotifyRefund || inbox[0].Title != "退费通知" ||
			inbox[0].Delivery != models.DeliveryPending {
			t.Fatalf("inbox = %+v, %v", inbox, err)
		}
	})
	t.Run("byHandPaidThroughWeChatToldOnSuccess", func(t *testing.T) {
		ord, parent := seat()
		if _, err := models.ApplyWeChatPayment(ctx, w.db, w.wechatPaid(t, ord, parent)); err != nil {
			t.Fatal(err)
		}
		if _, err := models.RefundOrder(ctx, w.db, a, ord.ID, models.NewRefund{AmountFen: 600, Reason: "停课两次"}); err != nil {
			t.Fatal(err)
		}
		want(t, refundMessages(t, w, parent.ID), 0, "")
		w.refundSucceeds(t, ord.ID)
		got := refundMessages(t, w, parent.ID)
		want(t, got, 1, "6.00元已原路退回微信支付")
		if got[0]["actor_id"] != "" {
			t.Fatalf("WeChat Pay's success is no one's tap: %v", got[0])
		}
	})
	t.Run("cancelledOffering", func(t *testing.T) {
		o2 := w.published(t, 300, nil)
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		parent := modelstest.Parent(t, w.db, st.ID)
		ord := w.order(t, *w.enroll(t, st, o2).OrderID).Order
		if _, err := models.RecordPayment(ctx, w.db, a, ord.ID, models.NewPayment{Method: models.PayCash, Ref: "C1", PaidAt: w.now}); err != nil {
			t.Fatal(err)
		}
		if _, err := models.CancelOffering(ctx, w.db, a, o2.ID, "教练离职"); err != nil {
			t.Fatal(err)
		}
		got := refundMessages(t, w, parent.ID)
		if len(got) != 1 || got[0]["note"] != "57.00元由学校按原方式退还" || got[0]["detail"] != "57.00元由学校按原缴费方式退还（学校取消项目，按未上课次退还）" {
			t.Fatalf("messages %v", got)
		}
	})
	t.Run("latePaymentRefunded", func(t *testing.T) {
		ord, parent := seat()
		pay := w.wechatPaid(t, ord, parent)
		e, err := models.FindEnrollmentByID(ctx, w.db, ord.EnrollmentID)
		if err != nil {
			t.Fatal(err)
		}
		// The hold runs out; WeChat Pay's order is closed; the seat goes;
		// then the payment lands anyway.
		if err := models.ClosePayOrder(ctx, w.db, ord.ID, pay.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		if _, err := models.ReleaseExpiredHolds(ctx, w.db, *e.HoldExpiresAt); err != nil {
			t.Fatal(err)
		}
		if out, err := models.ApplyWeChatPayment(ctx, w.db, pay); err != nil || out != models.PaymentRefunded {
			t.Fatalf("late payment = %s, %v", out, err)
		}
		want(t, refundMessages(t, w, parent.ID), 0, "")
		w.refundSucceeds(t, ord.ID)
		got := refundMessages(t, w, parent.ID)
		want(t, got, 1, "57.00元已原路退回微信支付")
		if got[0]["detail"] != "57.00元已原路退回微信支付（名额已释放，全额退款）" {
			t.Fatalf("detail %q", got[0]["detail"])
		}
	})
	modelstest.CheckInvariants(t, w.db)
}
