package main

import (
	"fmt"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestSchoolStaffDisplayNames: a school admin creates a teacher with a
// display name, which is stored and answered (not the username); the
// school's staff list shows it; another school's admin gets 404, a teacher
// 403; a display name too long is 422 on that field.
func TestSchoolStaffDisplayNames(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	other := modelstest.School(t, s.db, region.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	otherAdmin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, other.ID, 0)
	teacher := modelstest.Staff(t, s.db, models.RoleTeacher, school.ID, 0)

	made := s.do("POST", "/api/v1/users", s.token(admin), map[string]any{"username": "wangfang", "password": "Chosen123",
		"role": "teacher", "school_id": school.ID, "display_name": " 王芳老师 "}).want(t, 201).JSON()
	if made["display_name"] != "王芳老师" {
		t.Fatalf("created %v, want display_name 王芳老师", made)
	}
	var stored string
	s.db.R.Raw("SELECT display_name FROM users WHERE username = ?", "wangfang").Scan(&stored)
	if stored != "王芳老师" {
		t.Fatalf("stored display_name %q", stored)
	}
	t.Run("defaultsToUsername", func(t *testing.T) {
		u := s.do("POST", "/api/v1/users", s.token(admin), map[string]any{"username": "lisi", "password": "Chosen123",
			"role": "teacher", "school_id": school.ID}).want(t, 201).JSON()
		if u["display_name"] != "lisi" {
			t.Fatalf("display_name %v", u["display_name"])
		}
	})
	t.Run("tooLong422", func(t *testing.T) {
		r := s.do("POST", "/api/v1/users", s.token(admin), map[string]any{"username": "toolong", "password": "Chosen123",
			"role": "teacher", "school_id": school.ID, "display_name": strings.Repeat("名", 33)}).want(t, 422).JSON()
		if f, _ := r["fields"].(map[string]any); f["display_name"] == nil {
			t.Fatalf("answer %v", r)
		}
	})
	t.Run("list200", func(t *testing.T) {
		items := s.do("GET", fmt.Sprintf("/api/v1/schools/%d/staff", school.ID), s.token(admin), nil).want(t, 200).JSON()["items"].([]any)
		names := map[string]bool{}
		for _, it := range items {
			m := it.(map[string]any)
			names[m["display_name"].(string)] = true
			if jnum(m, "school_id") != school.ID {
				t.Fatalf("another school's user listed: %v", m)
			}
		}
		if !names["王芳老师"] || len(items) != 4 { // admin, teacher, 王芳老师, lisi
			t.Fatalf("staff %v", items)
		}
	})
	t.Run("otherSchool404", func(t *testing.T) {
		s.do("GET", fmt.Sprintf("/api/v1/schools/%d/staff", school.ID), s.token(otherAdmin), nil).want(t, 404)
	})
	t.Run("teacher403", func(t *testing.T) {
		s.do("GET", fmt.Sprintf("/api/v1/schools/%d/staff", school.ID), s.token(teacher), nil).want(t, 403)
	})
}
