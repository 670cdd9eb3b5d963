package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat/pay"
)

// staffLogin logs staff user u in over HTTP (setting a password of its own
// if the account asks for one first) and answers its access token.
func (c *procClient) staffLogin(addr string, u models.User) string {
	c.t.Helper()
	st, out := c.call(addr, "POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password})
	if st == 403 && out["change_token"] != nil {
		out = c.must(200, addr, "POST", "/api/v1/auth/password", "", map[string]string{"change_token": out["change_token"].(string),
			"new_password": modelstest.Password + "x1"})
	} else if st != 200 {
		c.t.Fatalf("login %s: %d %v", *u.Username, st, out)
	}
	return out["access_token"].(string)
}

// TestSecretsNeverLogged runs a whole money walk through a real kehou
// process logging at debug level — a parent logs in with WeChat and binds
// the phone, refreshes its token, enrolls in a priced club, pays through
// WeChat Pay (and a forged notification is refused), the school refunds
// part, the refund worker sends it, the reconciliation runs — then greps
// every log line and every answer: the APIv3 key, the merchant's private
// key, the WeChat secret and the JWT secret appear nowhere; tokens, the
// phone and the openid never in a log, and in answers only where they are
// the answer (a login gives its tokens).
func TestSecretsNeverLogged(t *testing.T) {
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	r := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, r.ID)
	const phone = "13912345670"
	st := modelstest.Student(t, db, sc.ID, 3, phone)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0)
	platform := modelstest.Staff(t, db, models.RolePlatformAdmin, 0, 0)
	term := modelstest.Term(t, db, admin, sc.ID, 2)
	club := modelstest.Offering(t, db, admin, term, func(o *models.NewOffering) { o.FeeFen, o.Billing = 30000, models.BillingTerm })

	addr := freeAddr(t)
	m := newPayMerchant(t, addr)
	jwtSecret := randomHexT(32)
	p := startKehouProc(t, addr, append(m.env, "DATABASE_URL="+url, "JWT_SECRET="+jwtSecret, "LOG_LEVEL=debug", "LOG_FORMAT=json"))
	c := newProcClient(t)

	// The parent, from the mini-program.
	openid := "o-secret-" + randomHexT(6)
	tok := c.must(200, addr, "POST", "/api/v1/auth/wechat", "", map[string]string{"code": m.wx.LoginCode(openid, "")})
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	c.must(200, addr, "POST", "/api/v1/me/phone", access, map[string]string{"code": m.wx.PhoneCode(phone)})
	tok = c.must(200, addr, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
	access2, refresh2 := tok["access_token"].(string), tok["refresh_token"].(string)
	enr := c.must(201, addr, "POST", "/api/v1/enrollments", access2, map[string]any{"student_id": st.ID, "offering_id": club.ID})
	order := int64(enr["order_id"].(float64))
	params := c.must(200, addr, "POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", order), access2, nil)
	var pp pay.PayParams
	b, _ := json.Marshal(params)
	_ = json.Unmarshal(b, &pp)
	if _, err := m.fake.RequestPayment(pp); err != nil {
		t.Fatal(err)
	}
	m.fake.Wait()
	m.fake.SetNotifyMode(pay.NotifyForged)
	if err := m.fake.Resend(models.OutTradeNo(order, int64(params["amount_fen"].(float64)))); err != nil {
		t.Fatal(err)
	}
	m.fake.Wait()
	m.fake.SetNotifyMode(pay.NotifyNormal)
	if o := c.must(200, addr, "GET", fmt.Sprintf("/api/v1/orders/%d", order), access2, nil); o["status"] != "paid" {
		t.Fatalf("after payment the order is %v", o)
	}
	c.must(401, addr, "GET", "/api/v1/me", access2+"x", nil)

	// The school refunds part; the refund worker sends it; the day is
	// reconciled.
	school := c.staffLogin(addr, admin)
	c.must(200, addr, "POST", fmt.Sprintf("/api/v1/orders/%d/refunds", order), school,
		map[string]any{"amount_fen": 1000, "reason": "家长申请"}, "Idempotency-Key", "refund-1")
	boss := c.staffLogin(addr, platform)
	c.must(200, addr, "POST", "/api/v1/jobs/pay_refunds/run", boss, nil)
	m.fake.Wait()
	c.must(200, addr, "POST", "/api/v1/jobs/reconcile/run", boss, nil)
	c.must(200, addr, "GET", "/api/v1/pay/reconciliation", boss, nil)
	p.stop()

	logs := p.out.String()
	if !strings.Contains(logs, `"level":"DEBUG"`) || !strings.Contains(logs, "wechat pay notification") {
		t.Fatalf("the walk did not log at debug level through the notify path:\n%s", logs)
	}
	var n int64
	db.R.Raw("SELECT COUNT(*) FROM pay_refunds WHERE status = ?", models.PayRefundSuccess).Scan(&n)
	if n != 1 {
		t.Fatalf("the refund did not go through WeChat Pay (%d succeeded)", n)
	}
	everywhere := map[string]string{"the APIv3 key": m.apiv3, "the WeChat secret": m.wxSecret, "the JWT secret": jwtSecret}
	for i, line := range pemBody(m.keyPEM) {
		everywhere[fmt.Sprintf("line %d of the merchant private key", i+1)] = line
	}
	for i, line := range pemBody(string(m.fake.PublicKeyPEM())) {
		everywhere[fmt.Sprintf("line %d of the platform public key", i+1)] = line
	}
	notLogged := map[string]string{"the phone": phone, "the openid": openid, "an access token": access, "a refresh token": refresh,
		"the second access token": access2, "the second refresh token": refresh2, "the school admin's token": school, "the platform admin's token": boss}
	for what, s := range everywhere {
		notLogged[what] = s
	}
	for what, s := range notLogged {
		if strings.Contains(logs, s) {
			t.Errorf("%s is in the logs", what)
		}
		// Half a token or key is as bad as all of it.
		if len(s) > 40 && strings.Contains(logs, s[len(s)/2:]) {
			t.Errorf("part of %s is in the logs", what)
		}
	}
	issued := map[string]bool{access: true, refresh: true, access2: true, refresh2: true, school: true, boss: true}
	for _, x := range c.seen {
		text := x.body
		for k, vs := range x.header {
			text += "\n" + k + ": " + strings.Join(vs, ",")
		}
		for what, s := range notLogged {
			if !strings.Contains(text, s) {
				continue
			}
			if issued[s] && strings.HasPrefix(x.path, "/api/v1/auth/") && x.status == 200 {
				continue // the answer that gives the token
			}
			t.Errorf("%s is in the answer to %s %s (%d)", what, x.method, x.path, x.status)
		}
	}
}

// pemBody is the base64 lines of a PEM file.
func pemBody(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}
