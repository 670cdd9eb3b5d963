package main

import (
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestRefreshRetryReplaysThePair: a refresh answer lost on 4G does not end
// the login (issue 23 item 7). The same refresh token presented again
// within models.RefreshReplayGrace — on another instance too — answers the
// very same pair, marked Idempotent-Replayed; after the grace, or once the
// pair's refresh token has been used, it is a reuse: 401 token_reused and
// the family revoked, as before.
func TestRefreshRetryReplaysThePair(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	u := modelstest.Staff(t, a.db, models.RolePlatformAdmin, 0, 0)
	clock := time.Now()
	a.api.Now = func() time.Time { return clock }
	b.api.Now = func() time.Time { return clock }
	login := func() string {
		t.Helper()
		return a.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).
			want(t, 200).JSON()["refresh_token"].(string)
	}
	refresh := func(s *testServer, rt string) resp {
		t.Helper()
		return s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt})
	}

	rt0 := login()
	first := refresh(a, rt0).want(t, 200)
	p1 := first.JSON()
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a first rotation is marked replayed")
	}
	t.Run("retryOnOtherInstanceSamePair200", func(t *testing.T) {
		clock = clock.Add(models.RefreshReplayGrace - time.Second)
		r := refresh(b, rt0).want(t, 200)
		p := r.JSON()
		if p["access_token"] != p1["access_token"] || p["refresh_token"] != p1["refresh_token"] {
			t.Fatalf("the retry answered another pair")
		}
		if r.Header.Get("Idempotent-Replayed") != "true" || jnum(p, "expires_in") > jnum(p1, "expires_in")-int64(models.RefreshReplayGrace/time.Second)+2 {
			t.Fatalf("replay header %q, expires_in %v (first %v)", r.Header.Get("Idempotent-Replayed"), p["expires_in"], p1["expires_in"])
		}
		b.do("GET", "/api/v1/me", p["access_token"].(string), nil).want(t, 200)
	})
	t.Run("pairStillRotates200", func(t *testing.T) {
		refresh(a, p1["refresh_token"].(string)).want(t, 200)
	})
	t.Run("retryAfterSuccessorUsed401", func(t *testing.T) {
		// The successor has been spent: the chain moved on, so the old token
		// is a reuse even within the grace.
		refresh(b, rt0).want(t, 401, "token_reused")
	})

	t.Run("retryAfterGrace401", func(t *testing.T) {
		rt := login()
		p := refresh(a, rt).want(t, 200).JSON()
		clock = clock.Add(models.RefreshReplayGrace)
		refresh(b, rt).want(t, 401, "token_reused")
		refresh(a, p["refresh_token"].(string)).want(t, 401, "invalid_token") // the family is revoked
	})
}
