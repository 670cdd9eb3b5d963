package wechat

import (
	"encoding/json"
	"net/http"
	"time"
)

// This file is the fake's control surface: the methods tests call, and the
// same over HTTP under /_fake/ for the demo and for tests in other packages.

// LoginCode mints a wx.login code for openid (a random one when empty) and
// returns the code.
func (f *Fake) LoginCode(openid, unionid string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if openid == "" {
		openid = "o" + randHex(12)
	}
	code := randHex(16)
	f.loginCodes[code] = &fakeCode{openid: openid, unionid: unionid, expires: f.now().Add(f.CodeTTL)}
	f.openids[openid] = true
	return code
}

// PhoneCode mints a getPhoneNumber code proving phone (country code 86).
func (f *Fake) PhoneCode(phone string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	code := randHex(16)
	f.phoneCodes[code] = &fakeCode{phone: phone, cc: "86", expires: f.now().Add(f.CodeTTL)}
	return code
}

// Fail makes the next call of endpoint answer errcode (calls queue up).
func (f *Fake) Fail(endpoint string, errcode int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inject[endpoint] = append(f.inject[endpoint], errcode)
}

// Calls counts the calls endpoint received.
func (f *Fake) Calls(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[endpoint]
}

// Messages returns the subscribe messages accepted so far.
func (f *Fake) Messages() []SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentMessage(nil), f.sent...)
}

// SessionKeys returns the session keys issued so far, so tests can check
// that none leaks into an answer or a log.
func (f *Fake) SessionKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

// Subscribe records what openid answered to wx.requestSubscribeMessage for
// templateID, as WeChat counts it: an accepted one-time template allows one
// more message; a long-term one allows every message until it is rejected.
// A rejected one-time template leaves the acceptances already counted.
func (f *Fake) Subscribe(openid, templateID string, longTerm, accept bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := openid + "|" + templateID
	c := f.consent[key]
	if c == nil {
		c = &fakeConsent{}
		f.consent[key] = c
	}
	switch {
	case longTerm:
		c.longTerm = accept
	case accept:
		c.oneTime++
	}
}

// ConsentLeft returns the one-time acceptances openid has left for
// templateID, and whether it holds a long-term subscription.
func (f *Fake) ConsentLeft(openid, templateID string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.consent[openid+"|"+templateID]; c != nil {
		return c.oneTime, c.longTerm
	}
	return 0, false
}

// Advance moves the fake's clock forward (codes and tokens expire).
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offset += d
}

// InvalidateTokens makes every issued access token invalid (40001), as when
// another process force-refreshed the token.
func (f *Fake) InvalidateTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]time.Time{}
	f.current = ""
}

// control serves the test/demo API under /_fake/.
func (f *Fake) control(m *http.ServeMux) {
	decode := func(w http.ResponseWriter, r *http.Request, v any) bool {
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return false
		}
		return true
	}
	m.HandleFunc("POST /_fake/login_code", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ OpenID, UnionID string }
		if r.ContentLength != 0 && !decode(w, r, &in) {
			return
		}
		code := f.LoginCode(in.OpenID, in.UnionID)
		f.mu.Lock()
		openid := f.loginCodes[code].openid
		f.mu.Unlock()
		writeJSON(w, map[string]string{"code": code, "openid": openid})
	})
	m.HandleFunc("POST /_fake/phone_code", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Phone string }
		if !decode(w, r, &in) {
			return
		}
		if in.Phone == "" {
			http.Error(w, `{"error":"phone required"}`, http.StatusBadRequest)
			return
		}
		writeJSON(w, map[string]string{"code": f.PhoneCode(in.Phone)})
	})
	m.HandleFunc("GET /_fake/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"items": f.Messages()})
	})
	m.HandleFunc("POST /_fake/subscribe", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OpenID       string `json:"openid"`
			TemplateID   string `json:"template_id"`
			Subscription string `json:"subscription"` // one_time (default) or long_term
			Result       string `json:"result"`       // accept or reject
		}
		if !decode(w, r, &in) {
			return
		}
		if in.OpenID == "" || in.TemplateID == "" || (in.Result != "accept" && in.Result != "reject") {
			http.Error(w, `{"error":"openid, template_id and result (accept|reject) required"}`, http.StatusBadRequest)
			return
		}
		f.Subscribe(in.OpenID, in.TemplateID, in.Subscription == "long_term", in.Result == "accept")
		left, long := f.ConsentLeft(in.OpenID, in.TemplateID)
		writeJSON(w, map[string]any{"one_time_left": left, "long_term": long})
	})
	m.HandleFunc("POST /_fake/fail", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Endpoint string `json:"endpoint"`
			ErrCode  int    `json:"errcode"`
		}
		if !decode(w, r, &in) {
			return
		}
		f.Fail(in.Endpoint, in.ErrCode)
		writeJSON(w, map[string]bool{"ok": true})
	})
	m.HandleFunc("GET /_fake/calls", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		out := make(map[string]int, len(f.calls))
		for k, v := range f.calls {
			out[k] = v
		}
		f.mu.Unlock()
		writeJSON(w, out)
	})
}
