package main

import (
	"fmt"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// twoInstances starts two servers on one database (on PostgreSQL, the
// multi-instance deployment), each with a clock the test moves.
func twoInstances(t *testing.T) (a, b *testServer, clock *time.Time) {
	t.Helper()
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a = newTestServerOn(t, modelstest.Open(t, url), cfg)
	b = newTestServerOn(t, modelstest.Open(t, url), cfg)
	// The clock starts a minute behind, so the tests' moves keep it behind
	// the wall clock the token parser reads: an instance whose clock ran
	// ahead of another's by more than handlers.AccessLeeway would sign
	// tokens the other refuses.
	now := time.Now().Add(-time.Minute)
	clock = &now
	a.api.Now = func() time.Time { return *clock }
	b.api.Now = func() time.Time { return *clock }
	return a, b, clock
}

func login(t *testing.T, s *testServer, u models.User) (access, refresh string) {
	t.Helper()
	m := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).want(t, 200).JSON()
	return m["access_token"].(string), m["refresh_token"].(string)
}

// TestTokensStopAfterDisableDemoteMove: a disabled, demoted or moved user's
// access token stops working on the other instance within its poll
// interval (here: the instance's clock moved past it, no sleeping); a
// demoted or moved user refreshes into a token of the new role or school,
// a disabled one cannot refresh.
func TestTokensStopAfterDisableDemoteMove(t *testing.T) {
	a, b, clock := twoInstances(t)
	region := modelstest.Region(t, a.db, nil)
	school := modelstest.School(t, a.db, region.ID)
	school2 := modelstest.School(t, a.db, region.ID)
	bureau := modelstest.Staff(t, a.db, models.RoleBureauAdmin, 0, region.ID)
	bureauTok := a.token(bureau)
	staffURL := fmt.Sprintf("/api/v1/schools/%d/students", school.ID)
	advance := func() { *clock = clock.Add(2 * time.Second) }

	t.Run("disabled401EverywhereAndNoRefresh", func(t *testing.T) {
		u := modelstest.Staff(t, a.db, models.RoleSchoolAdmin, school.ID, 0)
		access, refresh := login(t, a, u)
		b.do("GET", staffURL, access, nil).want(t, 200) // b has verified and cached it
		a.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), bureauTok, map[string]any{"disabled": true}).want(t, 200)
		advance()
		b.do("GET", staffURL, access, nil).want(t, 401, "token_revoked")
		a.do("GET", "/api/v1/me", access, nil).want(t, 401, "token_revoked")
		b.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}).want(t, 401)
		b.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).want(t, 401)
		// Enabled again, the user logs in afresh.
		a.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), bureauTok, map[string]any{"disabled": false}).want(t, 200)
		fresh, _ := login(t, b, u)
		advance()
		a.do("GET", staffURL, fresh, nil).want(t, 200)
	})
	t.Run("demotedRefreshesIntoNewRole", func(t *testing.T) {
		u := modelstest.Staff(t, a.db, models.RoleSchoolAdmin, school.ID, 0)
		access, refresh := login(t, a, u)
		terms := fmt.Sprintf("/api/v1/schools/%d/terms", school.ID)
		term := map[string]any{"name": "秋季", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}
		b.do("POST", terms, access, term).want(t, 201)
		r := a.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), bureauTok, map[string]any{"role": "teacher"}).want(t, 200).JSON()
		if r["role"] != "teacher" || jnum(r, "school_id") != school.ID {
			t.Fatalf("patched = %v", r)
		}
		advance()
		b.do("POST", terms, access, term).want(t, 401, "token_revoked")
		m := b.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}).want(t, 200).JSON()
		b.do("POST", terms, m["access_token"].(string), term).want(t, 403)
		b.do("GET", staffURL, m["access_token"].(string), nil).want(t, 200)
	})
	t.Run("movedLosesOldSchool", func(t *testing.T) {
		u := modelstest.Staff(t, a.db, models.RoleTeacher, school.ID, 0)
		access, refresh := login(t, a, u)
		b.do("GET", staffURL, access, nil).want(t, 200)
		a.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), bureauTok, map[string]any{"school_id": school2.ID}).want(t, 200)
		advance()
		b.do("GET", staffURL, access, nil).want(t, 401, "token_revoked")
		m := b.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}).want(t, 200).JSON()
		b.do("GET", staffURL, m["access_token"].(string), nil).want(t, 404)
		b.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", school2.ID), m["access_token"].(string), nil).want(t, 200)
	})
	t.Run("otherUsersUnaffected", func(t *testing.T) {
		u := modelstest.Staff(t, a.db, models.RoleSchoolAdmin, school.ID, 0)
		access, _ := login(t, a, u)
		advance()
		b.do("GET", staffURL, access, nil).want(t, 200)
	})
}

// TestLogout: logging out revokes that login's refresh family (other
// devices keep theirs); "all" revokes every session, access tokens
// included, on every instance.
func TestLogout(t *testing.T) {
	a, b, clock := twoInstances(t)
	u := modelstest.Staff(t, a.db, models.RolePlatformAdmin, 0, 0)
	_, phone := login(t, a, u)
	laptopAccess, laptop := login(t, a, u)
	a.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": phone}).want(t, 204)
	b.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": phone}).want(t, 401)
	m := b.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": laptop}).want(t, 200).JSON()
	laptop = m["refresh_token"].(string)
	a.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": phone}).want(t, 204) // twice: the same
	a.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": "unknown"}).want(t, 204)
	a.do("POST", "/api/v1/auth/logout", "", map[string]any{}).want(t, 422)

	b.do("GET", "/api/v1/me", laptopAccess, nil).want(t, 200)
	_, other := login(t, b, u)
	a.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": laptop, "all": true}).want(t, 204)
	*clock = clock.Add(2 * time.Second)
	b.do("GET", "/api/v1/me", laptopAccess, nil).want(t, 401, "token_revoked")
	b.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": other}).want(t, 401)
	access, _ := login(t, b, u)
	a.do("GET", "/api/v1/me", access, nil).want(t, 200)
}

// TestPatchUserScope: admins change only users in their scope, never
// above it, never themselves.
func TestPatchUserScope(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	otherRegion := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	foreign := modelstest.School(t, s.db, otherRegion.ID)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID)
	schoolAdmin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	teacher := modelstest.Staff(t, s.db, models.RoleTeacher, school.ID, 0)
	foreignTeacher := modelstest.Staff(t, s.db, models.RoleTeacher, foreign.ID, 0)
	platform := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	parent := modelstest.Parent(t, s.db)
	path := func(u models.User) string { return fmt.Sprintf("/api/v1/users/%d", u.ID) }

	t.Run("otherTenant404", func(t *testing.T) {
		s.do("PATCH", path(foreignTeacher), s.token(bureau), map[string]any{"disabled": true}).want(t, 404)
		s.do("PATCH", path(foreignTeacher), s.token(schoolAdmin), map[string]any{"disabled": true}).want(t, 404)
		s.do("PATCH", "/api/v1/users/999999999", s.token(platform), map[string]any{"disabled": true}).want(t, 404)
	})
	t.Run("moveOutOfScope422", func(t *testing.T) {
		s.do("PATCH", path(teacher), s.token(bureau), map[string]any{"school_id": foreign.ID}).want(t, 422)
	})
	t.Run("aboveScope403", func(t *testing.T) {
		s.do("PATCH", path(teacher), s.token(schoolAdmin), map[string]any{"role": "bureau_admin", "region_id": region.ID}).want(t, 403, "above_scope")
	})
	t.Run("self409", func(t *testing.T) {
		s.do("PATCH", path(schoolAdmin), s.token(schoolAdmin), map[string]any{"disabled": true}).want(t, 409, "cannot_modify_self")
	})
	t.Run("parentOnlyByPlatform", func(t *testing.T) {
		s.do("PATCH", path(parent), s.token(bureau), map[string]any{"disabled": true}).want(t, 404)
		s.do("PATCH", path(parent), s.token(platform), map[string]any{"role": "teacher"}).want(t, 422)
		s.do("PATCH", path(parent), s.token(platform), map[string]any{"disabled": true}).want(t, 200)
	})
	t.Run("badInput", func(t *testing.T) {
		s.do("PATCH", path(teacher), s.token(schoolAdmin), map[string]any{}).want(t, 422)
		s.do("PATCH", path(teacher), s.token(schoolAdmin), map[string]any{"role": "parent"}).want(t, 422)
		s.do("PATCH", path(teacher), s.token(schoolAdmin), map[string]any{"region_id": region.ID}).want(t, 422)
		s.do("PATCH", path(teacher), s.token(teacher), map[string]any{"disabled": true}).want(t, 403)
	})
	t.Run("schoolAdminDisablesTeacher200", func(t *testing.T) {
		r := s.do("PATCH", path(teacher), s.token(schoolAdmin), map[string]any{"disabled": true}).want(t, 200).JSON()
		if r["disabled"] != true {
			t.Fatalf("answer = %v", r)
		}
	})
}
