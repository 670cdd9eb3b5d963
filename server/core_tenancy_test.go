package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// tenancyWorld is two tenants, A and B: a region, a school and its staff
// each, a platform admin, and a parent of a child in school A.
type tenancyWorld struct {
	regions [2]models.Region
	schools [2]models.School
	tokens  map[string]string // role name → access token ("anon" → "")
}

// tenancyRoles are the callers of the matrix, in column order.
var tenancyRoles = []string{"platform", "bureauA", "bureauB", "adminA", "teacherA", "adminB", "teacherB", "parent", "anon"}

func newTenancyWorld(t *testing.T, s *testServer) tenancyWorld {
	t.Helper()
	var w tenancyWorld
	for i := range 2 {
		w.regions[i] = modelstest.Region(t, s.db, nil)
		w.schools[i] = modelstest.School(t, s.db, w.regions[i].ID)
	}
	child := modelstest.Student(t, s.db, w.schools[0].ID, 3, "13900001111")
	users := map[string]models.User{
		"platform": modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0),
		"bureauA":  modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, w.regions[0].ID),
		"bureauB":  modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, w.regions[1].ID),
		"adminA":   modelstest.Staff(t, s.db, models.RoleSchoolAdmin, w.schools[0].ID, 0),
		"teacherA": modelstest.Staff(t, s.db, models.RoleTeacher, w.schools[0].ID, 0),
		"adminB":   modelstest.Staff(t, s.db, models.RoleSchoolAdmin, w.schools[1].ID, 0),
		"teacherB": modelstest.Staff(t, s.db, models.RoleTeacher, w.schools[1].ID, 0),
		"parent":   modelstest.Parent(t, s.db, child.ID),
	}
	w.tokens = map[string]string{"anon": ""}
	for k, u := range users {
		w.tokens[k] = s.token(u)
	}
	return w
}

// TestTenancyMatrix sends every route of the foundation as every role,
// against tenant A's object and tenant B's, and wants exactly the expected
// status: the right answer for the caller's own tenant, 404 for another
// tenant's object (422 where the other tenant is named in the body), 403
// for a role that may not do it at all, 401 without a token.
func TestTenancyMatrix(t *testing.T) {
	s := newTestServer(t)
	w := newTenancyWorld(t, s)
	seq := 0
	uniq := func() int { seq++; return seq }
	csv := func() string {
		n := uniq()
		return "student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\n" +
			fmt.Sprintf("M%d,测试学生,女,2,1班,测试家长,139%08d,母亲\n", n, n)
	}
	type target = int // 0: tenant A, 1: tenant B
	routes := []struct {
		name string
		send func(tok string, tg target) resp
		// want[role] = {status against A, status against B}
		want map[string][2]int
	}{
		{"GET /me", func(tok string, _ target) resp { return s.do("GET", "/api/v1/me", tok, nil) },
			map[string][2]int{"platform": {200, 200}, "bureauA": {200, 200}, "bureauB": {200, 200}, "adminA": {200, 200},
				"teacherA": {200, 200}, "adminB": {200, 200}, "teacherB": {200, 200}, "parent": {200, 200}, "anon": {401, 401}}},
		{"POST /regions", func(tok string, tg target) resp {
			n := uniq()
			return s.do("POST", "/api/v1/regions", tok, map[string]any{"name": fmt.Sprintf("区%d", n), "code": fmt.Sprintf("MX%d", n), "parent_id": w.regions[tg].ID})
		}, map[string][2]int{"platform": {201, 201}, "bureauA": {403, 403}, "bureauB": {403, 403}, "adminA": {403, 403},
			"teacherA": {403, 403}, "adminB": {403, 403}, "teacherB": {403, 403}, "parent": {403, 403}, "anon": {401, 401}}},
		{"POST /schools", func(tok string, tg target) resp {
			return s.do("POST", "/api/v1/schools", tok, map[string]any{"name": fmt.Sprintf("学校%d", uniq()), "region_id": w.regions[tg].ID})
		}, map[string][2]int{"platform": {201, 201}, "bureauA": {201, 422}, "bureauB": {422, 201}, "adminA": {403, 403},
			"teacherA": {403, 403}, "adminB": {403, 403}, "teacherB": {403, 403}, "parent": {403, 403}, "anon": {401, 401}}},
		{"GET /schools/{id}", func(tok string, tg target) resp {
			return s.do("GET", fmt.Sprintf("/api/v1/schools/%d", w.schools[tg].ID), tok, nil)
		}, map[string][2]int{"platform": {200, 200}, "bureauA": {200, 404}, "bureauB": {404, 200}, "adminA": {200, 404},
			"teacherA": {200, 404}, "adminB": {404, 200}, "teacherB": {404, 200}, "parent": {403, 403}, "anon": {401, 401}}},
		{"POST /users (teacher)", func(tok string, tg target) resp {
			return s.do("POST", "/api/v1/users", tok, map[string]any{"username": fmt.Sprintf("mx%d", uniq()), "password": "passw0rd1",
				"role": "teacher", "school_id": w.schools[tg].ID})
		}, map[string][2]int{"platform": {201, 201}, "bureauA": {201, 422}, "bureauB": {422, 201}, "adminA": {201, 422},
			"teacherA": {403, 403}, "adminB": {422, 201}, "teacherB": {403, 403}, "parent": {403, 403}, "anon": {401, 401}}},
		{"POST /users (bureau_admin)", func(tok string, tg target) resp {
			return s.do("POST", "/api/v1/users", tok, map[string]any{"username": fmt.Sprintf("mx%d", uniq()), "password": "passw0rd1",
				"role": "bureau_admin", "region_id": w.regions[tg].ID})
		}, map[string][2]int{"platform": {201, 201}, "bureauA": {201, 422}, "bureauB": {422, 201}, "adminA": {403, 403},
			"teacherA": {403, 403}, "adminB": {403, 403}, "teacherB": {403, 403}, "parent": {403, 403}, "anon": {401, 401}}},
		{"POST /users (platform_admin)", func(tok string, _ target) resp {
			return s.do("POST", "/api/v1/users", tok, map[string]any{"username": fmt.Sprintf("mx%d", uniq()), "password": "passw0rd1",
				"role": "platform_admin"})
		}, map[string][2]int{"platform": {201, 201}, "bureauA": {403, 403}, "bureauB": {403, 403}, "adminA": {403, 403},
			"teacherA": {403, 403}, "adminB": {403, 403}, "teacherB": {403, 403}, "parent": {403, 403}, "anon": {401, 401}}},
		{"GET /schools/{id}/students", func(tok string, tg target) resp {
			return s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", w.schools[tg].ID), tok, nil)
		}, map[string][2]int{"platform": {200, 200}, "bureauA": {403, 403}, "bureauB": {403, 403}, "adminA": {200, 404},
			"teacherA": {200, 404}, "adminB": {404, 200}, "teacherB": {404, 200}, "parent": {403, 403}, "anon": {401, 401}}},
		{"POST /schools/{id}/roster", func(tok string, tg target) resp {
			return s.do("POST", fmt.Sprintf("/api/v1/schools/%d/roster", w.schools[tg].ID), tok, csv(), "Content-Type", "text/csv")
		}, map[string][2]int{"platform": {200, 200}, "bureauA": {403, 403}, "bureauB": {403, 403}, "adminA": {200, 404},
			"teacherA": {403, 403}, "adminB": {404, 200}, "teacherB": {403, 403}, "parent": {403, 403}, "anon": {401, 401}}},
	}
	for _, rt := range routes {
		if len(rt.want) != len(tenancyRoles) {
			t.Fatalf("%s: the matrix row has %d roles, want %d", rt.name, len(rt.want), len(tenancyRoles))
		}
		for _, role := range tenancyRoles {
			for tg, tenant := range []string{"A", "B"} {
				want := rt.want[role][tg]
				t.Run(fmt.Sprintf("%s/%s/%s/%d", rt.name, role, tenant, want), func(t *testing.T) {
					r := rt.send(w.tokens[role], tg)
					if r.Status != want || (want >= 400 && r.Code() == "") {
						t.Fatalf("got %d %s, want %d", r.Status, r.Body, want)
					}
				})
			}
		}
	}
}

// TestTenancyMissingObjects: an id that does not exist is 404 for every
// role that may use the route, like another tenant's.
func TestTenancyMissingObjects(t *testing.T) {
	s := newTestServer(t)
	w := newTenancyWorld(t, s)
	for _, role := range []string{"platform", "bureauA", "adminA", "teacherA"} {
		t.Run("school/"+role, func(t *testing.T) {
			s.do("GET", "/api/v1/schools/999999", w.tokens[role], nil).want(t, 404, "not_found")
		})
	}
	t.Run("students/platform", func(t *testing.T) {
		s.do("GET", "/api/v1/schools/999999/students", w.tokens["platform"], nil).want(t, 404, "not_found")
	})
	t.Run("roster/platform", func(t *testing.T) {
		s.do("POST", "/api/v1/schools/999999/roster", w.tokens["platform"], "student_no\n", "Content-Type", "text/csv").want(t, 404, "not_found")
	})
	t.Run("badID400", func(t *testing.T) {
		s.do("GET", "/api/v1/schools/abc", w.tokens["platform"], nil).want(t, 400, "bad_param")
	})
}
