package main

import (
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEveryRouteRejectsBadInputWithout5xx sends hostile parameters and bodies
// to every registered route, as every role, and requires a 4xx (or a 2xx)
// with a JSON error code — never a 5xx. The only 503s allowed are the ones
// that name a missing outside service (this test server has no WeChat
// client).
func TestEveryRouteRejectsBadInputWithout5xx(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	st := modelstest.Student(t, s.db, school.ID, 3, "13800138000")
	tokens := map[string]string{"anonymous": ""}
	for _, u := range []models.User{
		modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0),
		modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID),
		modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0),
		modelstest.Staff(t, s.db, models.RoleTeacher, school.ID, 0),
		modelstest.Parent(t, s.db, st.ID),
	} {
		tokens[string(u.Role)] = s.token(u)
	}
	allowed503 := map[string]bool{"wechat_not_configured": true}
	params := []string{"0", "abc", "99999999999999999999", "1"}
	bodies := []any{nil, "", "{", "[]", "null", `"x"`, `{"a":`,
		map[string]any{"id": "x", "name": 5, "school_id": "x", "student_id": []int{1}, "offering_id": -1,
			"capacity": "many", "weekdays": "mon", "grades": map[string]int{}, "starts_on": 3, "code": 7,
			"username": 1, "password": true, "refresh_token": 9, "region_id": "r", "term_id": 1.5},
		map[string]any{"student_id": st.ID, "offering_id": 1e18, "start_time": "25:99", "end_time": "x",
			"enroll_opens_at": "yesterday", "opens_at": "soon", "support": "maybe", "date": "2026-13-45"},
		strings.Repeat("[", 10000),
	}
	queries := []string{"", "?date=not-a-date&from=x&to=y&limit=-5&cursor=%%%&format=pdf&metric=nope&region_id=x&school_id=-2&term_id=z&grade=99&by=nope"}

	routes := s.app.GetRoutes(true)
	n := 0
	for _, r := range routes {
		if r.Method == "HEAD" || r.Method == "CONNECT" || r.Method == "TRACE" || r.Method == "OPTIONS" {
			continue
		}
		for _, p := range params {
			path := fillParams(r.Path, p)
			for role, tok := range tokens {
				for _, b := range bodies {
					for _, q := range queries {
						if r.Method == "GET" && b != nil {
							continue
						}
						res := s.do(r.Method, path+q, tok, b)
						n++
						if res.Status >= 500 && !(res.Status == 503 && allowed503[res.Code()]) {
							t.Fatalf("%s %s%s as %s with %v: %d %s", r.Method, path, q, role, b, res.Status, res.Body)
						}
						if res.Status >= 400 && res.Code() == "" {
							t.Fatalf("%s %s as %s: %d without a code: %s", r.Method, path, role, res.Status, res.Body)
						}
					}
				}
			}
		}
	}
	t.Logf("%d requests over %d routes", n, len(routes))
}

// fillParams replaces every :param of a Fiber route path with v.
func fillParams(path, v string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = v
		}
	}
	return strings.Join(parts, "/")
}
