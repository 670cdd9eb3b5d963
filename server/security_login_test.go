package main

import (
	"fmt"
	"strconv"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestLoginLockedPerUsername: after five failed password logins a username
// is locked, for every client and every instance, with a lock that grows
// with each further failure; a locked username costs no bcrypt work; a
// success clears the count; unknown usernames lock the same way.
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
		if err := a.db.W.Exec("UPDATE login_failures SET locked_until_ms = 0 WHERE username = ?", *u.Username).Error; err != nil {
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
