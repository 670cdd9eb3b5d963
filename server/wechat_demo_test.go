package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// wxHTTP sends a JSON request over real HTTP and decodes the answer.
func wxHTTP(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestWeChatFakeDevDemo runs kehou as a newcomer would with WECHAT_FAKE=1
// and walks the README's curl journey over real HTTP, including a
// notification delivered by the outbox worker to the fake.
func TestWeChatFakeDevDemo(t *testing.T) {
	dbURL := modelstest.URL(t)
	db := modelstest.Open(t, dbURL)
	region := modelstest.Region(t, db, nil)
	school := modelstest.School(t, db, region.ID)
	const phone = "13812345678"
	st := modelstest.Student(t, db, school.ID, 3, phone)

	apiAddr, fakeAddr := freeAddr(t), freeAddr(t)
	env := envOf(map[string]string{"LISTEN_ADDR": apiAddr, "DATABASE_URL": dbURL, "JWT_SECRET": testSecret,
		"WECHAT_FAKE": "1", "WECHAT_FAKE_ADDR": fakeAddr, "WECHAT_TEMPLATE_ENROLLMENT": "tplEnroll", "LOG_FORMAT": "json"})
	logs := &bytes.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, nil, env, io.Discard, &syncWriter{w: logs}) }()
	defer func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("kehou did not stop")
		}
		if strings.Contains(logs.String(), phone) {
			t.Error("logs contain the phone number")
		}
	}()
	api, fake := "http://"+apiAddr, "http://"+fakeAddr
	for deadline := time.Now().Add(10 * time.Second); ; {
		if res, err := http.Get(api + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("kehou did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	_, lc := wxHTTP(t, "POST", fake+"/_fake/login_code", "", map[string]string{"openid": "oDemoParent"})
	status, login := wxHTTP(t, "POST", api+"/api/v1/auth/wechat", "", map[string]any{"code": lc["code"]})
	at, _ := login["access_token"].(string)
	if status != 200 || at == "" {
		t.Fatalf("login %d %v", status, login)
	}
	_, pc := wxHTTP(t, "POST", fake+"/_fake/phone_code", "", map[string]string{"phone": phone})
	status, ph := wxHTTP(t, "POST", api+"/api/v1/me/phone", at, map[string]any{"code": pc["code"]})
	if status != 200 || len(ph["children"].([]any)) != 1 {
		t.Fatalf("phone %d %v", status, ph)
	}
	if status, me := wxHTTP(t, "GET", api+"/api/v1/me", at, nil); status != 200 || len(me["children"].([]any)) != 1 {
		t.Fatalf("me %d %v", status, me)
	}

	// The parent accepts the enrollment template once when the app asks
	// (wx.requestSubscribeMessage: WeChat counts it, here the fake), and the
	// app reports the answer to kehou.
	wxHTTP(t, "POST", fake+"/_fake/subscribe", "", map[string]string{"openid": "oDemoParent", "template_id": "tplEnroll", "result": "accept"})
	if status, c := wxHTTP(t, "POST", api+"/api/v1/me/subscriptions", at, map[string]any{"accepted": []string{"tplEnroll"}}); status != 200 {
		t.Fatalf("subscriptions %d %v", status, c)
	}

	// An event notifies the family; the worker started by serve delivers it.
	if err := db.Tx(ctx, func(tx *gorm.DB) error {
		return models.NotifyGuardians(tx, models.NotifyEnrollmentConfirmed, st.ID, "demo:enrollment:1",
			map[string]string{"student": st.Name, "offering": "篮球社"})
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, msgs := wxHTTP(t, "GET", fake+"/_fake/messages", "", nil)
		if items, _ := msgs["items"].([]any); len(items) == 1 {
			m := items[0].(map[string]any)
			if m["touser"] != "oDemoParent" || m["template_id"] != "tplEnroll" {
				t.Fatalf("message %v", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outbox worker delivered nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWeChatFakeCommand(t *testing.T) {
	addr := freeAddr(t)
	out := &syncWriter{w: &bytes.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"wechat-fake"}, envOf(map[string]string{"WECHAT_FAKE_ADDR": addr}), out, io.Discard)
	}()
	var lc map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Post("http://"+addr+"/_fake/login_code", "application/json", strings.NewReader(`{"openid":"o1"}`))
		if err == nil {
			_ = json.NewDecoder(res.Body).Decode(&lc)
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fake did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := http.Get("http://" + addr + "/sns/jscode2session?appid=" + demoAppID + "&secret=" + demoSecret +
		"&grant_type=authorization_code&js_code=" + lc["code"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	_ = json.NewDecoder(res.Body).Decode(&s)
	res.Body.Close()
	if s["openid"] != "o1" {
		t.Fatalf("jscode2session %v", s)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Run("refusedInProduction", func(t *testing.T) {
		err := run(context.Background(), []string{"wechat-fake"}, envOf(map[string]string{"KEHOU_ENV": "production",
			"JWT_SECRET": testSecret, "WECHAT_APPID": "a", "WECHAT_SECRET": "b"}), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "development") {
			t.Fatalf("err = %v", err)
		}
	})
}
