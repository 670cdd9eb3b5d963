// Tests of the WeChat client against the fake, one per endpoint and
// error code; past 400 lines because each of WeChat's error codes is its
// own case.

package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testAppID  = "wxtestapp"
	testSecret = "s3cr3t-app-secret"
)

// newPair starts a fake over real HTTP and a client pointed at it.
func newPair(t *testing.T) (*Fake, *Client, *httptest.Server) {
	t.Helper()
	f := NewFake(testAppID, testSecret)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, New(Config{AppID: testAppID, Secret: testSecret, BaseURL: srv.URL,
		Templates: map[string]Template{"enrollment_confirmed": {ID: "TPL1", Page: "pages/index",
			Fields: map[string]string{"offering": "thing1", "status": "phrase2"}}}}), srv
}

func TestCode2Session(t *testing.T) {
	ctx := context.Background()
	f, c, srv := newPair(t)

	t.Run("ok", func(t *testing.T) {
		s, err := c.Code2Session(ctx, f.LoginCode("oA", "uA"))
		if err != nil || s.OpenID != "oA" || s.UnionID != "uA" || s.SessionKey == "" {
			t.Fatalf("got %+v, %v", s, err)
		}
		if strings.Contains(s.String(), s.SessionKey) {
			t.Fatal("String() shows the session key")
		}
	})
	t.Run("ErrCodeUsed", func(t *testing.T) {
		code := f.LoginCode("oB", "")
		if _, err := c.Code2Session(ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Code2Session(ctx, code); !errors.Is(err, ErrCodeUsed) {
			t.Fatalf("second use: %v", err)
		}
	})
	t.Run("ErrInvalidCodeUnknown", func(t *testing.T) {
		if _, err := c.Code2Session(ctx, "nope"); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrInvalidCodeExpired", func(t *testing.T) {
		code := f.LoginCode("oC", "")
		f.Advance(5*time.Minute + time.Second)
		if _, err := c.Code2Session(ctx, code); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("got %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		code int
		want error
	}{
		{"ErrBusy", CodeBusy, ErrBusy},
		{"ErrRateLimited", CodeRateLimited, ErrRateLimited},
		{"ErrRiskyUser", CodeRiskyUser, ErrRiskyUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.Fail(EndpointSession, tc.code)
			if _, err := c.Code2Session(ctx, f.LoginCode("oD", "")); !errors.Is(err, tc.want) {
				t.Fatalf("got %v", err)
			}
		})
	}
	t.Run("ErrInvalidSecret", func(t *testing.T) {
		bad := New(Config{AppID: testAppID, Secret: "wrong", BaseURL: srv.URL})
		_, err := bad.Code2Session(ctx, f.LoginCode("oE", ""))
		if !errors.Is(err, ErrInvalidSecret) || !IsMisconfigured(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrInvalidAppID", func(t *testing.T) {
		bad := New(Config{AppID: "wxother", Secret: testSecret, BaseURL: srv.URL})
		if _, err := bad.Code2Session(ctx, f.LoginCode("oF", "")); !errors.Is(err, ErrInvalidAppID) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrUnavailableHidesSecret", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		bad := New(Config{AppID: testAppID, Secret: testSecret, BaseURL: dead.URL})
		_, err := bad.Code2Session(ctx, "somecode")
		if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), testSecret) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAccessTokenRefreshedOnceUnder50Callers(t *testing.T) {
	f, c, _ := newPair(t)
	var wg sync.WaitGroup
	var failed atomic.Int32
	toks := make([]string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.AccessToken(context.Background())
			if err != nil {
				failed.Add(1)
			}
			toks[i] = tok
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d callers failed", failed.Load())
	}
	if n := f.Calls(EndpointToken); n != 1 {
		t.Fatalf("stable_token called %d times, want 1", n)
	}
	for _, tok := range toks {
		if tok != toks[0] || tok == "" {
			t.Fatalf("callers got different tokens: %q vs %q", tok, toks[0])
		}
	}
}

func TestAccessTokenRefreshOnceAndRetryOn40001(t *testing.T) {
	ctx := context.Background()
	f, c, _ := newPair(t)
	if _, err := c.PhoneNumber(ctx, f.PhoneCode("13800001111")); err != nil {
		t.Fatal(err)
	}
	f.InvalidateTokens() // someone else force-refreshed: our cached token answers 40001

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.PhoneNumber(ctx, f.PhoneCode("13800001111"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Calls(EndpointToken); n != 2 {
		t.Fatalf("stable_token called %d times, want 2 (first fetch + one forced refresh)", n)
	}

	t.Run("retriedOnlyOnce", func(t *testing.T) {
		f.Fail(EndpointPhone, CodeInvalidToken)
		f.Fail(EndpointPhone, CodeInvalidToken)
		before := f.Calls(EndpointPhone)
		_, err := c.PhoneNumber(ctx, f.PhoneCode("13800001111"))
		if !IsCode(err, CodeInvalidToken) {
			t.Fatalf("got %v", err)
		}
		if n := f.Calls(EndpointPhone) - before; n != 2 {
			t.Fatalf("getuserphonenumber called %d times, want 2", n)
		}
	})
	t.Run("42001Refreshes", func(t *testing.T) {
		f.Fail(EndpointPhone, CodeTokenExpired)
		if _, err := c.PhoneNumber(ctx, f.PhoneCode("13800001111")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAccessTokenRefreshedBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	f := NewFake(testAppID, testSecret)
	srv := httptest.NewServer(f)
	defer srv.Close()
	var mu sync.Mutex
	clock := time.Now()
	c := New(Config{AppID: testAppID, Secret: testSecret, BaseURL: srv.URL,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock(); f.Advance(d) }

	t1, err := c.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Hour)
	if t2, _ := c.AccessToken(ctx); t2 != t1 || f.Calls(EndpointToken) != 1 {
		t.Fatalf("token refreshed while fresh (calls %d)", f.Calls(EndpointToken))
	}
	advance(time.Hour - 4*time.Minute) // 4 minutes left: inside RefreshEarly
	t3, err := c.AccessToken(ctx)
	if err != nil || t3 == t1 || f.Calls(EndpointToken) != 2 {
		t.Fatalf("not refreshed early: %v, calls %d", err, f.Calls(EndpointToken))
	}
	// The old token still works during WeChat's overlap.
	f.mu.Lock()
	_, oldValid := f.tokens[t1]
	f.mu.Unlock()
	if !oldValid {
		t.Fatal("old token invalidated by a normal rotation")
	}
}

func TestPhoneNumberCountryCode(t *testing.T) {
	for _, numeric := range []bool{false, true} {
		name := map[bool]string{false: "string", true: "number"}[numeric]
		t.Run(name, func(t *testing.T) {
			f, c, _ := newPair(t)
			f.NumericCountryCode = numeric
			p, err := c.PhoneNumber(context.Background(), f.PhoneCode("13912345678"))
			if err != nil || p.Number() != "13912345678" || string(p.CountryCode) != "86" {
				t.Fatalf("got %+v, %v", p, err)
			}
			if strings.Contains(p.String(), "13912345678") {
				t.Fatal("String() shows the number")
			}
		})
	}
	t.Run("foreignNumberKeepsCountryCode", func(t *testing.T) {
		p := Phone{PurePhoneNumber: "91234567", CountryCode: "852"}
		if p.Number() != "+85291234567" {
			t.Fatalf("got %s", p.Number())
		}
	})
	t.Run("usedCode", func(t *testing.T) {
		f, c, _ := newPair(t)
		code := f.PhoneCode("13912345678")
		_, _ = c.PhoneNumber(context.Background(), code)
		if _, err := c.PhoneNumber(context.Background(), code); !errors.Is(err, ErrCodeUsed) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSendSubscribe(t *testing.T) {
	ctx := context.Background()
	f, c, _ := newPair(t)
	f.LoginCode("oP", "")                  // the fake knows oP as a user of the app
	f.Subscribe("oP", "TPL1", false, true) // and oP accepted TPL1 once
	long := strings.Repeat("篮", 25)

	t.Run("truncatedAndRecorded", func(t *testing.T) {
		err := c.Notify(ctx, "oP", "enrollment_confirmed", map[string]string{"offering": long, "status": "已报名成功啦", "ignored": "x"})
		if err != nil {
			t.Fatal(err)
		}
		ms := f.Messages()
		if len(ms) != 1 {
			t.Fatalf("%d messages", len(ms))
		}
		m := ms[0]
		if m.TemplateID != "TPL1" || m.ToUser != "oP" || m.Page != "pages/index" || m.Lang != "zh_CN" || m.MiniProgramState != "formal" {
			t.Fatalf("message %+v", m)
		}
		if m.Data["thing1"] != strings.Repeat("篮", 19)+"…" || m.Data["phrase2"] != "已报名成功" || len(m.Data) != 2 {
			t.Fatalf("data %v", m.Data)
		}
	})
	t.Run("untruncatedRejected47003", func(t *testing.T) {
		// The fake enforces WeChat's limits, so the truncation above is real.
		var out apiStatus
		body := subscribeBody{ToUser: "oP", TemplateID: "TPL1", Data: map[string]dataValue{"thing1": {Value: long}}}
		if err := c.callWithToken(ctx, "/cgi-bin/message/subscribe/send", body, &out); !IsCode(err, CodeBadData) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrNoConsent", func(t *testing.T) {
		// The one acceptance given above is spent: WeChat answers 43101.
		err := c.Notify(ctx, "oP", "enrollment_confirmed", map[string]string{"offering": "x"})
		if !errors.Is(err, ErrNoConsent) || !IsPermanent(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrNoTemplate", func(t *testing.T) {
		if err := c.Notify(ctx, "oP", "lottery_result", nil); !errors.Is(err, ErrNoTemplate) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknownOpenID40003", func(t *testing.T) {
		if err := c.Notify(ctx, "oNobody", "enrollment_confirmed", nil); !IsCode(err, CodeInvalidOpenID) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct{ name, key, in, want string }{
		{"thingChinese20Marked", "thing1", strings.Repeat("课", 21), strings.Repeat("课", 19) + "…"},
		{"thingExactly20Kept", "thing1", strings.Repeat("课", 20), strings.Repeat("课", 20)},
		{"thingShortKept", "thing2", "篮球社", "篮球社"},
		{"thingMixedNeverSplitsRune", "thing3", strings.Repeat("a", 18) + "课后服务", strings.Repeat("a", 18) + "课…"},
		{"phrase5", "phrase1", "已候补转正", "已候补转正"},
		{"phraseCut", "phrase12", "报名成功了吗", "报名成功了"},
		{"nameChinese10", "name1", "欧阳一二三四五六七八九", "欧阳一二三四五六七…"},
		{"nameLatin20", "name2", strings.Repeat("x", 25), strings.Repeat("x", 19) + "…"},
		{"number32", "number1", strings.Repeat("1", 40), strings.Repeat("1", 32)},
		{"letter32", "letter1", strings.Repeat("a", 33), strings.Repeat("a", 32)},
		{"symbol5", "symbol1", "%%%%%%", "%%%%%"},
		{"characterString32", "character_string4", strings.Repeat("A1", 20), strings.Repeat("A1", 16)},
		{"timeAsIs", "time3", "2026年09月01日 16:30", "2026年09月01日 16:30"},
		{"dateAsIs", "date1", "2026-09-01", "2026-09-01"},
		{"amountAsIs", "amount1", "¥1234567890.00元", "¥1234567890.00元"},
		{"invalidUTF8Replaced", "thing1", "ab\xffcd", "ab\uFFFDcd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Truncate(tc.key, tc.in); got != tc.want {
				t.Fatalf("Truncate(%q, %q) = %q, want %q", tc.key, tc.in, got, tc.want)
			}
		})
	}
}

func TestFakeControlAPI(t *testing.T) {
	f, c, srv := newPair(t)
	post := func(path, body string) *http.Response {
		t.Helper()
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post("/_fake/login_code", `{"openid":"oCtl","unionid":"uCtl"}`)
	var lc struct{ Code, OpenID string }
	decodeBody(t, res, &lc)
	s, err := c.Code2Session(context.Background(), lc.Code)
	if err != nil || s.OpenID != "oCtl" || lc.OpenID != "oCtl" {
		t.Fatalf("login via control code: %+v %v", s, err)
	}
	res = post("/_fake/fail", `{"endpoint":"jscode2session","errcode":-1}`)
	res.Body.Close()
	if _, err := c.Code2Session(context.Background(), f.LoginCode("", "")); !errors.Is(err, ErrBusy) {
		t.Fatalf("injected busy: %v", err)
	}
	if err := c.Notify(context.Background(), "oCtl", "enrollment_confirmed", nil); !errors.Is(err, ErrNoConsent) {
		t.Fatalf("no consent given: %v", err)
	}
	res = post("/_fake/subscribe", `{"openid":"oCtl","template_id":"TPL1","result":"accept"}`)
	res.Body.Close()
	if err := c.Notify(context.Background(), "oCtl", "enrollment_confirmed", nil); err != nil {
		t.Fatalf("one acceptance via control: %v", err)
	}
	if err := c.Notify(context.Background(), "oCtl", "enrollment_confirmed", nil); !errors.Is(err, ErrNoConsent) {
		t.Fatalf("the acceptance was spent, yet: %v", err)
	}
	var pc struct{ Code string }
	decodeBody(t, post("/_fake/phone_code", `{"phone":"13700000000"}`), &pc)
	if p, err := c.PhoneNumber(context.Background(), pc.Code); err != nil || p.Number() != "13700000000" {
		t.Fatalf("phone via control: %v", err)
	}
}

func decodeBody(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestAccessTokenTwoInstancesNoPingPong: when instance B force-refreshes, A's
// cached token answers 40001; A must pick up B's new token without forcing
// again (which would invalidate B's, and so on).
func TestAccessTokenTwoInstancesNoPingPong(t *testing.T) {
	ctx := context.Background()
	f, a, srv := newPair(t)
	b := New(Config{AppID: testAppID, Secret: testSecret, BaseURL: srv.URL})
	t1, _ := a.AccessToken(ctx)
	if t2, _ := b.AccessToken(ctx); t2 != t1 {
		t.Fatal("stable_token gave two instances different tokens")
	}
	if _, err := b.accessToken(ctx, t1); err != nil { // B was told t1 is bad
		t.Fatal(err)
	}
	if f.Calls(EndpointTokenForced) != 1 {
		t.Fatalf("forced %d times", f.Calls(EndpointTokenForced))
	}
	if _, err := a.PhoneNumber(ctx, f.PhoneCode("13800002222")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PhoneNumber(ctx, f.PhoneCode("13800002222")); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls(EndpointTokenForced); n != 1 {
		t.Fatalf("forced %d times, want 1", n)
	}
}

func TestSecretsHiddenFromLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "session", Session{OpenID: "oX", SessionKey: "KEY-123456"}, "phone", Phone{PurePhoneNumber: "13812345678", CountryCode: "86"})
	b, _ := json.Marshal(Session{OpenID: "oX", SessionKey: "KEY-123456"})
	out := buf.String() + string(b) + fmt.Sprintf("%v %+v", Session{SessionKey: "KEY-123456"}, Phone{PurePhoneNumber: "13812345678"})
	if strings.Contains(out, "KEY-123456") || strings.Contains(out, "13812345678") || !strings.Contains(out, "oX") {
		t.Fatalf("leaked: %s", out)
	}
}
