// Package wechat is kehou's WeChat adapter: a small client of the WeChat
// server API (jscode2session, stable_token, getuserphonenumber,
// subscribe/send) with a configurable base URL, and a fake server that speaks
// the same protocol for tests and the dev demo. It uses no SDK: the common
// ones hard-code WeChat's host, race on access tokens or lack stable_token.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// DefaultTimeout bounds one call to WeChat.
const DefaultTimeout = 5 * time.Second

// RefreshEarly is how long before its expiry a cached access token is
// replaced, so callers never present one that expires in flight.
const RefreshEarly = 5 * time.Minute

// Config configures a Client.
type Config struct {
	AppID   string
	Secret  string
	BaseURL string // default DefaultBaseURL
	// HTTPClient defaults to a client with DefaultTimeout.
	HTTPClient *http.Client
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// Templates maps a notification kind to its subscribe-message template.
	Templates map[string]Template
	// MiniProgramState is "formal" (default), "trial" or "developer".
	MiniProgramState string
}

// Client calls the WeChat server API. It is safe for concurrent use; the
// access token is cached and refreshed by one caller at a time.
type Client struct {
	appID, secret, base string
	hc                  *http.Client
	now                 func() time.Time
	templates           map[string]Template
	state               string

	mu     sync.Mutex
	token  string
	expiry time.Time
	flight *tokenFlight
}

// tokenFlight is one in-flight stable_token call that every caller waiting
// for a token shares.
type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

// New builds a Client.
func New(cfg Config) *Client {
	c := &Client{appID: cfg.AppID, secret: cfg.Secret, base: strings.TrimRight(cfg.BaseURL, "/"),
		hc: cfg.HTTPClient, now: cfg.Now, templates: cfg.Templates, state: cfg.MiniProgramState}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultTimeout}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.state == "" {
		c.state = "formal"
	}
	return c
}

// Session is the answer of jscode2session. SessionKey is a secret of the
// user's session with WeChat: never log it, never send it to a client.
type Session struct {
	OpenID     string
	UnionID    string
	SessionKey string `json:"-"`
}

// String hides the session key from fmt.
func (s Session) String() string { return "wechat.Session{openid:" + s.OpenID + "}" }

// LogValue hides the session key from slog.
func (s Session) LogValue() slog.Value { return slog.GroupValue(slog.String("openid", s.OpenID)) }

// Code2Session exchanges a wx.login code for the user's openid (and unionid).
func (c *Client) Code2Session(ctx context.Context, code string) (Session, error) {
	q := url.Values{"appid": {c.appID}, "secret": {c.secret}, "js_code": {code},
		"grant_type": {"authorization_code"}}
	var out struct {
		apiStatus
		OpenID     string `json:"openid"`
		UnionID    string `json:"unionid"`
		SessionKey string `json:"session_key"`
	}
	if err := c.call(ctx, http.MethodGet, "/sns/jscode2session?"+q.Encode(), nil, &out); err != nil {
		return Session{}, err
	}
	if err := out.err(); err != nil {
		return Session{}, err
	}
	if out.OpenID == "" {
		return Session{}, fmt.Errorf("%w: jscode2session answered no openid", ErrUnavailable)
	}
	return Session{OpenID: out.OpenID, UnionID: out.UnionID, SessionKey: out.SessionKey}, nil
}

// Phone is the verified phone number of a user.
type Phone struct {
	PhoneNumber     string     `json:"phoneNumber"`     // with country code for non-mainland numbers
	PurePhoneNumber string     `json:"purePhoneNumber"` // without country code
	CountryCode     flexString `json:"countryCode"`
}

// Number is the phone as kehou stores it: the bare number for mainland China
// (country code 86 or none), else "+<country code><number>".
func (p Phone) Number() string {
	cc := strings.TrimPrefix(string(p.CountryCode), "+")
	if cc == "" || cc == "86" {
		return p.PurePhoneNumber
	}
	return "+" + cc + p.PurePhoneNumber
}

// String hides the number from fmt.
func (p Phone) String() string { return "wechat.Phone{…}" }

// LogValue masks the number for slog.
func (p Phone) LogValue() slog.Value {
	n := p.PurePhoneNumber
	if len(n) > 4 {
		n = "****" + n[len(n)-4:]
	}
	return slog.StringValue(n)
}

// flexString decodes a JSON string or number (WeChat sends countryCode as
// either) into a string.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// PhoneNumber exchanges a getPhoneNumber code for the user's phone number.
func (c *Client) PhoneNumber(ctx context.Context, code string) (Phone, error) {
	var out struct {
		apiStatus
		PhoneInfo Phone `json:"phone_info"`
	}
	body := map[string]string{"code": code}
	if err := c.callWithToken(ctx, "/wxa/business/getuserphonenumber", body, &out); err != nil {
		return Phone{}, err
	}
	if out.PhoneInfo.PurePhoneNumber == "" {
		return Phone{}, fmt.Errorf("%w: getuserphonenumber answered no number", ErrUnavailable)
	}
	return out.PhoneInfo, nil
}

// AccessToken returns a valid access token, fetching one when the cache is
// empty or the token is within RefreshEarly of its expiry. Concurrent callers
// share one stable_token call.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	return c.accessToken(ctx, "")
}

// accessToken returns a token; when stale is non-empty the caller was told
// stale is invalid, so a new one is forced unless another caller already
// replaced it.
func (c *Client) accessToken(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	fresh := c.token != "" && c.now().Before(c.expiry.Add(-RefreshEarly))
	if fresh && c.token != stale {
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	f := c.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		c.flight = f
		go c.refresh(f, stale)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// refresh runs the stable_token call(s) for every waiter of f. It runs on
// its own context so that one impatient caller cannot fail the others. When
// a token was rejected (stale), it first asks in normal mode: if another
// instance already force-refreshed, WeChat hands out that new token, and
// forcing again would invalidate it under the other instance's feet (a
// ping-pong between instances, and force_refresh is limited per day). Only
// when WeChat still hands out the rejected token is a refresh forced.
func (c *Client) refresh(f *tokenFlight, stale string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.hc.Timeout+time.Second)
	defer cancel()
	tok, ttl, err := c.stableToken(ctx, false)
	if err == nil && stale != "" && tok == stale {
		tok, ttl, err = c.stableToken(ctx, true)
	}
	c.mu.Lock()
	if err == nil {
		c.token = tok
		c.expiry = c.now().Add(ttl)
	}
	f.token, f.err = c.token, err
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

// stableToken calls cgi-bin/stable_token.
func (c *Client) stableToken(ctx context.Context, force bool) (string, time.Duration, error) {
	var out struct {
		apiStatus
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	body := map[string]any{"grant_type": "client_credential", "appid": c.appID, "secret": c.secret,
		"force_refresh": force}
	err := c.call(ctx, http.MethodPost, "/cgi-bin/stable_token", body, &out)
	if err == nil {
		err = out.err()
	}
	if err == nil && out.AccessToken == "" {
		err = fmt.Errorf("%w: stable_token answered no token", ErrUnavailable)
	}
	return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, err
}

// callWithToken POSTs body to an access-token API. When WeChat says the
// token is invalid or expired (40001, 42001), the token is refreshed once and
// the call retried once.
func (c *Client) callWithToken(ctx context.Context, path string, body any, out interface{ err() error }) error {
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if err := c.call(ctx, http.MethodPost, path+"?access_token="+url.QueryEscape(tok), body, out); err != nil {
			return err
		}
		err := out.err()
		if attempt == 0 && (IsCode(err, CodeInvalidToken) || IsCode(err, CodeTokenExpired)) {
			if tok, err = c.accessToken(ctx, tok); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// apiStatus is the errcode/errmsg every WeChat answer may carry.
type apiStatus struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (s apiStatus) err() error {
	if s.ErrCode == 0 {
		return nil
	}
	return &Error{Code: s.ErrCode, Msg: s.ErrMsg}
}

// call sends one request and decodes the JSON answer into out. Transport
// failures and non-200 answers are ErrUnavailable; the URL (which may carry
// the secret or a token) never appears in the error.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%w: bad request", ErrUnavailable)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	op := path
	if i := strings.IndexByte(op, '?'); i >= 0 {
		op = op[:i]
	}
	res, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL: it carries the secret or a token
		}
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s: read: %v", ErrUnavailable, op, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s: HTTP %s", ErrUnavailable, op, strconv.Itoa(res.StatusCode))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s: bad JSON", ErrUnavailable, op)
	}
	return nil
}
