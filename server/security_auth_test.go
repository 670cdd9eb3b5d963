package main

import (
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestDisabledStaff: a disabled account cannot log in (the same answer as a
// wrong password, so the state is not revealed) nor refresh a token it got
// before it was disabled.
func TestDisabledStaff(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	u := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	creds := map[string]string{"username": *u.Username, "password": modelstest.Password}
	refresh := s.do("POST", "/api/v1/auth/login", "", creds).want(t, 200).JSON()["refresh_token"].(string)
	if err := s.db.W.Exec("UPDATE users SET disabled = ? WHERE id = ?", true, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	wrong := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": "wrong-pass1"})
	t.Run("login401LikeWrongPassword", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/login", "", creds).want(t, wrong.Status, wrong.Code())
	})
	t.Run("refresh401", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}).want(t, 401, "invalid_token")
	})
}
