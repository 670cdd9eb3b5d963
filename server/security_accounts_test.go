package main

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestCreatedAccountSetsOwnPassword: an account a bureau admin makes
// records its maker and cannot be used with the password the maker chose:
// the first login answers 403 password_change_required with a single-use
// change token, and only a new password of the owner's opens it.
func TestCreatedAccountSetsOwnPassword(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID)
	made := s.do("POST", "/api/v1/users", s.token(bureau), map[string]any{"username": "made_by_bureau", "password": "Chosen123",
		"role": "school_admin", "school_id": school.ID}).want(t, 201).JSON()
	if jnum(made, "created_by") != bureau.ID || made["must_change_password"] != true {
		t.Fatalf("created = %v", made)
	}
	var createdBy int64
	if err := s.db.W.Raw("SELECT created_by FROM users WHERE username = ?", "made_by_bureau").Scan(&createdBy).Error; err != nil || createdBy != bureau.ID {
		t.Fatalf("created_by = %d, %v", createdBy, err)
	}
	first := map[string]string{"username": "made_by_bureau", "password": "Chosen123"}
	r := s.do("POST", "/api/v1/auth/login", "", first).want(t, 403, "password_change_required").JSON()
	change, _ := r["change_token"].(string)
	if change == "" || r["access_token"] != nil || jnum(r, "expires_in") <= 0 {
		t.Fatalf("answer = %v", r)
	}
	t.Run("sameAsFirstPassword422", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": change, "new_password": "Chosen123"}).want(t, 422)
	})
	t.Run("weakPassword422", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": change, "new_password": "short"}).want(t, 422)
	})
	t.Run("unknownToken401", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": "nope", "new_password": "Mine12345"}).want(t, 401, "invalid_change_token")
	})
	t.Run("setOwnPassword200", func(t *testing.T) {
		p := s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": change, "new_password": "Mine12345"}).want(t, 200).JSON()
		me := s.do("GET", "/api/v1/me", p["access_token"].(string), nil).want(t, 200).JSON()
		if me["must_change_password"] != false || me["role"] != "school_admin" {
			t.Fatalf("me = %v", me)
		}
	})
	t.Run("tokenSingleUse401", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": change, "new_password": "Other1234"}).want(t, 401, "invalid_change_token")
	})
	t.Run("makersPasswordNoLongerWorks", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/login", "", first).want(t, 401, "invalid_credentials")
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "made_by_bureau", "password": "Mine12345"}).want(t, 200)
	})
	t.Run("expiredToken401", func(t *testing.T) {
		s.do("POST", "/api/v1/users", s.token(bureau), map[string]any{"username": "made_too", "password": "Chosen123",
			"role": "teacher", "school_id": school.ID}).want(t, 201)
		tok := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "made_too", "password": "Chosen123"}).
			want(t, 403, "password_change_required").JSON()["change_token"].(string)
		if err := s.db.W.Exec("UPDATE password_change_tokens SET expires_ms = 0").Error; err != nil {
			t.Fatal(err)
		}
		s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": tok, "new_password": "Mine12345"}).want(t, 401, "invalid_change_token")
	})
}

// TestStaffAccessLogNamesRequestAndClient: the staff access log row of a
// read of children's data carries the request id and the client address
// (the one the trusted proxy saw).
func TestStaffAccessLogNamesRequestAndClient(t *testing.T) {
	s := proxyServer(t, "0.0.0.0")
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", school.ID), s.token(admin), nil,
		"X-Request-ID", "audit-req-1", "X-Forwarded-For", "198.51.100.1, 203.0.113.9").want(t, 200)
	var rows []struct {
		UserID     int64
		Action     string
		RequestID  string
		ClientAddr string
	}
	if err := s.db.W.Raw("SELECT user_id, action, request_id, client_addr FROM staff_access_log").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].UserID != admin.ID || rows[0].RequestID != "audit-req-1" || rows[0].ClientAddr != "203.0.113.9" {
		t.Fatalf("staff_access_log = %+v", rows)
	}
}

var accessLogFailures = regexp.MustCompile(`(?m)^kehou_staff_access_log_failures_total (\d+)`)

// TestStaffAccessLogFailureCounted: a read whose access-log write fails
// still answers, and /metrics counts the failure.
func TestStaffAccessLogFailureCounted(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	metric := func() int {
		t.Helper()
		m := accessLogFailures.FindSubmatch(s.do("GET", "/metrics", "", nil).want(t, 200).Body)
		if m == nil {
			t.Fatal("/metrics has no kehou_staff_access_log_failures_total")
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	before := metric()
	if err := s.db.W.Exec("DROP TABLE staff_access_log").Error; err != nil {
		t.Fatal(err)
	}
	s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", school.ID), s.token(admin), nil).want(t, 200)
	if after := metric(); after != before+1 {
		t.Fatalf("failures counted %d → %d, want one more", before, after)
	}
}

// TestOldChangeTokenCannotTakeAccountBack: the creator of an account logs
// in first (change token T1), the owner logs in (T2) and sets a password;
// T1 is then dead, so the creator cannot set a password of their own and
// take the account back (issue 20 item 3).
func TestOldChangeTokenCannotTakeAccountBack(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID)
	s.do("POST", "/api/v1/users", s.token(bureau), map[string]any{"username": "t_new1", "password": "Chosen123",
		"role": "school_admin", "school_id": school.ID}).want(t, 201)
	first := map[string]string{"username": "t_new1", "password": "Chosen123"}
	t1 := s.do("POST", "/api/v1/auth/login", "", first).want(t, 403, "password_change_required").JSON()["change_token"].(string)
	t2 := s.do("POST", "/api/v1/auth/login", "", first).want(t, 403, "password_change_required").JSON()["change_token"].(string)
	owner := s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": t2, "new_password": "Owner1234"}).want(t, 200).JSON()

	t.Run("creatorsToken401", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/password", "", map[string]string{"change_token": t1, "new_password": "Creator123"}).
			want(t, 401, "invalid_change_token")
	})
	t.Run("ownerStillIn", func(t *testing.T) {
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "t_new1", "password": "Creator123"}).want(t, 401, "invalid_credentials")
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "t_new1", "password": "Owner1234"}).want(t, 200)
		s.do("GET", "/api/v1/me", owner["access_token"].(string), nil).want(t, 200)
	})
	t.Run("noChangeTokenLeft", func(t *testing.T) {
		var n int64
		if err := s.db.R.Raw("SELECT COUNT(*) FROM password_change_tokens pc JOIN users u ON u.id = pc.user_id WHERE u.username = 't_new1'").
			Scan(&n).Error; err != nil || n != 0 {
			t.Fatalf("%d change tokens left (%v)", n, err)
		}
	})
}
