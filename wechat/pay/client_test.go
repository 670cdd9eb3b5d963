package pay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAPIv3Key = "0123456789abcdef0123456789ABCDEF"

var (
	merchantOnce sync.Once
	merchantKey  *rsa.PrivateKey
	otherKey     *rsa.PrivateKey
)

func keys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	merchantOnce.Do(func() {
		merchantKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		otherKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	return merchantKey, otherKey
}

// notices collects the notifications the fake posts, parsed by the client;
// fail makes the next answers 500.
type notices struct {
	mu     sync.Mutex
	client *Client
	got    []Notification
	errs   []error
	fail   int
}

func (n *notices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	note, err := n.client.ParseNotification(r.Context(), r)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail > 0 {
		n.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if err != nil {
		n.errs = append(n.errs, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	n.got = append(n.got, note)
	w.WriteHeader(http.StatusNoContent)
}

func (n *notices) snapshot() ([]Notification, []error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notification(nil), n.got...), append([]error(nil), n.errs...)
}

// newPair starts a fake WeChat Pay and a merchant notify endpoint, and
// answers a client of the merchant pointed at them.
func newPair(t *testing.T) (*Fake, *Client, *notices) {
	t.Helper()
	mk, _ := keys(t)
	fake, err := NewFake("1900000109", "wxkehou0000000001", testAPIv3Key, "5157F09EFDC096DE15EBE81A47057A72", &mk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	fake.RetryDelays = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Wait)
	n := &notices{}
	notify := httptest.NewServer(n)
	t.Cleanup(notify.Close)
	c, err := New(context.Background(), Config{AppID: fake.AppID, MchID: fake.MchID, SerialNo: fake.MerchantSerial,
		PrivateKey: mk, APIv3Key: testAPIv3Key, PublicKeyID: fake.PublicKeyID, PublicKey: fake.PublicKey(),
		NotifyURL: notify.URL + "/api/v1/pay/wechat/notify", APIBase: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	n.client = c
	return fake, c, n
}

func order(no string, fen int64) PrepayIn {
	return PrepayIn{OutTradeNo: no, Description: "课后服务-篮球社", AmountFen: fen, OpenID: "oKehouParent0001",
		ExpiresAt: time.Now().Add(30 * time.Minute)}
}

func TestPrepayPayNotify(t *testing.T) {
	fake, c, n := newPair(t)
	ctx := context.Background()
	id, err := c.Prepay(ctx, order("KH0000000001", 12000))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Prepay(ctx, order("KH0000000001", 12000))
	if err != nil || again != id {
		t.Fatalf("the same order again = %q, %v; want the same prepay %q", again, err, id)
	}
	p, err := c.SignPayment(ctx, id, time.Now())
	if err != nil || p.Package != "prepay_id="+id || p.SignType != "RSA" || p.PaySign == "" || len(p.NonceStr) != 32 {
		t.Fatalf("pay params = %+v, %v", p, err)
	}
	tx, err := fake.RequestPayment(p)
	if err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	got, errs := n.snapshot()
	if len(got) != 1 || len(errs) != 0 {
		t.Fatalf("notifications %+v, errors %v", got, errs)
	}
	tr := got[0].Transaction
	if got[0].EventType != EventPaid || tr == nil || tr.OutTradeNo != "KH0000000001" || tr.TransactionID != tx ||
		tr.State != StateSuccess || tr.AmountFen != 12000 || tr.OpenID != "oKehouParent0001" || tr.SuccessTime.IsZero() {
		t.Fatalf("notification = %+v %+v", got[0], tr)
	}
	q, err := c.Query(ctx, "KH0000000001")
	if err != nil || q.State != StateSuccess || q.TransactionID != tx || q.AmountFen != 12000 {
		t.Fatalf("query = %+v, %v", q, err)
	}
	if _, err := c.Prepay(ctx, order("KH0000000001", 12000)); !errors.Is(err, ErrOrderPaid) {
		t.Fatalf("prepay of a paid order = %v, want ORDERPAID", err)
	}
	if err := c.Close(ctx, "KH0000000001"); !errors.Is(err, ErrOrderPaid) {
		t.Fatalf("close of a paid order = %v, want ORDERPAID", err)
	}
}

func TestRequestPaymentChecksPaySign(t *testing.T) {
	fake, c, _ := newPair(t)
	id, err := c.Prepay(context.Background(), order("KH0000000002", 500))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.SignPayment(context.Background(), id, time.Now())
	p.NonceStr = strings.Repeat("0", 32)
	if _, err := fake.RequestPayment(p); err == nil {
		t.Fatal("a paySign over another nonce was accepted")
	}
}

func TestPrepayRefusals(t *testing.T) {
	fake, c, _ := newPair(t)
	ctx := context.Background()
	if _, err := c.Prepay(ctx, order("KH0000000003", 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prepay(ctx, order("KH0000000003", 200)); err == nil || !strings.Contains(err.Error(), "OUT_TRADE_NO_USED") {
		t.Fatalf("same out_trade_no, other amount = %v", err)
	}
	if err := c.Close(ctx, "KH0000000003"); err != nil {
		t.Fatal(err)
	}
	if q, err := c.Query(ctx, "KH0000000003"); err != nil || q.State != StateClosed {
		t.Fatalf("closed order queried = %+v, %v", q, err)
	}
	if _, err := c.Prepay(ctx, order("KH0000000003", 100)); !errors.Is(err, ErrOrderClosed) {
		t.Fatalf("prepay of a closed order = %v", err)
	}
	if _, err := c.Query(ctx, "KH0000000404"); !errors.Is(err, ErrOrderNotExist) {
		t.Fatalf("query of an unknown order = %v", err)
	}
	fake.Fail(EndpointPrepay, "SYSTEM_ERROR")
	_, err := c.Prepay(ctx, order("KH0000000004", 100))
	if !Retryable(err) {
		t.Fatalf("SYSTEM_ERROR = %v, not retryable", err)
	}
	if _, err := c.Prepay(ctx, order("KH0000000004", 100)); err != nil {
		t.Fatalf("retry after SYSTEM_ERROR = %v", err)
	}
	// A merchant signing with another key is refused with SIGN_ERROR.
	_, other := keys(t)
	forged, err := New(ctx, Config{AppID: c.cfg.AppID, MchID: c.cfg.MchID, SerialNo: c.cfg.SerialNo, PrivateKey: other,
		APIv3Key: testAPIv3Key, PublicKeyID: c.cfg.PublicKeyID, PublicKey: c.cfg.PublicKey, NotifyURL: c.cfg.NotifyURL,
		APIBase: c.cfg.APIBase})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forged.Prepay(ctx, order("KH0000000005", 100)); !errors.Is(err, ErrSign) || Retryable(err) {
		t.Fatalf("prepay signed by another key = %v", err)
	}
}

func TestAnswerSignatureChecked(t *testing.T) {
	fake, c, _ := newPair(t)
	// A client that trusts another platform key refuses the fake's answers.
	_, other := keys(t)
	wrong, err := New(context.Background(), Config{AppID: c.cfg.AppID, MchID: c.cfg.MchID, SerialNo: c.cfg.SerialNo,
		PrivateKey: c.cfg.PrivateKey, APIv3Key: testAPIv3Key, PublicKeyID: fake.PublicKeyID, PublicKey: &other.PublicKey,
		NotifyURL: c.cfg.NotifyURL, APIBase: c.cfg.APIBase})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Prepay(context.Background(), order("KH0000000006", 100)); err == nil {
		t.Fatal("an answer signed by an unknown key was believed")
	}
}

func TestNotificationsVerified(t *testing.T) {
	for _, mode := range []string{NotifyForged, NotifyStale} {
		t.Run(mode, func(t *testing.T) {
			fake, c, n := newPair(t)
			if _, err := c.Prepay(context.Background(), order("KH0000000010", 300)); err != nil {
				t.Fatal(err)
			}
			fake.SetNotifyMode(mode)
			if _, err := fake.Pay("KH0000000010"); err != nil {
				t.Fatal(err)
			}
			fake.Wait()
			got, errs := n.snapshot()
			if len(got) != 0 || len(errs) != 1 || !errors.Is(errs[0], ErrBadNotification) {
				t.Fatalf("%s notification: parsed %+v, errors %v", mode, got, errs)
			}
			if strings.Contains(errs[0].Error(), testAPIv3Key) || strings.Contains(errs[0].Error(), "Wechatpay") {
				t.Fatalf("error text leaks: %v", errs[0])
			}
		})
	}
	t.Run("tampered", func(t *testing.T) {
		fake, c, _ := newPair(t)
		var body []byte
		var hdr http.Header
		capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ = io.ReadAll(r.Body)
			hdr = r.Header.Clone()
			w.WriteHeader(http.StatusNoContent)
		}))
		defer capture.Close()
		c.cfg.NotifyURL = capture.URL
		c2, _ := New(context.Background(), c.cfg)
		if _, err := c2.Prepay(context.Background(), order("KH0000000011", 300)); err != nil {
			t.Fatal(err)
		}
		if _, err := fake.Pay("KH0000000011"); err != nil {
			t.Fatal(err)
		}
		fake.Wait()
		tampered := strings.Replace(string(body), `"event_type":"TRANSACTION.SUCCESS"`, `"event_type":"TRANSACTION.SUCCESS" `, 1)
		req := httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(tampered))
		req.Header = hdr
		if _, err := c2.ParseNotification(context.Background(), req); !errors.Is(err, ErrBadNotification) {
			t.Fatalf("tampered body = %v", err)
		}
		req = httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(string(body)))
		req.Header = hdr
		if n, err := c2.ParseNotification(context.Background(), req); err != nil || n.Transaction == nil {
			t.Fatalf("the untouched body = %+v, %v", n, err)
		}
	})
}

func TestNotificationRetriedUntilAcknowledged(t *testing.T) {
	fake, c, n := newPair(t)
	n.fail = 2
	if _, err := c.Prepay(context.Background(), order("KH0000000020", 300)); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Pay("KH0000000020"); err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	got, _ := n.snapshot()
	sent := fake.Sent()
	if len(got) != 1 || len(sent) != 3 || sent[0].Status != 500 || sent[2].Status != 204 || sent[0].ID != sent[2].ID {
		t.Fatalf("parsed %d, deliveries %+v", len(got), sent)
	}
	fake.SetNotifyMode(NotifyDuplicate)
	if err := fake.Resend("KH0000000020"); err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	if got, _ := n.snapshot(); len(got) != 3 || got[1].ID != got[2].ID {
		t.Fatalf("a duplicated notification: %+v", got)
	}
}

func TestRefunds(t *testing.T) {
	fake, c, n := newPair(t)
	ctx := context.Background()
	if _, err := c.Prepay(ctx, order("KH0000000030", 10000)); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Pay("KH0000000030"); err != nil {
		t.Fatal(err)
	}
	in := RefundIn{OutTradeNo: "KH0000000030", OutRefundNo: "KR0000000030-1", Reason: "退出社团", RefundFen: 4000, TotalFen: 10000}
	fake.Fail(EndpointRefund, "SYSTEM_ERROR")
	if _, err := c.Refund(ctx, in); !Retryable(err) {
		t.Fatalf("refund under SYSTEM_ERROR = %v", err)
	}
	r1, err := c.Refund(ctx, in)
	if err != nil || r1.RefundFen != 4000 || r1.OutRefundNo != in.OutRefundNo || r1.RefundID == "" {
		t.Fatalf("refund = %+v, %v", r1, err)
	}
	r2, err := c.Refund(ctx, in)
	if err != nil || r2.RefundID != r1.RefundID {
		t.Fatalf("the same refund again = %+v, %v (first %s)", r2, err, r1.RefundID)
	}
	over := RefundIn{OutTradeNo: "KH0000000030", OutRefundNo: "KR0000000030-2", RefundFen: 6001, TotalFen: 10000}
	if _, err := c.Refund(ctx, over); err == nil || Retryable(err) {
		t.Fatalf("refund past what is left = %v", err)
	}
	fake.Wait()
	got, _ := n.snapshot()
	var refunds int
	for _, g := range got {
		if g.Refund != nil {
			refunds++
			if g.EventType != EventRefundSuccess || g.Refund.RefundFen != 4000 || g.Refund.Status != RefundSuccess {
				t.Fatalf("refund notification = %+v", g.Refund)
			}
		}
	}
	if refunds != 1 {
		t.Fatalf("%d refund notifications, want 1", refunds)
	}
	if q, err := c.QueryRefund(ctx, in.OutRefundNo); err != nil || q.Status != RefundSuccess {
		t.Fatalf("query refund = %+v, %v", q, err)
	}
	if _, err := c.QueryRefund(ctx, "KR-none-000"); !errors.Is(err, ErrResourceGone) {
		t.Fatalf("unknown refund = %v", err)
	}
}

func TestTradeBill(t *testing.T) {
	fake, c, _ := newPair(t)
	ctx := context.Background()
	day := time.Now().In(shanghai).Format(time.DateOnly)
	for i, fen := range []int64{1250, 30000} {
		no := fmt.Sprintf("KH00000000%d", 40+i)
		if _, err := c.Prepay(ctx, order(no, fen)); err != nil {
			t.Fatal(err)
		}
		if _, err := fake.Pay(no); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Refund(ctx, RefundIn{OutTradeNo: "KH0000000041", OutRefundNo: "KR0000000041", RefundFen: 10001, TotalFen: 30000}); err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	if time.Now().In(shanghai).Format(time.DateOnly) != day {
		t.Skip("the trades straddled midnight in Asia/Shanghai, so the day's bill has only some of them")
	}
	rows, err := c.TradeBill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	var paid, refunded int64
	for _, r := range rows {
		paid += r.AmountFen
		refunded += r.RefundFen
	}
	if len(rows) != 3 || paid != 31250 || refunded != 10001 {
		t.Fatalf("bill rows %+v: paid %d refunded %d", rows, paid, refunded)
	}
	fake.EditBill(day, func(r []BillRow) []BillRow { return r[1:] })
	if rows, err := c.TradeBill(ctx, day); err != nil || len(rows) != 2 {
		t.Fatalf("edited bill = %d rows, %v", len(rows), err)
	}
	if rows, err := c.TradeBill(ctx, "2020-01-01"); err != nil || len(rows) != 0 {
		t.Fatalf("a day without trades = %v, %v", rows, err)
	}
	// The file downloaded is the one announced, even if the day's rows
	// change in between (a bill is generated once).
	calls := 0
	fake.EditBill(day, func(r []BillRow) []BillRow {
		calls++
		return append(r, BillRow{Time: time.Now().Add(time.Duration(calls) * time.Hour), TransactionID: "4200000000001",
			OutTradeNo: fmt.Sprintf("KH99999999%d", calls), State: StateSuccess, AmountFen: int64(calls)})
	})
	if rows, err := c.TradeBill(ctx, day); err != nil || len(rows) != 4 {
		t.Fatalf("a bill whose rows move = %d rows, %v", len(rows), err)
	}
}

// TestTradeBillHashChecked: a downloaded file that is not the one WeChat
// Pay announced is refused, and so is a download after its URL expired.
func TestTradeBillHashChecked(t *testing.T) {
	fake, direct, _ := newPair(t)
	mk, _ := keys(t)
	target, err := url.Parse(direct.cfg.APIBase)
	if err != nil {
		t.Fatal(err)
	}
	// late: the fake's clock passes the URL's lifetime between the
	// announcement and the download; otherwise the download is tampered.
	var late bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(res *http.Response) error {
		switch {
		case late && res.Request.URL.Path == "/v3/bill/tradebill":
			fake.Advance(BillURLLifetime + time.Second)
		case !late && res.Request.URL.Path == "/v3/billdownload/file":
			body, err := io.ReadAll(res.Body)
			if err != nil {
				return err
			}
			body = append(body, "`tampered\r\n"...)
			res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			res.Header.Del("Content-Length")
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	c, err := New(context.Background(), Config{AppID: fake.AppID, MchID: fake.MchID, SerialNo: fake.MerchantSerial,
		PrivateKey: mk, APIv3Key: testAPIv3Key, PublicKeyID: fake.PublicKeyID, PublicKey: fake.PublicKey(),
		NotifyURL: direct.cfg.NotifyURL, APIBase: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prepay(context.Background(), order("KH0000000050", 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Pay("KH0000000050"); err != nil {
		t.Fatal(err)
	}
	fake.Wait()
	day := time.Now().In(shanghai).Format(time.DateOnly)
	if _, err = c.TradeBill(context.Background(), day); err == nil || !strings.Contains(err.Error(), "SHA1 differs") {
		t.Fatalf("a tampered bill = %v, want SHA1 differs", err)
	}
	late = true
	var e *Error
	if _, err = c.TradeBill(context.Background(), day); !errors.As(err, &e) || e.Code != "PARAM_ERROR" {
		t.Fatalf("a download after the URL expired = %v, want PARAM_ERROR", err)
	}
}

func TestYuanToFen(t *testing.T) {
	for in, want := range map[string]int64{"0.00": 0, "12.30": 1230, "12.3": 1230, "7": 700, "0.01": 1, "-1.50": -150, "99999.99": 9999999} {
		if got, err := YuanToFen(in); err != nil || got != want {
			t.Errorf("YuanToFen(%q) = %d, %v; want %d", in, got, err, want)
		}
		if want >= 0 && in == FenToYuan(want) {
			continue
		}
	}
	for _, bad := range []string{"", "1.234", "abc", ".5", "1e3"} {
		if _, err := YuanToFen(bad); err == nil {
			t.Errorf("YuanToFen(%q) accepted", bad)
		}
	}
	if FenToYuan(1230) != "12.30" || FenToYuan(5) != "0.05" || FenToYuan(-150) != "-1.50" {
		t.Fatal("FenToYuan")
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	mk, _ := keys(t)
	der := x509.MarshalPKCS1PrivateKey(mk)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}))
	cfg := Config{MchID: "1900000109", APIv3Key: testAPIv3Key, PrivateKey: mk}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v", cfg.LogValue())} {
		if strings.Contains(s, testAPIv3Key) || strings.Contains(s, pemText[40:80]) || strings.Contains(s, mk.N.String()[:20]) {
			t.Fatalf("config text leaks a secret: %s", s)
		}
	}
	if _, err := New(context.Background(), Config{MchID: "1", APIv3Key: "short"}); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("a bad config = %v", err)
	}
}
