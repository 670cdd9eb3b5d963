package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat"
)

const (
	wxAppID  = "wxtestapp"
	wxSecret = "test-wechat-app-secret"
)

// withFakeWeChat points s at a fake WeChat server over real HTTP.
func withFakeWeChat(t *testing.T, s *testServer) (*wechat.Fake, string) {
	t.Helper()
	f := wechat.NewFake(wxAppID, wxSecret)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s.api.WeChat = wechat.New(wechat.Config{AppID: wxAppID, Secret: wxSecret, BaseURL: srv.URL})
	return f, srv.URL
}

// wxFakeControl calls the fake's control API over HTTP.
func wxFakeControl(t *testing.T, base, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wxLogin logs a parent in with a fresh code for openid and returns the
// access token and user id.
func wxLogin(t *testing.T, s *testServer, f *wechat.Fake, openid string) (string, int64) {
	t.Helper()
	r := s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(openid, "")}).want(t, 200).JSON()
	return r["access_token"].(string), int64(r["user"].(map[string]any)["id"].(float64))
}

func wxChildIDs(t *testing.T, v any) []int64 {
	t.Helper()
	var out []int64
	items, ok := v.([]any)
	if !ok && v != nil {
		t.Fatalf("children is %T", v)
	}
	for _, it := range items {
		out = append(out, int64(it.(map[string]any)["id"].(float64)))
	}
	return out
}

func TestWeChatJourney(t *testing.T) {
	s := newTestServer(t)
	f, fakeURL := withFakeWeChat(t, s)
	region := modelstest.Region(t, s.db, nil)
	schoolA, schoolB := modelstest.School(t, s.db, region.ID), modelstest.School(t, s.db, region.ID)
	const phone = "13812345678"
	sib1 := modelstest.Student(t, s.db, schoolA.ID, 3, phone)
	sib2 := modelstest.Student(t, s.db, schoolB.ID, 5, phone) // a sibling in another school
	modelstest.Student(t, s.db, schoolA.ID, 3, "13900000000")
	orphan := modelstest.Student(t, s.db, schoolA.ID, 2, "")
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, schoolA.ID, 0)

	var bodies [][]byte
	keep := func(r resp) resp { bodies = append(bodies, r.Body); return r }

	// 1. wx.login code, minted over the fake's control API.
	code := wxFakeControl(t, fakeURL, "/_fake/login_code", map[string]string{"openid": "oJourney", "unionid": "uJourney"})["code"].(string)
	login := keep(s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": code}).want(t, 200)).JSON()
	at, _ := login["access_token"].(string)
	user, _ := login["user"].(map[string]any)
	if at == "" || login["refresh_token"] == "" || user["role"] != "parent" {
		t.Fatalf("login answer %s", bodies[0])
	}
	uid := int64(user["id"].(float64))
	t.Run("codeReused422", func(t *testing.T) {
		keep(s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": code}).want(t, 422, "invalid_code"))
	})
	t.Run("secondLoginSameUser", func(t *testing.T) {
		r := keep(s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("oJourney", "uJourney")}).want(t, 200)).JSON()
		if int64(r["user"].(map[string]any)["id"].(float64)) != uid {
			t.Fatal("second login created another user")
		}
		var n int64
		s.db.R.Raw("SELECT COUNT(*) FROM users WHERE openid = ? AND unionid = ?", "oJourney", "uJourney").Scan(&n)
		if n != 1 {
			t.Fatalf("%d users for the openid", n)
		}
	})

	// 2. The phone links both siblings.
	pcode := wxFakeControl(t, fakeURL, "/_fake/phone_code", map[string]string{"phone": phone})["code"].(string)
	ph := keep(s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": pcode}).want(t, 200)).JSON()
	if ph["phone_masked"] != "138****5678" {
		t.Fatalf("phone answer %v", ph)
	}
	if got := wxChildIDs(t, ph["children"]); fmt.Sprint(got) != fmt.Sprint([]int64{sib1.ID, sib2.ID}) {
		t.Fatalf("children %v, want %d and %d", got, sib1.ID, sib2.ID)
	}

	// 3. GET /me shows the children with school, grade and class.
	me := keep(s.do("GET", "/api/v1/me", at, nil).want(t, 200)).JSON()
	kids := me["children"].([]any)
	if len(kids) != 2 || me["phone_masked"] != "138****5678" {
		t.Fatalf("me %v", me)
	}
	k0 := kids[0].(map[string]any)
	if k0["school_id"].(float64) != float64(schoolA.ID) || k0["school_name"] != schoolA.Name ||
		k0["grade"].(float64) != 3 || k0["class"] != "1班" || k0["name"] != sib1.Name {
		t.Fatalf("child %v", k0)
	}

	// 4. Fallback: a binding code from the school admin.
	bc := keep(s.do("POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", orphan.ID), s.token(admin), nil).want(t, 201)).JSON()
	bcode := bc["code"].(string)
	bind := map[string]any{"school_id": schoolA.ID, "student_no": orphan.StudentNo, "name": orphan.Name, "binding_code": strings.ToLower(bcode)}
	child := keep(s.do("POST", "/api/v1/me/children", at, bind).want(t, 201)).JSON()
	if child["id"].(float64) != float64(orphan.ID) {
		t.Fatalf("bound %v", child)
	}
	me = keep(s.do("GET", "/api/v1/me", at, nil).want(t, 200)).JSON()
	if got := wxChildIDs(t, me["children"]); len(got) != 3 {
		t.Fatalf("children after binding %v", got)
	}
	t.Run("bindingCodeSingleUse", func(t *testing.T) {
		keep(s.do("POST", "/api/v1/me/children", at, bind).want(t, 422, "binding_failed"))
	})

	// 5. Nothing secret in any answer or log line.
	t.Run("noSecretsInBodiesOrLogs", func(t *testing.T) {
		tok, err := s.api.WeChat.AccessToken(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		secrets := append([]string{phone, tok, wxSecret, "session_key"}, f.SessionKeys()...)
		if len(f.SessionKeys()) < 2 {
			t.Fatal("no session keys recorded")
		}
		logs := s.logs.String()
		for _, sec := range secrets {
			for i, b := range bodies {
				if bytes.Contains(b, []byte(sec)) {
					t.Errorf("answer %d contains %q: %s", i, sec, b)
				}
			}
			if strings.Contains(logs, sec) {
				t.Errorf("logs contain %q", sec)
			}
		}
		for _, tokName := range []string{"access_token", "refresh_token"} {
			if v, _ := login[tokName].(string); strings.Contains(logs, v) {
				t.Errorf("logs contain the %s", tokName)
			}
		}
		var stored string
		s.db.R.Raw("SELECT phone FROM users WHERE id = ?", uid).Scan(&stored)
		if stored != phone {
			t.Errorf("phone stored as %q", stored)
		}
	})
}

func TestWeChatPhoneBinding(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	a := modelstest.Student(t, s.db, school.ID, 1, "13700000001")
	b := modelstest.Student(t, s.db, school.ID, 4, "13700000001")

	t.Run("siblingsBothLinked", func(t *testing.T) {
		at, _ := wxLogin(t, s, f, "oSib")
		r := s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": f.PhoneCode("13700000001")}).want(t, 200).JSON()
		if got := wxChildIDs(t, r["children"]); fmt.Sprint(got) != fmt.Sprint([]int64{a.ID, b.ID}) {
			t.Fatalf("children %v", got)
		}
	})
	t.Run("noMatchEmptyList", func(t *testing.T) {
		at, _ := wxLogin(t, s, f, "oNoMatch")
		r := s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": f.PhoneCode("13799999999")}).want(t, 200)
		if !bytes.Contains(r.Body, []byte(`"children":[]`)) || r.JSON()["phone_masked"] != "137****9999" {
			t.Fatalf("answer %s", r.Body)
		}
	})
	t.Run("numericCountryCode", func(t *testing.T) {
		f.NumericCountryCode = true
		defer func() { f.NumericCountryCode = false }()
		at, _ := wxLogin(t, s, f, "oNumeric")
		r := s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": f.PhoneCode("13700000001")}).want(t, 200).JSON()
		if len(wxChildIDs(t, r["children"])) != 2 {
			t.Fatalf("answer %v", r)
		}
	})
	t.Run("staffForbidden403", func(t *testing.T) {
		staff := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
		s.do("POST", "/api/v1/me/phone", s.token(staff), map[string]string{"code": f.PhoneCode("13700000001")}).want(t, 403)
	})
	t.Run("missingCode422", func(t *testing.T) {
		at, _ := wxLogin(t, s, f, "oMissing")
		s.do("POST", "/api/v1/me/phone", at, map[string]string{}).want(t, 422, "invalid_field")
	})
}

func TestWeChatErrorsMapped(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	for _, tc := range []struct {
		name       string
		errcode    int
		status     int
		code       string
		retryAfter string
	}{
		{"busy503", wechat.CodeBusy, 503, "wechat_busy", "3"},
		{"invalidCode422", wechat.CodeInvalidCode, 422, "invalid_code", ""},
		{"codeUsed422", wechat.CodeCodeUsed, 422, "invalid_code", ""},
		{"rateLimited429", wechat.CodeRateLimited, 429, "rate_limited", "60"},
		{"riskyUser403", wechat.CodeRiskyUser, 403, "risky_user", ""},
		{"badAppID503", wechat.CodeInvalidAppID, 503, "wechat_unavailable", "5"},
		{"badSecret503", wechat.CodeInvalidSecret, 503, "wechat_unavailable", "5"},
	} {
		t.Run("login/"+tc.name, func(t *testing.T) {
			f.Fail(wechat.EndpointSession, tc.errcode)
			r := s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("", "")}).want(t, tc.status, tc.code)
			if got := r.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
	if !strings.Contains(s.logs.String(), `"errcode":40125`) || strings.Contains(s.logs.String(), wxSecret) {
		t.Fatal("misconfiguration not logged with its errcode, or logged with the secret")
	}

	at, _ := wxLogin(t, s, f, "oErrors")
	for _, tc := range []struct {
		name    string
		errcode int
		status  int
		code    string
	}{
		{"busy503", wechat.CodeBusy, 503, "wechat_busy"},
		{"invalidCode422", wechat.CodeInvalidCode, 422, "invalid_code"},
		{"rateLimited429", wechat.CodeRateLimited, 429, "rate_limited"},
	} {
		t.Run("phone/"+tc.name, func(t *testing.T) {
			f.Fail(wechat.EndpointPhone, tc.errcode)
			s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": f.PhoneCode("13700000002")}).want(t, tc.status, tc.code)
		})
	}
	t.Run("phone/tokenBusy503", func(t *testing.T) {
		f.InvalidateTokens()
		f.Fail(wechat.EndpointToken, wechat.CodeBusy)
		s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": f.PhoneCode("13700000002")}).want(t, 503)
		// The next call refreshes and works.
		s.do("POST", "/api/v1/me/phone", at, map[string]string{"code": f.PhoneCode("13700000002")}).want(t, 200)
	})
	t.Run("unreachable503", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		s2 := newTestServerOn(t, s.db, s.cfg)
		s2.api.WeChat = wechat.New(wechat.Config{AppID: wxAppID, Secret: wxSecret, BaseURL: dead.URL})
		r := s2.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": "anything"}).want(t, 503, "wechat_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
	t.Run("notConfigured503", func(t *testing.T) {
		s2 := newTestServerOn(t, s.db, s.cfg)
		s2.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": "anything"}).want(t, 503, "wechat_not_configured")
	})
	t.Run("emptyCode422", func(t *testing.T) {
		s2 := newTestServerOn(t, s.db, s.cfg)
		s2.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": " "}).want(t, 422, "invalid_field")
		s2.do("POST", "/api/v1/auth/wechat", "", `{"code":`).want(t, 400)
	})
}

// TestWeChatLoginNotLimitedPerAddress: 120 parents behind one carrier NAT
// (one client address) log in with WeChat within a minute, and every one
// gets in: a WeChat login shares no budget with password guessing, and
// failed password logins from the same address do not block it either.
func TestWeChatLoginNotLimitedPerAddress(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	for i := range s.cfg.LoginRateLimit + 1 {
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": fmt.Sprint("guess", i), "password": "wrong-pass1"})
	}
	for i := range 120 {
		r := s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(fmt.Sprint("oNAT", i), "")})
		if r.Status != 200 {
			t.Fatalf("WeChat login %d from one address: %d %s", i+1, r.Status, r.Body)
		}
	}
}

func TestWeChatBOLA(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	childA := modelstest.Student(t, s.db, school.ID, 3, "13600000001")

	atA, _ := wxLogin(t, s, f, "oParentA")
	s.do("POST", "/api/v1/me/phone", atA, map[string]string{"code": f.PhoneCode("13600000001")}).want(t, 200)
	atB, _ := wxLogin(t, s, f, "oParentB")

	t.Run("meShowsNoForeignChild", func(t *testing.T) {
		me := s.do("GET", "/api/v1/me", atB, nil).want(t, 200)
		if bytes.Contains(me.Body, []byte(childA.Name)) || len(wxChildIDs(t, me.JSON()["children"])) != 0 {
			t.Fatalf("parent B sees %s", me.Body)
		}
	})
	t.Run("otherPhoneLinksNothing", func(t *testing.T) {
		r := s.do("POST", "/api/v1/me/phone", atB, map[string]string{"code": f.PhoneCode("13600000002")}).want(t, 200)
		if len(wxChildIDs(t, r.JSON()["children"])) != 0 {
			t.Fatalf("answer %s", r.Body)
		}
	})
	t.Run("cannotIssueBindingCode403", func(t *testing.T) {
		s.do("POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", childA.ID), atB, nil).want(t, 403)
	})
	t.Run("cannotBindWithoutCode422", func(t *testing.T) {
		s.do("POST", "/api/v1/me/children", atB, map[string]any{"school_id": school.ID, "student_no": childA.StudentNo,
			"name": childA.Name, "binding_code": "AAAAAAAA"}).want(t, 422, "binding_failed")
	})
	t.Run("cannotListRoster403", func(t *testing.T) {
		s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", school.ID), atB, nil).want(t, 403)
	})
	t.Run("parentAStillSeesOwn", func(t *testing.T) {
		if got := wxChildIDs(t, s.do("GET", "/api/v1/me", atA, nil).want(t, 200).JSON()["children"]); len(got) != 1 || got[0] != childA.ID {
			t.Fatalf("parent A children %v", got)
		}
	})
}
