package main

import (
	"fmt"
	"strconv"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestLoginLockedPerUsername: after five failed password logins from one
// address a username is locked for that address on every instance, with a
// lock that grows with each further failure; a locked username costs no
// bcrypt work; a success clears the count; unknown usernames lock the same
// way.
func TestLoginLockedPerUsername(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	u := modelstest.Staff(t, a.db, models.RolePlatformAdmin, 0, 0)
	wrong := map[string]string{"username": *u.Username, "password": "wrong-pass1"}
	right := map[string]string{"username": *u.Username, "password": modelstest.Password}
	retryAfter := func(r resp) int {
		t.Helper()
		n, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || n < 1 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		return n
	}
	// Alternate instances: the count is shared.
	for i := range 5 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		srv.do("POST", "/api/v1/auth/login", "", wrong).want(t, 401, "invalid_credentials")
	}
	var first int
	t.Run("lockedOnEveryInstanceWithoutBcrypt", func(t *testing.T) {
		for _, srv := range []*testServer{a, b} {
			before := models.PasswordChecks()
			r := srv.do("POST", "/api/v1/auth/login", "", right).want(t, 429, "login_locked")
			if n := models.PasswordChecks() - before; n != 0 {
				t.Fatalf("a locked login made %d bcrypt comparisons", n)
			}
			first = retryAfter(r)
		}
	})
	t.Run("otherUsernameUnaffected", func(t *testing.T) {
		other := modelstest.Staff(t, a.db, models.RolePlatformAdmin, 0, 0)
		b.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *other.Username, "password": modelstest.Password}).want(t, 200)
	})
	unlock := func() {
		t.Helper()
		if err := a.db.W.Exec("UPDATE login_attempts SET locked_until_ms = 0 WHERE username = ?", *u.Username).Error; err != nil {
			t.Fatal(err)
		}
	}
	t.Run("backoffGrows", func(t *testing.T) {
		prev := first
		for range 3 {
			unlock() // the lock has run out
			b.do("POST", "/api/v1/auth/login", "", wrong).want(t, 401, "invalid_credentials")
			next := retryAfter(a.do("POST", "/api/v1/auth/login", "", right).want(t, 429, "login_locked"))
			if next <= prev {
				t.Fatalf("lock after another failure %ds, before %ds: not growing", next, prev)
			}
			prev = next
		}
	})
	t.Run("successClears", func(t *testing.T) {
		unlock()
		a.do("POST", "/api/v1/auth/login", "", right).want(t, 200)
		for range 4 {
			b.do("POST", "/api/v1/auth/login", "", wrong).want(t, 401, "invalid_credentials")
		}
		a.do("POST", "/api/v1/auth/login", "", right).want(t, 200)
	})
	t.Run("unknownUsernameLocksAlike", func(t *testing.T) {
		ghost := map[string]string{"username": "ghost_user", "password": "wrong-pass1"}
		for range 5 {
			a.do("POST", "/api/v1/auth/login", "", ghost).want(t, 401, "invalid_credentials")
		}
		before := models.PasswordChecks()
		b.do("POST", "/api/v1/auth/login", "", ghost).want(t, 429, "login_locked")
		if models.PasswordChecks() != before {
			t.Fatal("a locked unknown username cost a bcrypt comparison")
		}
	})
}

// TestLoginAddressLimitAcrossInstances: the per-address limit of password
// logins counts the attempts made on every instance.
func TestLoginAddressLimitAcrossInstances(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	for i := range cfg.LoginRateLimit {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		srv.do("POST", "/api/v1/auth/login", "", map[string]string{"username": fmt.Sprint("spray", i), "password": "wrong-pass1"}).want(t, 401)
	}
	for _, srv := range []*testServer{a, b} {
		r := srv.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "spray_last", "password": "wrong-pass1"}).want(t, 429, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
}

// TestOneGuesserDoesNotLockTheOwnerOut: one wrong guess every 15 minutes
// from one address keeps the username locked for that address only; the
// owner, behind the same load balancer at another address, logs in
// (issue 20 item 10). Failures spread over many addresses lock the username
// for everyone, the owner too. An IPv6 client counts as its /64, for the
// per-address limit too.
func TestOneGuesserDoesNotLockTheOwnerOut(t *testing.T) {
	s := proxyServer(t, "0.0.0.0")
	u := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	login := func(pw, addr string) resp {
		t.Helper()
		return s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": pw}, "X-Forwarded-For", addr)
	}
	for range 5 {
		login("wrong-pass1", "203.0.113.66").want(t, 401, "invalid_credentials")
	}
	for range 3 { // every 15 minutes: the lock has run out, one more guess
		login("wrong-pass1", "203.0.113.66").want(t, 429, "login_locked")
		if err := s.db.W.Exec("UPDATE login_attempts SET locked_until_ms = 0").Error; err != nil {
			t.Fatal(err)
		}
		login("wrong-pass1", "203.0.113.66").want(t, 401, "invalid_credentials")
		t.Run("ownerElsewhere200", func(t *testing.T) { login(modelstest.Password, "198.51.100.20").want(t, 200) })
	}
	t.Run("spreadLocksEveryone429", func(t *testing.T) {
		for i := range 10 {
			login("wrong-pass1", fmt.Sprintf("192.0.2.%d", i+1)).want(t, 401, "invalid_credentials")
		}
		login(modelstest.Password, "198.51.100.20").want(t, 429, "login_locked")
	})
	t.Run("ipv6AddressLimitPer64", func(t *testing.T) {
		for i := range s.cfg.LoginRateLimit {
			s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": fmt.Sprint("v6user", i), "password": "wrong-pass1"},
				"X-Forwarded-For", fmt.Sprintf("2001:db8:7:7::%x", i+1)).want(t, 401, "invalid_credentials")
		}
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "v6user_last", "password": "wrong-pass1"},
			"X-Forwarded-For", "2001:db8:7:7:abcd::1").want(t, 429, "rate_limited")
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "v6user_other", "password": "wrong-pass1"},
			"X-Forwarded-For", "2001:db8:7:8::1").want(t, 401, "invalid_credentials")
	})
}
