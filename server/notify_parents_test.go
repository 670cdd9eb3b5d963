package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kehou/jobs"
	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat"
)

// withTemplates points s at a fake WeChat whose client has the templates
// the environment env configures (as serve builds them).
func withTemplates(t *testing.T, s *testServer, env map[string]string) *wechat.Fake {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	f := wechat.NewFake(wxAppID, wxSecret)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s.api.WeChat = wechat.New(wechat.Config{AppID: wxAppID, Secret: wxSecret, BaseURL: srv.URL, Templates: cfg.WeChatTemplates})
	return f
}

// deliver runs the outbox worker's delivery once.
func deliver(t *testing.T, s *testServer) {
	t.Helper()
	if _, err := jobs.DeliverOutbox(context.Background(), s.db, s.api.WeChat, time.Now(), 100); err != nil {
		t.Fatal(err)
	}
}

func inbox(t *testing.T, s *testServer, tok, query string) []map[string]any {
	t.Helper()
	r := s.do("GET", "/api/v1/me/notifications"+query, tok, nil).want(t, 200).JSON()
	var out []map[string]any
	for _, it := range r["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestParentConsentAndInbox(t *testing.T) {
	w := newEnrollWorld(t)
	f := withTemplates(t, w.testServer, map[string]string{
		"WECHAT_TEMPLATE_ENROLLMENT": "tplE", "WECHAT_TEMPLATE_WAITLIST": "tplW", "WECHAT_TEMPLATE_ABSENCE": "tplA"})
	// Three guardians of one child: A taps, B accepted the template, C did not.
	a := w.parent
	b := modelstest.Parent(t, w.db, w.student.ID)
	c := modelstest.Parent(t, w.db, w.student.ID)
	for _, p := range []models.User{a, b, c} {
		f.LoginCode(*p.OpenID, "")
	}
	aTok, bTok, cTok := w.parentTok, w.token(b), w.token(c)

	t.Run("templatesListed", func(t *testing.T) {
		r := w.do("GET", "/api/v1/wechat/templates", aTok, nil).want(t, 200)
		body := string(r.Body)
		for _, want := range []string{
			`{"kind":"enrollment_confirmed","template_id":"tplE","page":"pages/enrollment/detail","subscription":"one_time"}`,
			`{"kind":"absence","template_id":"tplA","page":"pages/attendance/index","subscription":"long_term"}`,
		} {
			if !strings.Contains(body, want) {
				t.Fatalf("no %s in %s", want, body)
			}
		}
		if strings.Contains(body, "lottery_result") {
			t.Fatalf("an unconfigured kind listed: %s", body)
		}
	})
	t.Run("templatesStaff403", func(t *testing.T) {
		w.do("GET", "/api/v1/wechat/templates", w.adminTok, nil).want(t, 403)
	})
	t.Run("unknownTemplate422", func(t *testing.T) {
		r := w.do("POST", "/api/v1/me/subscriptions", aTok, map[string]any{"accepted": []string{"tplNope"}}).want(t, 422, "invalid_field")
		if !strings.Contains(string(r.Body), "tplNope") {
			t.Fatalf("answer %s", r.Body)
		}
	})
	t.Run("sameTemplateTwice422", func(t *testing.T) {
		w.do("POST", "/api/v1/me/subscriptions", aTok, map[string]any{"accepted": []string{"tplE"}, "rejected": []string{"tplE"}}).want(t, 422, "invalid_field")
	})
	t.Run("emptyReport422", func(t *testing.T) {
		w.do("POST", "/api/v1/me/subscriptions", aTok, map[string]any{}).want(t, 422, "invalid_field")
	})

	// The phones' answers: A and B accept the enrollment template once (at
	// WeChat and reported to kehou), B turns on absence alerts, C rejects.
	for _, p := range []struct {
		u   models.User
		tok string
	}{{a, aTok}, {b, bTok}} {
		f.Subscribe(*p.u.OpenID, "tplE", false, true)
		r := w.do("POST", "/api/v1/me/subscriptions", p.tok, map[string]any{"accepted": []string{"tplE"}}).want(t, 200)
		if !strings.Contains(string(r.Body), `{"template_id":"tplE","one_time":1,"long_term":false}`) {
			t.Fatalf("answer %s", r.Body)
		}
	}
	f.Subscribe(*b.OpenID, "tplA", true, true)
	r := w.do("POST", "/api/v1/me/subscriptions", bTok, map[string]any{"accepted": []string{"tplA"}}).want(t, 200)
	if !strings.Contains(string(r.Body), `"long_term":true`) {
		t.Fatalf("answer %s", r.Body)
	}
	w.do("POST", "/api/v1/me/subscriptions", cTok, map[string]any{"rejected": []string{"tplE"}}).want(t, 200)

	// A enrolls the child: A saw the answer on screen, B and C did not.
	oid := w.publishedOffering(t, nil)
	e := w.do("POST", "/api/v1/enrollments", aTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201).JSON()
	eid := int64(e["id"].(float64))
	deliver(t, w.testServer)

	t.Run("onlyTheOthersGetWeChat", func(t *testing.T) {
		ms := f.Messages()
		if len(ms) != 1 || ms[0].ToUser != *b.OpenID {
			t.Fatalf("WeChat got %+v, want one message to B", ms)
		}
		if want := fmt.Sprintf("pages/enrollment/detail?id=%d&student_id=%d", eid, w.student.ID); ms[0].Page != want {
			t.Fatalf("page %q, want %q", ms[0].Page, want)
		}
	})
	t.Run("tapperKeepsConsent", func(t *testing.T) {
		if n, _ := f.ConsentLeft(*a.OpenID, "tplE"); n != 1 {
			t.Fatalf("A's acceptance at WeChat: %d, want 1 (unspent)", n)
		}
		var n int
		w.db.R.Raw("SELECT one_time FROM wechat_consents WHERE user_id = ? AND template_id = 'tplE'", a.ID).Scan(&n)
		if n != 1 {
			t.Fatalf("A's acceptance at kehou: %d, want 1", n)
		}
	})
	t.Run("inboxDeliveries", func(t *testing.T) {
		for _, tc := range []struct {
			tok, delivery string
		}{{aTok, models.DeliveryInApp}, {bTok, models.DeliverySent}, {cTok, models.DeliveryNoConsent}} {
			items := inbox(t, w.testServer, tc.tok, "")
			if len(items) != 1 {
				t.Fatalf("inbox %v", items)
			}
			m := items[0]
			if m["kind"] != models.NotifyEnrollmentConfirmed || m["delivery"] != tc.delivery || m["title"] != "报名结果" ||
				!strings.Contains(m["body"].(string), "篮球社") || jnum(m, "student_id") != w.student.ID ||
				!strings.HasSuffix(m["created_at"].(string), "+08:00") {
				t.Fatalf("inbox item %v, want delivery %s", m, tc.delivery)
			}
		}
	})
	t.Run("inboxPaged", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", aTok, map[string]any{"student_id": w.student.ID,
			"offering_id": w.publishedOffering(t, func(m map[string]any) { m["name"] = "美术社"; m["weekdays"] = []int{1} })}).want(t, 201)
		first := w.do("GET", "/api/v1/me/notifications?limit=1", bTok, nil).want(t, 200).JSON()
		items := first["items"].([]any)
		if len(items) != 1 || !strings.Contains(items[0].(map[string]any)["body"].(string), "美术社") || first["next_cursor"] == "" {
			t.Fatalf("first page %v", first)
		}
		second := w.do("GET", "/api/v1/me/notifications?limit=1&cursor="+first["next_cursor"].(string), bTok, nil).want(t, 200).JSON()
		items = second["items"].([]any)
		if len(items) != 1 || !strings.Contains(items[0].(map[string]any)["body"].(string), "篮球社") || second["next_cursor"] != "" {
			t.Fatalf("second page %v", second)
		}
	})
	t.Run("inboxStaff403", func(t *testing.T) {
		w.do("GET", "/api/v1/me/notifications", w.adminTok, nil).want(t, 403)
	})
}

// TestSeedQueuesNothingUndeliverable: the demo's simulated weeks notify
// families with no WeChat; their messages stay in the inboxes, never sent,
// and nothing is left pending for the worker to try (a demo's first real
// message must not wait behind hundreds).
func TestSeedQueuesNothingUndeliverable(t *testing.T) {
	url := modelstest.URL(t)
	if err := run(context.Background(), []string{"seed", "demo", "--small"}, envFor("DATABASE_URL", url), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	db := modelstest.Open(t, url)
	var all, pending int64
	db.R.Raw("SELECT COUNT(*) FROM outbox").Scan(&all)
	db.R.Raw("SELECT COUNT(*) FROM outbox WHERE status = ?", models.OutboxPending).Scan(&pending)
	if all == 0 || pending != 0 {
		t.Fatalf("%d messages, %d pending: want some, none pending", all, pending)
	}
}
