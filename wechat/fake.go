package wechat

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
)

// The endpoints of the fake, as named by Fail and Calls.
const (
	EndpointSession = "jscode2session"
	EndpointToken   = "stable_token"
	// EndpointTokenForced counts the stable_token calls with force_refresh.
	EndpointTokenForced = "stable_token_forced"
	EndpointPhone       = "getuserphonenumber"
	EndpointSend        = "subscribe_send"
)

// Fake is a WeChat server for tests and the dev demo. It speaks the real
// protocol of the four endpoints kehou uses, with WeChat's error codes:
// single-use codes that expire after CodeTTL, stable_token semantics (the
// same token until its last 5 minutes, then a new one while the old stays
// valid until it expires; force_refresh replaces it at once), and a record of
// sent messages. Tests and the demo drive it through its methods or through
// the control API under /_fake/.
type Fake struct {
	AppID    string
	Secret   string
	CodeTTL  time.Duration
	TokenTTL time.Duration
	// NumericCountryCode makes getuserphonenumber send countryCode as a
	// JSON number, as WeChat sometimes does, instead of a string.
	NumericCountryCode bool

	mu         sync.Mutex
	offset     time.Duration
	loginCodes map[string]*fakeCode
	phoneCodes map[string]*fakeCode
	openids    map[string]bool
	tokens     map[string]time.Time // every valid token → its expiry
	current    string
	inject     map[string][]int
	calls      map[string]int
	consent    map[string]*fakeConsent
	sent       []SentMessage
	keys       []string
	mux        *http.ServeMux
}

type fakeCode struct {
	openid, unionid string
	phone, cc       string
	expires         time.Time
	used            bool
}

// fakeConsent is what one user allowed one template: one-time acceptances
// not yet spent, and a long-term subscription.
type fakeConsent struct {
	oneTime  int
	longTerm bool
}

// SentMessage is a subscribe message the fake accepted.
type SentMessage struct {
	ToUser           string            `json:"touser"`
	TemplateID       string            `json:"template_id"`
	Page             string            `json:"page"`
	Data             map[string]string `json:"data"`
	MiniProgramState string            `json:"miniprogram_state"`
	Lang             string            `json:"lang"`
}

// NewFake builds a fake WeChat server for one mini-program.
func NewFake(appID, secret string) *Fake {
	f := &Fake{AppID: appID, Secret: secret, CodeTTL: 5 * time.Minute, TokenTTL: 7200 * time.Second,
		loginCodes: map[string]*fakeCode{}, phoneCodes: map[string]*fakeCode{}, openids: map[string]bool{},
		tokens: map[string]time.Time{}, inject: map[string][]int{}, calls: map[string]int{},
		consent: map[string]*fakeConsent{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /sns/jscode2session", f.jscode2session)
	m.HandleFunc("POST /cgi-bin/stable_token", f.stableToken)
	m.HandleFunc("POST /wxa/business/getuserphonenumber", f.phoneNumber)
	m.HandleFunc("POST /cgi-bin/message/subscribe/send", f.subscribeSend)
	f.control(m)
	f.mux = m
	return f
}

// ServeHTTP serves the WeChat API and the control API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

func (f *Fake) now() time.Time { return time.Now().Add(f.offset) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// begin counts a call of endpoint and pops an injected errcode, if any.
func (f *Fake) begin(endpoint string) (int, bool) {
	f.calls[endpoint]++
	q := f.inject[endpoint]
	if len(q) == 0 {
		return 0, false
	}
	f.inject[endpoint] = q[1:]
	return q[0], true
}

var fakeMessages = map[int]string{
	CodeBusy: "system error", CodeInvalidCode: "invalid code", CodeCodeUsed: "code been used",
	CodeRateLimited: "api minute-quota reach limit", CodeRiskyUser: "high risk user",
	CodeInvalidAppID: "invalid appid", CodeInvalidSecret: "invalid appsecret",
	CodeInvalidToken: "invalid credential, access_token is invalid or not latest",
	CodeTokenExpired: "access_token expired", CodeInvalidOpenID: "invalid openid",
	CodeBadTemplateID: "invalid template_id", CodeBadData: "argument invalid! data.thing1.value invalid",
	CodeNoConsent: "user refuse to accept the msg", 40002: "invalid grant_type",
}

// writeErr answers errcode the WeChat way: HTTP 200 with errcode and errmsg.
func writeErr(w http.ResponseWriter, code int) {
	msg := fakeMessages[code]
	if msg == "" {
		msg = "error"
	}
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg + " rid: " + randHex(4)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) jscode2session(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code, ok := f.begin(EndpointSession); ok {
		writeErr(w, code)
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("appid") != f.AppID:
		writeErr(w, CodeInvalidAppID)
		return
	case q.Get("secret") != f.Secret:
		writeErr(w, CodeInvalidSecret)
		return
	case q.Get("grant_type") != "authorization_code":
		writeErr(w, 40002)
		return
	}
	c, errcode := f.spendCode(f.loginCodes, q.Get("js_code"))
	if errcode != 0 {
		writeErr(w, errcode)
		return
	}
	key := randHex(12)
	f.keys = append(f.keys, key)
	out := map[string]any{"openid": c.openid, "session_key": key}
	if c.unionid != "" {
		out["unionid"] = c.unionid
	}
	writeJSON(w, out)
}

func (f *Fake) stableToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code, ok := f.begin(EndpointToken); ok {
		writeErr(w, code)
		return
	}
	var in struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.GrantType != "client_credential" {
		writeErr(w, 40002)
		return
	}
	if in.AppID != f.AppID {
		writeErr(w, CodeInvalidAppID)
		return
	}
	if in.Secret != f.Secret {
		writeErr(w, CodeInvalidSecret)
		return
	}
	now := f.now()
	exp, ok := f.tokens[f.current]
	switch {
	case in.ForceRefresh:
		f.calls[EndpointTokenForced]++
		// Force mode invalidates the previous token at once.
		delete(f.tokens, f.current)
		f.current = ""
	case ok && exp.Sub(now) > 5*time.Minute:
		writeJSON(w, map[string]any{"access_token": f.current, "expires_in": int(exp.Sub(now).Seconds())})
		return
	}
	// A new token; an old one that was not force-replaced stays valid
	// until its own expiry (WeChat's overlap).
	for t, e := range f.tokens {
		if !now.Before(e) {
			delete(f.tokens, t)
		}
	}
	f.current = "AT_" + randHex(24)
	f.tokens[f.current] = now.Add(f.TokenTTL)
	writeJSON(w, map[string]any{"access_token": f.current, "expires_in": int(f.TokenTTL.Seconds())})
}

// checkToken answers 40001/42001 for a bad access token and reports whether
// the call may proceed. Expired tokens are kept (until rotation) so that
// they answer 42001, not 40001.
func (f *Fake) checkToken(w http.ResponseWriter, r *http.Request) bool {
	exp, ok := f.tokens[r.URL.Query().Get("access_token")]
	switch {
	case !ok:
		writeErr(w, CodeInvalidToken)
		return false
	case !f.now().Before(exp):
		writeErr(w, CodeTokenExpired)
		return false
	}
	return true
}

func (f *Fake) phoneNumber(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code, ok := f.begin(EndpointPhone); ok {
		writeErr(w, code)
		return
	}
	if !f.checkToken(w, r) {
		return
	}
	var in struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	c, errcode := f.spendCode(f.phoneCodes, in.Code)
	if errcode != 0 {
		writeErr(w, errcode)
		return
	}
	var cc any = c.cc
	if f.NumericCountryCode {
		cc = json.Number(c.cc)
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "phone_info": map[string]any{
		"phoneNumber": c.phone, "purePhoneNumber": c.phone, "countryCode": cc,
		"watermark": map[string]any{"timestamp": f.now().Unix(), "appid": f.AppID}}})
}

// fakeLimits are the value limits the fake enforces (WeChat's), so a client
// that does not truncate gets 47003 as it would in production.
var fakeLimits = map[string]int{"thing": 20, "phrase": 5, "number": 32, "letter": 32, "symbol": 5,
	"character_string": 32, "phone_number": 17, "car_number": 8, "name": 20}

func (f *Fake) subscribeSend(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code, ok := f.begin(EndpointSend); ok {
		writeErr(w, code)
		return
	}
	if !f.checkToken(w, r) {
		return
	}
	var in subscribeBody
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, 47001)
		return
	}
	switch {
	case !f.openids[in.ToUser]:
		writeErr(w, CodeInvalidOpenID)
		return
	case in.TemplateID == "":
		writeErr(w, CodeBadTemplateID)
		return
	}
	data := make(map[string]string, len(in.Data))
	for k, v := range in.Data {
		if limit, ok := fakeLimits[keyType(k)]; ok && utf8.RuneCountInString(v.Value) > limit {
			writeErr(w, CodeBadData)
			return
		}
		data[k] = v.Value
	}
	// As WeChat: a long-term subscription allows every message; otherwise
	// each one-time acceptance allows one, and none left is 43101.
	c := f.consent[in.ToUser+"|"+in.TemplateID]
	switch {
	case c != nil && c.longTerm:
	case c != nil && c.oneTime > 0:
		c.oneTime--
	default:
		writeErr(w, CodeNoConsent)
		return
	}
	f.sent = append(f.sent, SentMessage{ToUser: in.ToUser, TemplateID: in.TemplateID, Page: in.Page,
		Data: data, MiniProgramState: in.MiniProgramState, Lang: in.Lang})
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": len(f.sent)})
}

// spendCode uses up code from codes as WeChat does: an unknown or expired
// code is 40029, a used one 40163; otherwise it is marked used. The caller
// holds f's lock.
func (f *Fake) spendCode(codes map[string]*fakeCode, code string) (*fakeCode, int) {
	c := codes[code]
	switch {
	case c == nil || f.now().After(c.expires):
		return nil, CodeInvalidCode
	case c.used:
		return nil, CodeCodeUsed
	}
	c.used = true
	return c, 0
}
