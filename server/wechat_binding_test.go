package main

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestBindingCodeIssue(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	schoolA, schoolB := modelstest.School(t, s.db, region.ID), modelstest.School(t, s.db, region.ID)
	st := modelstest.Student(t, s.db, schoolA.ID, 3, "")
	path := fmt.Sprintf("/api/v1/students/%d/binding-codes", st.ID)

	t.Run("schoolAdmin201", func(t *testing.T) {
		admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, schoolA.ID, 0)
		r := s.do("POST", path, s.token(admin), nil).want(t, 201)
		j := r.JSON()
		code, _ := j["code"].(string)
		exp, err := time.Parse(time.RFC3339, j["expires_at"].(string))
		if len(code) != 8 || err != nil || exp.Before(time.Now().Add(7*24*time.Hour-time.Minute)) {
			t.Fatalf("answer %s", r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("binding code answer may be cached")
		}
		var stored int64
		s.db.R.Raw("SELECT COUNT(*) FROM binding_codes WHERE code_hash = ?", code).Scan(&stored)
		if stored != 0 {
			t.Fatal("binding code stored in clear")
		}
	})
	t.Run("otherSchoolAdmin404", func(t *testing.T) {
		other := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, schoolB.ID, 0)
		s.do("POST", path, s.token(other), nil).want(t, 404, "not_found")
	})
	t.Run("teacher403", func(t *testing.T) {
		teacher := modelstest.Staff(t, s.db, models.RoleTeacher, schoolA.ID, 0)
		s.do("POST", path, s.token(teacher), nil).want(t, 403)
	})
	t.Run("parent403", func(t *testing.T) {
		p := modelstest.Parent(t, s.db, st.ID)
		s.do("POST", path, s.token(p), nil).want(t, 403)
	})
	t.Run("unknownStudent404", func(t *testing.T) {
		admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, schoolA.ID, 0)
		s.do("POST", "/api/v1/students/999999/binding-codes", s.token(admin), nil).want(t, 404)
	})
	t.Run("noToken401", func(t *testing.T) {
		s.do("POST", path, "", nil).want(t, 401)
	})
}

// bindFixture is a student with a fresh binding code.
type bindFixture struct {
	school  models.School
	student models.Student
	code    string
}

func newBindFixture(t *testing.T, s *testServer) bindFixture {
	t.Helper()
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	st := modelstest.Student(t, s.db, school.ID, 2, "")
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	r := s.do("POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", st.ID), s.token(admin), nil).want(t, 201)
	return bindFixture{school: school, student: st, code: r.JSON()["code"].(string)}
}

func (b bindFixture) body() map[string]any {
	return map[string]any{"school_id": b.school.ID, "student_no": b.student.StudentNo, "name": b.student.Name, "binding_code": b.code}
}

func TestBindChild(t *testing.T) {
	s := newTestServer(t)
	fx := newBindFixture(t, s)

	t.Run("wrongPartsSameAnswer", func(t *testing.T) {
		p := modelstest.Parent(t, s.db)
		var first resp
		for i, mod := range []func(m map[string]any){
			func(m map[string]any) { m["name"] = "别人" },
			func(m map[string]any) { m["student_no"] = "NOPE" },
			func(m map[string]any) { m["binding_code"] = "ZZZZZZZZ" },
			func(m map[string]any) { m["school_id"] = fx.school.ID + 1000 },
		} {
			b := fx.body()
			mod(b)
			r := s.do("POST", "/api/v1/me/children", s.token(p), b).want(t, 422, "binding_failed")
			if i == 0 {
				first = r
			} else if r.JSON()["message"] != first.JSON()["message"] || len(r.Body) != len(first.Body) {
				t.Fatalf("answers differ: %s vs %s", r.Body, first.Body)
			}
		}
	})
	t.Run("invalidShape422", func(t *testing.T) {
		p := modelstest.Parent(t, s.db)
		r := s.do("POST", "/api/v1/me/children", s.token(p), map[string]any{"school_id": 0}).want(t, 422, "invalid_field")
		if f := r.JSON()["fields"].(map[string]any); len(f) != 4 {
			t.Fatalf("fields %v", f)
		}
	})
	t.Run("staff403", func(t *testing.T) {
		staff := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, fx.school.ID, 0)
		s.do("POST", "/api/v1/me/children", s.token(staff), fx.body()).want(t, 403)
	})
	t.Run("singleUse", func(t *testing.T) {
		p1, p2 := modelstest.Parent(t, s.db), modelstest.Parent(t, s.db)
		s.do("POST", "/api/v1/me/children", s.token(p1), fx.body()).want(t, 201)
		s.do("POST", "/api/v1/me/children", s.token(p2), fx.body()).want(t, 422, "binding_failed")
		s.do("POST", "/api/v1/me/children", s.token(p1), fx.body()).want(t, 422, "binding_failed")
		if ok, _ := models.ParentOf(t.Context(), s.db.R, p2.ID, fx.student.ID); ok {
			t.Fatal("a spent code linked a second parent")
		}
	})
	t.Run("expired", func(t *testing.T) {
		fx2 := newBindFixture(t, s)
		p := modelstest.Parent(t, s.db)
		s.api.Now = func() time.Time { return time.Now().Add(models.BindingCodeTTL + time.Minute) }
		defer func() { s.api.Now = nil }()
		s.do("POST", "/api/v1/me/children", s.token(p), fx2.body()).want(t, 422, "binding_failed")
		s.api.Now = nil
		s.do("POST", "/api/v1/me/children", s.token(p), fx2.body()).want(t, 201)
	})
}

func TestBindChildRateLimited(t *testing.T) {
	url := modelstest.URL(t)
	db1, db2 := modelstest.Open(t, url), modelstest.Open(t, url)
	s1 := newTestServerOn(t, db1, testConfig(t, url))
	s2 := newTestServerOn(t, db2, testConfig(t, url)) // a second instance on the same database
	fx := newBindFixture(t, s1)
	p := modelstest.Parent(t, s1.db)
	tok := s1.token(p)
	wrong := fx.body()
	wrong["binding_code"] = "WRONG234"

	base := time.Now()
	clock := func(d time.Duration) func() time.Time { return func() time.Time { return base.Add(d) } }
	for i := 0; i < models.BindingMaxFailures; i++ {
		s := []*testServer{s1, s2}[i%2]
		s.api.Now = clock(time.Duration(i) * time.Minute)
		s.do("POST", "/api/v1/me/children", tok, wrong).want(t, 422, "binding_failed")
	}
	t.Run("lockedOnOtherInstance429", func(t *testing.T) {
		s2.api.Now = clock(5 * time.Minute)
		r := s2.do("POST", "/api/v1/me/children", tok, wrong).want(t, 429, "binding_rate_limited")
		// The first failure (at 0) leaves the 15-minute window at 15 min.
		if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 590 || ra > 600 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	})
	t.Run("evenRightCodeLocked429", func(t *testing.T) {
		s1.api.Now = clock(6 * time.Minute)
		s1.do("POST", "/api/v1/me/children", tok, fx.body()).want(t, 429, "binding_rate_limited")
	})
	t.Run("otherParentNotLocked", func(t *testing.T) {
		other := modelstest.Parent(t, s1.db)
		s1.do("POST", "/api/v1/me/children", s1.token(other), wrong).want(t, 422, "binding_failed")
	})
	t.Run("unlockedAfterWindow", func(t *testing.T) {
		s1.api.Now = clock(15*time.Minute + time.Second)
		s1.do("POST", "/api/v1/me/children", tok, fx.body()).want(t, 201)
	})
}
