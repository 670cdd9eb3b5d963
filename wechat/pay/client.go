// Package pay is kehou's WeChat Pay adapter (API v3, JSAPI for the
// mini-program). Client is built on WeChat Pay's official Go SDK
// (github.com/wechatpay-apiv3/wechatpay-go: request signing, answer
// verification, notification decryption, the JSAPI and refund services),
// with every request sent to a configurable base URL; Fake is a WeChat Pay
// server of kehou's own that speaks the same protocol, for tests and the
// demo. Money is integer fen throughout.
package pay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// DefaultAPIBase is WeChat Pay's API host, the one the SDK hard-codes.
const DefaultAPIBase = "https://api.mch.weixin.qq.com"

// Config is a merchant's WeChat Pay settings. Its String and LogValue never
// show the keys.
type Config struct {
	AppID       string          // the mini-program's appid (the payer's openid belongs to it)
	MchID       string          // merchant id
	SerialNo    string          // serial of the merchant API certificate
	PrivateKey  *rsa.PrivateKey // the merchant API private key
	APIv3Key    string          // 32 bytes: decrypts notifications and bill resources
	PublicKeyID string          // id of WeChat Pay's platform public key (PUB_KEY_ID_…)
	PublicKey   *rsa.PublicKey  // WeChat Pay's platform public key
	NotifyURL   string          // where WeChat Pay posts payment and refund notifications
	APIBase     string          // DefaultAPIBase unless set (tests and the demo: the fake)
	// Transport carries the requests (http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Timeout bounds one call (10 s when zero).
	Timeout time.Duration
}

// String names the merchant without its keys.
func (c Config) String() string { return "pay.Config{mchid:" + c.MchID + "}" }

// LogValue names the merchant without its keys.
func (c Config) LogValue() slog.Value { return slog.GroupValue(slog.String("mchid", c.MchID)) }

// Client calls WeChat Pay for one merchant. It is safe for concurrent use.
type Client struct {
	cfg     Config
	api     *core.Client // signs requests, verifies answers
	files   *core.Client // signs requests; bill files carry no signature, their hash is checked instead
	jsapi   jsapi.JsapiApiService
	refunds refunddomestic.RefundsApiService
	notify  *notify.Handler
}

// New checks cfg and builds a Client. It makes no call.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	base, err := url.Parse(cfg.APIBase)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || strings.Trim(base.Path, "/") != "" {
		return nil, fmt.Errorf("wechat pay: API base %q must be scheme://host[:port] with no path", cfg.APIBase)
	}
	switch {
	case cfg.AppID == "" || cfg.MchID == "" || cfg.SerialNo == "" || cfg.PublicKeyID == "" || cfg.NotifyURL == "":
		return nil, errors.New("wechat pay: appid, mchid, serial number, public key id and notify URL are all required")
	case cfg.PrivateKey == nil || cfg.PublicKey == nil:
		return nil, errors.New("wechat pay: the merchant private key and WeChat Pay's public key are required")
	case len(cfg.APIv3Key) != 32:
		return nil, errors.New("wechat pay: the APIv3 key must be 32 bytes")
	}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: rebase{base: base, next: cfg.Transport}}
	auth := option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.SerialNo, cfg.PrivateKey, cfg.PublicKeyID, cfg.PublicKey)
	api, err := core.NewClient(ctx, auth, option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat pay: %w", err)
	}
	files, err := core.NewClient(ctx, option.WithMerchantCredential(cfg.MchID, cfg.SerialNo, cfg.PrivateKey),
		option.WithoutValidator(), option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat pay: %w", err)
	}
	h, err := notify.NewRSANotifyHandler(cfg.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *cfg.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("wechat pay: %w", err)
	}
	return &Client{cfg: cfg, api: api, files: files,
		jsapi: jsapi.JsapiApiService{Client: api}, refunds: refunddomestic.RefundsApiService{Client: api}, notify: h}, nil
}

// rebase sends every request to base instead of the host the SDK names.
// The signature covers only the path and query, which stay as they are.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (r rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = r.base.Scheme, r.base.Host, r.base.Host
	return r.next.RoundTrip(out)
}

// PrepayIn is a JSAPI order.
type PrepayIn struct {
	OutTradeNo  string    // ours, stable across retries (at most 32 of [0-9A-Za-z_-*])
	Description string    // what is bought, as the payer's bill shows it (at most 127 bytes)
	AmountFen   int64     // > 0
	OpenID      string    // the payer, of Config.AppID
	ExpiresAt   time.Time // time_expire: WeChat Pay refuses payment after it
	Attach      string    // returned as is in queries and notifications (at most 128 bytes)
}

// Prepay creates (or, for the same out_trade_no and the same order, finds
// again) the prepay order and answers its prepay_id.
func (c *Client) Prepay(ctx context.Context, in PrepayIn) (string, error) {
	if in.AmountFen <= 0 {
		return "", &Error{Code: "PARAM_ERROR", Message: fmt.Sprintf("amount %d fen: must be positive", in.AmountFen)}
	}
	req := jsapi.PrepayRequest{
		Appid: core.String(c.cfg.AppID), Mchid: core.String(c.cfg.MchID),
		Description: core.String(in.Description), OutTradeNo: core.String(in.OutTradeNo),
		NotifyUrl: core.String(c.cfg.NotifyURL),
		Amount:    &jsapi.Amount{Total: core.Int64(in.AmountFen), Currency: core.String("CNY")},
		Payer:     &jsapi.Payer{Openid: core.String(in.OpenID)},
	}
	if !in.ExpiresAt.IsZero() {
		req.TimeExpire = core.Time(in.ExpiresAt.Truncate(time.Second))
	}
	if in.Attach != "" {
		req.Attach = core.String(in.Attach)
	}
	resp, _, err := c.jsapi.Prepay(ctx, req)
	if err != nil {
		return "", apiError(err)
	}
	return *resp.PrepayId, nil
}

// PayParams are the parameters the mini-program passes to wx.requestPayment.
type PayParams struct {
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// SignPayment signs the wx.requestPayment parameters of prepayID at now:
// paySign is SHA256-with-RSA over the appid, time stamp, nonce and package
// lines, with the merchant key.
func (c *Client) SignPayment(ctx context.Context, prepayID string, now time.Time) (PayParams, error) {
	p := PayParams{TimeStamp: fmt.Sprint(now.Unix()), NonceStr: nonce(), Package: "prepay_id=" + prepayID, SignType: "RSA"}
	sig, err := c.api.Sign(ctx, c.cfg.AppID+"\n"+p.TimeStamp+"\n"+p.NonceStr+"\n"+p.Package+"\n")
	if err != nil {
		return PayParams{}, fmt.Errorf("wechat pay: sign payment: %w", err)
	}
	p.PaySign = sig.Signature
	return p, nil
}

// Query answers the transaction of outTradeNo (ErrOrderNotExist when
// WeChat Pay has none).
func (c *Client) Query(ctx context.Context, outTradeNo string) (Transaction, error) {
	resp, _, err := c.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	if err != nil {
		return Transaction{}, apiError(err)
	}
	raw, err := resp.MarshalJSON()
	if err != nil {
		return Transaction{}, err
	}
	return parseTransaction(raw)
}

// Close closes the unpaid order outTradeNo, so it can no longer be paid.
// A paid order answers ErrOrderPaid.
func (c *Client) Close(ctx context.Context, outTradeNo string) error {
	_, err := c.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	return apiError(err)
}

// RefundIn is a refund of part or all of a paid order.
type RefundIn struct {
	OutTradeNo  string
	OutRefundNo string // ours, stable per refund, so a retry cannot refund twice
	Reason      string // shown to the payer (at most 80 bytes)
	RefundFen   int64  // > 0, at most what is left of TotalFen
	TotalFen    int64  // the order's amount
}

// Refund asks for a refund (the same OutRefundNo again answers the same
// refund). Its status is usually PROCESSING; the result comes by
// notification or QueryRefund.
func (c *Client) Refund(ctx context.Context, in RefundIn) (Refund, error) {
	if in.RefundFen <= 0 || in.RefundFen > in.TotalFen {
		return Refund{}, &Error{Code: "PARAM_ERROR", Message: fmt.Sprintf("refund %d of %d fen: out of range", in.RefundFen, in.TotalFen)}
	}
	req := refunddomestic.CreateRequest{
		OutTradeNo: core.String(in.OutTradeNo), OutRefundNo: core.String(in.OutRefundNo),
		NotifyUrl: core.String(c.cfg.NotifyURL),
		Amount:    &refunddomestic.AmountReq{Refund: core.Int64(in.RefundFen), Total: core.Int64(in.TotalFen), Currency: core.String("CNY")},
	}
	if in.Reason != "" {
		req.Reason = core.String(in.Reason)
	}
	resp, _, err := c.refunds.Create(ctx, req)
	if err != nil {
		return Refund{}, apiError(err)
	}
	return refundOf(resp), nil
}

// QueryRefund answers the refund outRefundNo.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (Refund, error) {
	resp, _, err := c.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		return Refund{}, apiError(err)
	}
	return refundOf(resp), nil
}

func refundOf(r *refunddomestic.Refund) Refund {
	out := Refund{RefundID: str(r.RefundId), OutRefundNo: str(r.OutRefundNo), OutTradeNo: str(r.OutTradeNo),
		TransactionID: str(r.TransactionId)}
	if r.Status != nil {
		out.Status = string(*r.Status)
	}
	if r.Amount != nil && r.Amount.Refund != nil {
		out.RefundFen = *r.Amount.Refund
	}
	if r.SuccessTime != nil {
		out.SuccessTime = *r.SuccessTime
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
