package main

import (
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestLoginRefresh(t *testing.T) {
	s := newTestServer(t)
	u := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)

	t.Run("badPassword401", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": "wrong-pass1"}).
			want(t, 401, "invalid_credentials")
	})
	t.Run("unknownUser401", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "wrong-pass1"}).
			want(t, 401, "invalid_credentials")
	})

	login := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).want(t, 200).JSON()
	at, rt := login["access_token"].(string), login["refresh_token"].(string)
	if at == "" || rt == "" || login["token_type"] != "Bearer" || login["expires_in"].(float64) > 900 {
		t.Fatalf("login answer %v", login)
	}
	me := s.do("GET", "/api/v1/me", at, nil).want(t, 200).JSON()
	if me["role"] != "platform_admin" || me["id"].(float64) != float64(u.ID) {
		t.Fatalf("me = %v", me)
	}

	r1 := s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt}).want(t, 200).JSON()
	rt2 := r1["refresh_token"].(string)
	if rt2 == rt {
		t.Fatal("refresh token not rotated")
	}
	t.Run("replayRevokesFamily", func(t *testing.T) {
		// Past the grace in which a retry replays the same pair.
		s.api.Now = func() time.Time { return time.Now().Add(models.RefreshReplayGrace + time.Second) }
		defer func() { s.api.Now = nil }()
		s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt}).want(t, 401, "token_reused")
		// The rotated, never-used token of the same family is now dead too.
		s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt2}).want(t, 401, "invalid_token")
	})
	t.Run("otherFamilyLives", func(t *testing.T) {
		l2 := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).want(t, 200).JSON()
		s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": l2["refresh_token"].(string)}).want(t, 200)
	})
}
