package pay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is a WeChat Pay server (API v3) for tests and the demo. It generates
// its own platform key at start and serves its public key; it verifies the
// merchant's request signatures (401 SIGN_ERROR when wrong), signs every
// answer, encrypts notification resources with the APIv3 key and posts them
// to the order's notify_url, retrying on failure as WeChat Pay does. It
// keeps orders, refunds and the trade bill in memory. Tests and the demo
// drive the payer's side through its methods or the control API under
// /_fake/pay/ (fake_control.go).
type Fake struct {
	MchID, AppID string
	APIv3Key     string
	// MerchantSerial and MerchantKey are the merchant certificate's serial and
	// public key: what the fake verifies request signatures with.
	MerchantSerial string
	MerchantKey    *rsa.PublicKey
	PublicKeyID    string
	// RetryDelays are the waits between deliveries of a notification that
	// was not acknowledged (WeChat Pay: 15 s, 15 s, 30 s, 3 min, … up to
	// 24 h; the fake is quicker).
	RetryDelays []time.Duration
	// Client posts notifications.
	Client *http.Client

	key *rsa.PrivateKey

	mu       sync.Mutex
	offset   time.Duration // the fake's clock minus the real one
	orders   map[string]*fakeOrder
	prepays  map[string]string // prepay_id → out_trade_no
	refunds  map[string]*fakeRefund
	inject   map[string][]string // endpoint → error codes to answer next
	mode     string              // how the next notification is delivered: NotifyNormal, …
	sent     []SentNotification
	bills    map[string]fakeBill // download token → the bill file as announced
	billEdit map[string]func([]BillRow) []BillRow
	seq      int
	wg       sync.WaitGroup
	mux      *http.ServeMux
}

// How Pay and refunds deliver their notification (SetNotifyMode).
const (
	NotifyNormal    = "normal"    // once, retried until acknowledged
	NotifyDrop      = "drop"      // never
	NotifyDuplicate = "duplicate" // twice, concurrently
	NotifyForged    = "forged"    // once, with a signature by another key
	NotifyStale     = "stale"     // once, stamped ten minutes ago
)

// The endpoints of the fake, as named by Fail.
const (
	EndpointPrepay      = "jsapi"
	EndpointQuery       = "query"
	EndpointClose       = "close"
	EndpointRefund      = "refund"
	EndpointQueryRefund = "query_refund"
	EndpointBill        = "tradebill"
)

// SentNotification is one delivery attempt of a notification.
type SentNotification struct {
	ID, EventType, URL string
	Status             int // the merchant's HTTP status (0: not reached)
}

type fakeOrder struct {
	appID, mchID, description, outTradeNo, notifyURL, openID, attach string
	amount                                                           int64
	expire                                                           time.Time
	prepayID, transactionID, state                                   string
	paidAt                                                           time.Time
	refunded                                                         int64
}

type fakeRefund struct {
	outRefundNo, refundID, outTradeNo, notifyURL, reason, status string
	amount                                                       int64
	created, succeeded                                           time.Time
}

// NewFake makes a fake for merchant mchID of app appID, trusting
// merchantKey (serial merchantSerial) for request signatures. It generates
// the platform key pair, which takes a moment.
func NewFake(mchID, appID, apiV3Key, merchantSerial string, merchantKey *rsa.PublicKey) (*Fake, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	f := &Fake{MchID: mchID, AppID: appID, APIv3Key: apiV3Key, MerchantSerial: merchantSerial, MerchantKey: merchantKey,
		PublicKeyID: "PUB_KEY_ID_" + strings.ToUpper(nonce()[:24]),
		RetryDelays: []time.Duration{200 * time.Millisecond, time.Second, 3 * time.Second, 10 * time.Second, 30 * time.Second},
		Client:      &http.Client{Timeout: 5 * time.Second},
		key:         key, orders: map[string]*fakeOrder{}, prepays: map[string]string{}, refunds: map[string]*fakeRefund{},
		inject: map[string][]string{}, mode: NotifyNormal, bills: map[string]fakeBill{}, billEdit: map[string]func([]BillRow) []BillRow{}}
	f.routes()
	return f, nil
}

// PublicKey is the platform public key merchants verify answers and
// notifications with (WECHATPAY_PUBLIC_KEY_FILE).
func (f *Fake) PublicKey() *rsa.PublicKey { return &f.key.PublicKey }

// PublicKeyPEM is PublicKey as a PEM file.
func (f *Fake) PublicKeyPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ServeHTTP serves the v3 API and the control API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// Wait blocks until every notification under way has been delivered or
// given up.
func (f *Fake) Wait() { f.wg.Wait() }

// Advance moves the fake's clock on by d (hold expiries, stale notices).
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.offset += d
	f.mu.Unlock()
}

func (f *Fake) now() time.Time { return time.Now().Add(f.offset) }

// Fail makes the next len(codes) calls of endpoint answer those error codes
// (SYSTEM_ERROR, FREQUENCY_LIMITED, NOT_ENOUGH, …) instead of their work.
func (f *Fake) Fail(endpoint string, codes ...string) {
	f.mu.Lock()
	f.inject[endpoint] = append(f.inject[endpoint], codes...)
	f.mu.Unlock()
}

// SetNotifyMode sets how the next notifications are delivered.
func (f *Fake) SetNotifyMode(mode string) {
	f.mu.Lock()
	f.mode = mode
	f.mu.Unlock()
}

// Sent lists every delivery attempt so far.
func (f *Fake) Sent() []SentNotification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentNotification(nil), f.sent...)
}

// errStatus is the HTTP status WeChat Pay answers with each error code.
var errStatus = map[string]int{
	"PARAM_ERROR": 400, "INVALID_REQUEST": 400, "ORDER_CLOSED": 400, "APPID_MCHID_NOT_MATCH": 400,
	"SIGN_ERROR": 401, "ORDERPAID": 403, "NOT_ENOUGH": 403, "OUT_TRADE_NO_USED": 403, "NO_AUTH": 403,
	"ORDER_NOT_EXIST": 404, "RESOURCE_NOT_EXISTS": 404, "NO_STATEMENT_EXIST": 400,
	"FREQUENCY_LIMITED": 429, "SYSTEM_ERROR": 500, "BANKERROR": 500,
}

var errText = map[string]string{
	"PARAM_ERROR": "参数错误", "INVALID_REQUEST": "请求参数符合参数格式，但不符合业务规则", "ORDER_CLOSED": "订单已关闭",
	"SIGN_ERROR": "签名错误", "ORDERPAID": "订单已支付", "NOT_ENOUGH": "基本账户余额不足，请充值后重新发起",
	"OUT_TRADE_NO_USED": "商户订单号重复", "ORDER_NOT_EXIST": "订单不存在", "RESOURCE_NOT_EXISTS": "退款单不存在",
	"NO_STATEMENT_EXIST": "账单文件不存在", "FREQUENCY_LIMITED": "频率超限", "SYSTEM_ERROR": "系统错误", "BANKERROR": "银行系统异常",
	"APPID_MCHID_NOT_MATCH": "AppID和mch_id不匹配", "NO_AUTH": "商户无权限",
}

// writeErr answers a v3 error body, signed like every answer.
func (f *Fake) writeErr(w http.ResponseWriter, code, detail string) {
	msg := errText[code]
	if detail != "" {
		msg += "：" + detail
	}
	status := errStatus[code]
	if status == 0 {
		status = 400
	}
	body, _ := json.Marshal(map[string]string{"code": code, "message": msg})
	f.writeSigned(w, status, body)
}

func (f *Fake) writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	f.writeSigned(w, status, body)
}

// writeSigned sends body with the Wechatpay-* headers: a signature by the
// platform key over the time stamp, nonce and body lines.
func (f *Fake) writeSigned(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	f.sign(h, f.now(), body, f.key)
	h.Set("Request-Id", "fake-"+nonce()[:16])
	if len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *Fake) sign(h http.Header, at time.Time, body []byte, key *rsa.PrivateKey) {
	ts, n := strconv.FormatInt(at.Unix(), 10), nonce()
	digest := sha256.Sum256([]byte(ts + "\n" + n + "\n" + string(body) + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", n)
	h.Set("Wechatpay-Serial", f.PublicKeyID)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}

var authField = regexp.MustCompile(`(\w+)="([^"]*)"`)

// verify checks r's Authorization header (WECHATPAY2-SHA256-RSA2048 over
// method, path with query, time stamp, nonce and body) and answers the
// body, or answers SIGN_ERROR itself and false.
func (f *Fake) verify(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		f.writeErr(w, "PARAM_ERROR", "请求体读取失败")
		return nil, false
	}
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	fields := map[string]string{}
	for _, m := range authField.FindAllStringSubmatch(rest, -1) {
		fields[m[1]] = m[2]
	}
	ts, _ := strconv.ParseInt(fields["timestamp"], 10, 64)
	sig, _ := base64.StdEncoding.DecodeString(fields["signature"])
	digest := sha256.Sum256([]byte(r.Method + "\n" + r.URL.RequestURI() + "\n" + fields["timestamp"] + "\n" +
		fields["nonce_str"] + "\n" + string(body) + "\n"))
	skew := f.now().Unix() - ts
	switch {
	case scheme != "WECHATPAY2-SHA256-RSA2048":
		f.writeErr(w, "SIGN_ERROR", "Authorization 认证类型错误")
	case fields["mchid"] != f.MchID:
		f.writeErr(w, "SIGN_ERROR", "商户号与签名不符")
	case fields["serial_no"] != f.MerchantSerial:
		f.writeErr(w, "SIGN_ERROR", "商户证书序列号错误")
	case skew > 300 || skew < -300:
		f.writeErr(w, "SIGN_ERROR", "时间戳超出有效期")
	case rsa.VerifyPKCS1v15(f.MerchantKey, crypto.SHA256, digest[:], sig) != nil:
		f.writeErr(w, "SIGN_ERROR", "签名验证失败")
	default:
		return body, true
	}
	return nil, false
}

// injected answers an injected error for endpoint, if one is queued.
func (f *Fake) injected(w http.ResponseWriter, endpoint string) bool {
	f.mu.Lock()
	codes := f.inject[endpoint]
	if len(codes) == 0 {
		f.mu.Unlock()
		return false
	}
	f.inject[endpoint] = codes[1:]
	f.mu.Unlock()
	f.writeErr(w, codes[0], "")
	return true
}

// deliver posts a notification of eventType with resource (encrypted with
// the APIv3 key) to url, as the current mode says.
func (f *Fake) deliver(url, eventType, summary, originalType string, resource any) {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	if mode == NotifyDrop || url == "" {
		return
	}
	id, body, err := f.notification(eventType, summary, originalType, resource)
	if err != nil {
		return
	}
	copies := 1
	if mode == NotifyDuplicate {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		f.wg.Add(1)
		go f.post(url, id, eventType, body, mode)
	}
}

// notification is the body of a notification of eventType: a new id and
// resource, encrypted with the APIv3 key.
func (f *Fake) notification(eventType, summary, originalType string, resource any) (string, []byte, error) {
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("EV-%s-%06d", nonce()[:8], f.seq)
	f.mu.Unlock()
	plain, _ := json.Marshal(resource)
	n := nonce()[:12]
	ct, err := sealGCM(f.APIv3Key, n, originalType, plain)
	if err != nil {
		return "", nil, err
	}
	body, err := json.Marshal(map[string]any{
		"id": id, "create_time": f.now().In(shanghai).Format(time.RFC3339), "event_type": eventType,
		"resource_type": "encrypt-resource", "summary": summary,
		"resource": map[string]string{"algorithm": "AEAD_AES_256_GCM", "ciphertext": ct,
			"associated_data": originalType, "original_type": originalType, "nonce": n},
	})
	return id, body, err
}

// post delivers one notification, retrying after RetryDelays until the
// merchant answers 2xx.
func (f *Fake) post(url, id, eventType string, body []byte, mode string) {
	defer f.wg.Done()
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		at, key := f.now(), f.key
		switch mode {
		case NotifyStale:
			at = at.Add(-10 * time.Minute)
		case NotifyForged:
			key = forgeKey()
		}
		f.sign(req.Header, at, body, key)
		status := 0
		if res, err := f.Client.Do(req); err == nil {
			status = res.StatusCode
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		f.mu.Lock()
		f.sent = append(f.sent, SentNotification{ID: id, EventType: eventType, URL: url, Status: status})
		delays := f.RetryDelays
		f.mu.Unlock()
		if status >= 200 && status < 300 || attempt >= len(delays) || mode == NotifyForged || mode == NotifyStale {
			return
		}
		time.Sleep(delays[attempt])
	}
}

var (
	forgeOnce sync.Once
	forged    *rsa.PrivateKey
)

// forgeKey is a key that is not the platform's, for forged notifications.
func forgeKey() *rsa.PrivateKey {
	forgeOnce.Do(func() { forged, _ = rsa.GenerateKey(rand.Reader, 2048) })
	return forged
}
