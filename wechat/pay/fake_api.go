package pay

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// The fake WeChat Pay's API, one handler per endpoint of the protocol
// kehou calls: orders, payments and refunds here, the trade bill in
// fake_bill.go. Each endpoint's checks and error codes are WeChat Pay's,
// kept beside its handler so one reads it against the docs.

// outTradeNo and outRefundNo are the forms WeChat Pay accepts: 6–32 and
// 1–64 of [0-9A-Za-z_-|*].
var (
	outTradeNo  = regexp.MustCompile(`^[0-9A-Za-z_*|-]{6,32}$`)
	outRefundNo = regexp.MustCompile(`^[0-9A-Za-z_*|-]{1,64}$`)
)

func (f *Fake) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v3/pay/transactions/jsapi", f.prepay)
	m.HandleFunc("GET /v3/pay/transactions/out-trade-no/{no}", f.query)
	m.HandleFunc("POST /v3/pay/transactions/out-trade-no/{no}/close", f.close)
	m.HandleFunc("POST /v3/refund/domestic/refunds", f.refund)
	m.HandleFunc("GET /v3/refund/domestic/refunds/{no}", f.queryRefund)
	m.HandleFunc("GET /v3/bill/tradebill", f.tradeBill)
	m.HandleFunc("GET /v3/billdownload/file", f.billFile)
	f.controlRoutes(m)
	f.mux = m
}

func (f *Fake) prepay(w http.ResponseWriter, r *http.Request) {
	body, ok := f.verify(w, r)
	if !ok || f.injected(w, EndpointPrepay) {
		return
	}
	var in struct {
		AppID       string `json:"appid"`
		MchID       string `json:"mchid"`
		Description string `json:"description"`
		OutTradeNo  string `json:"out_trade_no"`
		TimeExpire  string `json:"time_expire"`
		Attach      string `json:"attach"`
		NotifyURL   string `json:"notify_url"`
		Amount      struct {
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Payer struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.writeErr(w, "PARAM_ERROR", "请求体不是合法的JSON")
		return
	}
	var expire time.Time
	if in.TimeExpire != "" {
		var err error
		if expire, err = time.Parse(time.RFC3339, in.TimeExpire); err != nil {
			f.writeErr(w, "PARAM_ERROR", "time_expire 格式错误")
			return
		}
	}
	switch {
	case in.AppID != f.AppID || in.MchID != f.MchID:
		f.writeErr(w, "APPID_MCHID_NOT_MATCH", "")
		return
	case !outTradeNo.MatchString(in.OutTradeNo):
		f.writeErr(w, "PARAM_ERROR", "out_trade_no 格式错误")
		return
	case in.Description == "" || len(in.Description) > 127 || in.NotifyURL == "" || in.Payer.OpenID == "":
		f.writeErr(w, "PARAM_ERROR", "缺少必填参数")
		return
	case in.Amount.Total <= 0 || (in.Amount.Currency != "" && in.Amount.Currency != "CNY"):
		f.writeErr(w, "PARAM_ERROR", "amount.total 须为正整数（分）")
		return
	}
	f.mu.Lock()
	o := f.orders[in.OutTradeNo]
	switch {
	case o != nil && o.state == StateSuccess:
		f.mu.Unlock()
		f.writeErr(w, "ORDERPAID", "")
		return
	case o != nil && o.state == StateClosed:
		f.mu.Unlock()
		f.writeErr(w, "ORDER_CLOSED", "")
		return
	case o != nil && (o.amount != in.Amount.Total || o.openID != in.Payer.OpenID || o.description != in.Description):
		f.mu.Unlock()
		f.writeErr(w, "OUT_TRADE_NO_USED", "")
		return
	case o == nil:
		o = &fakeOrder{appID: in.AppID, mchID: in.MchID, description: in.Description, outTradeNo: in.OutTradeNo,
			notifyURL: in.NotifyURL, openID: in.Payer.OpenID, attach: in.Attach, amount: in.Amount.Total,
			expire: expire, prepayID: "wx" + nonce()[:28], state: StateNotPay}
		f.orders[in.OutTradeNo] = o
		f.prepays[o.prepayID] = o.outTradeNo
	}
	id := o.prepayID
	f.mu.Unlock()
	f.writeJSON(w, http.StatusOK, map[string]string{"prepay_id": id})
}

// transactionOf is o as WeChat Pay answers a query or sends a notification.
// f.mu is held.
func (f *Fake) transactionOf(o *fakeOrder) transactionJSON {
	t := transactionJSON{AppID: o.appID, MchID: o.mchID, OutTradeNo: o.outTradeNo, TradeType: "JSAPI",
		TradeState: o.state, Attach: o.attach}
	t.Payer = &struct {
		OpenID string `json:"openid"`
	}{o.openID}
	switch o.state {
	case StateSuccess, StateRefund:
		t.TransactionID, t.BankType, t.StateDesc = o.transactionID, "OTHERS", "支付成功"
		t.SuccessTime = o.paidAt.In(shanghai).Format(time.RFC3339)
		t.Amount = &struct {
			Total         int64  `json:"total"`
			PayerTotal    int64  `json:"payer_total"`
			Currency      string `json:"currency,omitempty"`
			PayerCurrency string `json:"payer_currency,omitempty"`
		}{o.amount, o.amount, "CNY", "CNY"}
	case StateNotPay:
		t.StateDesc = "订单未支付"
	case StateClosed:
		t.StateDesc = "订单已关闭"
	}
	return t
}

func (f *Fake) query(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.verify(w, r); !ok || f.injected(w, EndpointQuery) {
		return
	}
	f.mu.Lock()
	o := f.orders[r.PathValue("no")]
	if o == nil || r.URL.Query().Get("mchid") != f.MchID {
		f.mu.Unlock()
		f.writeErr(w, "ORDER_NOT_EXIST", "")
		return
	}
	f.expireLocked(o)
	t := f.transactionOf(o)
	f.mu.Unlock()
	f.writeJSON(w, http.StatusOK, t)
}

// expireLocked closes o when its time_expire has passed unpaid, as WeChat
// Pay does. f.mu is held.
func (f *Fake) expireLocked(o *fakeOrder) {
	if o.state == StateNotPay && !o.expire.IsZero() && f.now().After(o.expire) {
		o.state = StateClosed
	}
}

func (f *Fake) close(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.verify(w, r); !ok || f.injected(w, EndpointClose) {
		return
	}
	f.mu.Lock()
	o := f.orders[r.PathValue("no")]
	switch {
	case o == nil:
		f.mu.Unlock()
		f.writeErr(w, "ORDER_NOT_EXIST", "")
		return
	case o.state == StateSuccess || o.state == StateRefund:
		f.mu.Unlock()
		f.writeErr(w, "ORDERPAID", "")
		return
	}
	o.state = StateClosed
	f.mu.Unlock()
	f.writeSigned(w, http.StatusNoContent, nil)
}

// Pay pays order outTradeNo as the payer's WeChat would after
// wx.requestPayment, and sends the notification (as SetNotifyMode says).
// It answers the transaction id.
func (f *Fake) Pay(outTradeNo string) (string, error) {
	f.mu.Lock()
	o := f.orders[outTradeNo]
	if o == nil {
		f.mu.Unlock()
		return "", fmt.Errorf("fake wechat pay: no order %s", outTradeNo)
	}
	f.expireLocked(o)
	if o.state != StateNotPay {
		f.mu.Unlock()
		return "", fmt.Errorf("fake wechat pay: order %s is %s", outTradeNo, o.state)
	}
	o.state, o.paidAt = StateSuccess, f.now()
	o.transactionID = "42000" + time.Now().Format("20060102") + strings.ToUpper(nonce()[:15])
	t, url, id := f.transactionOf(o), o.notifyURL, o.transactionID
	f.mu.Unlock()
	f.deliver(url, EventPaid, "支付成功", "transaction", t)
	return id, nil
}

// Resend sends the payment notification of a paid order again (WeChat Pay
// retrying after a lost acknowledgement).
func (f *Fake) Resend(outTradeNo string) error {
	f.mu.Lock()
	o := f.orders[outTradeNo]
	if o == nil || o.state != StateSuccess {
		f.mu.Unlock()
		return fmt.Errorf("fake wechat pay: order %s is not paid", outTradeNo)
	}
	t, url := f.transactionOf(o), o.notifyURL
	f.mu.Unlock()
	f.deliver(url, EventPaid, "支付成功", "transaction", t)
	return nil
}

// Notification is the payment notification of paid order outTradeNo as
// WeChat Pay posts it — the body (resource encrypted with the APIv3 key) and
// the signed Wechatpay-* headers — for a caller that delivers it itself (the
// load program's burst, a test replaying WeChat Pay's retries). Each call
// makes a new notification id, as a retry of WeChat Pay's keeps the
// transaction but not the envelope.
func (f *Fake) Notification(outTradeNo string) ([]byte, http.Header, error) {
	f.mu.Lock()
	o := f.orders[outTradeNo]
	if o == nil || (o.state != StateSuccess && o.state != StateRefund) {
		f.mu.Unlock()
		return nil, nil, fmt.Errorf("fake wechat pay: order %s is not paid", outTradeNo)
	}
	t := f.transactionOf(o)
	f.mu.Unlock()
	_, body, err := f.notification(EventPaid, "支付成功", "transaction", t)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	f.sign(h, f.now(), body, f.key)
	return body, h, nil
}

// Paid lists the transaction id of every order the fake has taken money
// for, by out_trade_no: its own record, to compare with the merchant's.
func (f *Fake) Paid() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for no, o := range f.orders {
		if o.state == StateSuccess || o.state == StateRefund {
			out[no] = o.transactionID
		}
	}
	return out
}

func (f *Fake) refund(w http.ResponseWriter, r *http.Request) {
	body, ok := f.verify(w, r)
	if !ok || f.injected(w, EndpointRefund) {
		return
	}
	var in struct {
		OutTradeNo  string `json:"out_trade_no"`
		OutRefundNo string `json:"out_refund_no"`
		Reason      string `json:"reason"`
		NotifyURL   string `json:"notify_url"`
		Amount      struct {
			Refund int64 `json:"refund"`
			Total  int64 `json:"total"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &in); err != nil || !outRefundNo.MatchString(in.OutRefundNo) || in.Amount.Refund <= 0 {
		f.writeErr(w, "PARAM_ERROR", "out_refund_no 或 amount.refund 错误")
		return
	}
	f.mu.Lock()
	if rf := f.refunds[in.OutRefundNo]; rf != nil { // the same refund asked again
		j := f.refundJSON(rf)
		f.mu.Unlock()
		f.writeJSON(w, http.StatusOK, j)
		return
	}
	o := f.orders[in.OutTradeNo]
	switch {
	case o == nil:
		f.mu.Unlock()
		f.writeErr(w, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	case o.state != StateSuccess && o.state != StateRefund:
		f.mu.Unlock()
		f.writeErr(w, "INVALID_REQUEST", "订单未支付")
		return
	case in.Amount.Total != o.amount:
		f.mu.Unlock()
		f.writeErr(w, "PARAM_ERROR", "订单金额与原订单不一致")
		return
	case in.Amount.Refund > o.amount-o.refunded:
		f.mu.Unlock()
		f.writeErr(w, "INVALID_REQUEST", "退款金额超过订单可退金额")
		return
	}
	o.refunded += in.Amount.Refund
	o.state = StateRefund
	rf := &fakeRefund{outRefundNo: in.OutRefundNo, refundID: "50300" + strings.ToUpper(nonce()[:20]), outTradeNo: o.outTradeNo,
		notifyURL: in.NotifyURL, reason: in.Reason, status: RefundProcessing, amount: in.Amount.Refund, created: f.now()}
	f.refunds[in.OutRefundNo] = rf
	j := f.refundJSON(rf)
	f.mu.Unlock()
	f.writeJSON(w, http.StatusOK, j)
	// The money reaches the payer's balance at once in the fake.
	f.settleRefund(in.OutRefundNo, RefundSuccess)
}

// settleRefund ends refund outRefundNo with status and notifies.
func (f *Fake) settleRefund(outRefundNo, status string) {
	f.mu.Lock()
	rf := f.refunds[outRefundNo]
	if rf == nil || rf.status != RefundProcessing {
		f.mu.Unlock()
		return
	}
	rf.status = status
	if status == RefundSuccess {
		rf.succeeded = f.now()
	} else if o := f.orders[rf.outTradeNo]; o != nil {
		o.refunded -= rf.amount
	}
	o := f.orders[rf.outTradeNo]
	n := refundNoticeJSON{MchID: f.MchID, OutTradeNo: rf.outTradeNo, TransactionID: o.transactionID,
		OutRefundNo: rf.outRefundNo, RefundID: rf.refundID, RefundStatus: status, Account: "支付用户零钱"}
	if status == RefundSuccess {
		n.SuccessTime = rf.succeeded.In(shanghai).Format(time.RFC3339)
	}
	n.Amount.Total, n.Amount.Refund, n.Amount.PayerTotal, n.Amount.PayerRefund = o.amount, rf.amount, o.amount, rf.amount
	url := rf.notifyURL
	f.mu.Unlock()
	f.deliver(url, "REFUND."+status, "退款结果", "refund", n)
}

// refundJSON is rf as the refund API answers it. f.mu is held.
func (f *Fake) refundJSON(rf *fakeRefund) map[string]any {
	o := f.orders[rf.outTradeNo]
	j := map[string]any{"refund_id": rf.refundID, "out_refund_no": rf.outRefundNo, "transaction_id": o.transactionID,
		"out_trade_no": rf.outTradeNo, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
		"create_time": rf.created.In(shanghai).Format(time.RFC3339), "status": rf.status,
		"amount": map[string]any{"total": o.amount, "refund": rf.amount, "payer_total": o.amount, "payer_refund": rf.amount,
			"settlement_refund": rf.amount, "settlement_total": o.amount, "discount_refund": 0, "currency": "CNY"}}
	if !rf.succeeded.IsZero() {
		j["success_time"] = rf.succeeded.In(shanghai).Format(time.RFC3339)
	}
	return j
}

func (f *Fake) queryRefund(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.verify(w, r); !ok || f.injected(w, EndpointQueryRefund) {
		return
	}
	f.mu.Lock()
	rf := f.refunds[r.PathValue("no")]
	if rf == nil {
		f.mu.Unlock()
		f.writeErr(w, "RESOURCE_NOT_EXISTS", "")
		return
	}
	j := f.refundJSON(rf)
	f.mu.Unlock()
	f.writeJSON(w, http.StatusOK, j)
}

// sealGCM encrypts plain with AEAD_AES_256_GCM under key (the APIv3 key),
// as WeChat Pay encrypts a notification's resource.
func sealGCM(key, nonce, ad string, plain []byte) (string, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte(ad))), nil
}
