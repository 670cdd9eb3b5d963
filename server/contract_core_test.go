package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestContractErrors: every error status of SPEC's list answers
// {"code","message","request_id"}; 422 on fields carries `fields`.
func TestContractErrors(t *testing.T) {
	s := newTestServer(t)
	r := modelstest.Region(t, s.db, nil)
	a, b := modelstest.School(t, s.db, r.ID), modelstest.School(t, s.db, r.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, a.ID, 0)
	platform := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	st := modelstest.Student(t, s.db, a.ID, 3, "")
	parent := modelstest.Parent(t, s.db, st.ID)
	adminTok, platformTok := s.token(admin), s.token(platform)

	t.Run("badJSON400", func(t *testing.T) {
		checkError(t, s.do("POST", "/api/v1/regions", platformTok, `{"name": "x",`), 400, "bad_json")
		checkError(t, s.do("POST", "/api/v1/regions", platformTok, `not json`), 400, "bad_json")
	})
	t.Run("badParam400", func(t *testing.T) {
		checkError(t, s.do("GET", "/api/v1/schools/abc", adminTok, nil), 400, "")
		checkError(t, s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students?limit=x", a.ID), adminTok, nil), 400, "")
	})
	t.Run("noToken401", func(t *testing.T) {
		checkError(t, s.do("GET", "/api/v1/me", "", nil), 401, "")
	})
	t.Run("expiredToken401", func(t *testing.T) {
		old, err := s.api.Tokens.Sign(admin.Actor(), time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		checkError(t, s.do("GET", "/api/v1/me", old, nil), 401, "")
	})
	t.Run("otherAuthScheme401", func(t *testing.T) {
		checkError(t, s.do("GET", "/api/v1/me", "", nil, "Authorization", "Token "+adminTok), 401, "")
		s.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+adminTok).want(t, 200)
	})
	t.Run("roleNotAllowed403", func(t *testing.T) {
		checkError(t, s.do("POST", "/api/v1/regions", s.token(parent), map[string]any{"name": "x", "code": "x"}), 403, "")
	})
	t.Run("otherTenant404", func(t *testing.T) {
		checkError(t, s.do("GET", fmt.Sprintf("/api/v1/schools/%d", b.ID), adminTok, nil), 404, "")
		checkError(t, s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", b.ID), adminTok, nil), 404, "")
	})
	t.Run("unknownRoute404", func(t *testing.T) {
		checkError(t, s.do("GET", "/api/v1/nothing-here", adminTok, nil), 404, "")
	})
	t.Run("conflict409", func(t *testing.T) {
		body := map[string]any{"name": "冲突区", "code": "CONFLICT1"}
		s.do("POST", "/api/v1/regions", platformTok, body).want(t, 201)
		checkError(t, s.do("POST", "/api/v1/regions", platformTok, body), 409, "")
	})
	t.Run("tooLarge413", func(t *testing.T) {
		// An authenticated JSON route: an anonymous one is refused by
		// fasthttp before the app runs, which app.Test reports as an error
		// (TestUnauthenticatedBodyRefusedBeforeRead checks that 413).
		big := `{"name":"` + strings.Repeat("x", 70<<10) + `","code":"p"}`
		checkError(t, s.do("POST", "/api/v1/regions", platformTok, big), 413, "too_large")
	})
	t.Run("invalidField422", func(t *testing.T) {
		m := checkError(t, s.do("POST", "/api/v1/users", platformTok, map[string]any{"username": "", "password": "x", "role": "teacher"}), 422, "invalid_field")
		checkShape(t, "422", m, shape{"fields": "obj"})
		if f, _ := m["fields"].(map[string]any); len(f) == 0 {
			t.Fatalf("422 without named fields: %v", m)
		}
		// A wrong JSON type is a 422 naming the field, too.
		m = checkError(t, s.do("POST", "/api/v1/schools", platformTok, `{"name":"x","region_id":"one"}`), 422, "invalid_field")
		if f, _ := m["fields"].(map[string]any); f["region_id"] == nil {
			t.Fatalf("type error fields = %v", m["fields"])
		}
	})
	t.Run("rateLimited429", func(t *testing.T) {
		var last resp
		for i := range s.cfg.LoginRateLimit + 1 {
			last = s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": fmt.Sprint("nobody", i), "password": "wrong-pass1"})
		}
		checkError(t, last, 429, "rate_limited")
		if last.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
}

// TestContractAuth: login, refresh and /me answer SPEC's fields.
func TestContractAuth(t *testing.T) {
	s := newTestServer(t)
	r := modelstest.Region(t, s.db, nil)
	sc := modelstest.School(t, s.db, r.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, sc.ID, 0)
	st := modelstest.Student(t, s.db, sc.ID, 3, "13812345678")
	parent := modelstest.Parent(t, s.db, st.ID)

	login := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *admin.Username, "password": modelstest.Password}).want(t, 200)
	pair := decodeObject(t, login.Body)
	checkShape(t, "login", pair, tokenShape)
	if pair["token_type"] != "Bearer" || jnum(pair, "expires_in") <= 0 {
		t.Fatalf("login = %s", login.Body)
	}
	at, rt := pair["access_token"].(string), pair["refresh_token"].(string)

	t.Run("bearerWorks", func(t *testing.T) {
		me := decodeObject(t, s.do("GET", "/api/v1/me", at, nil).want(t, 200).Body)
		checkShape(t, "me", me, shape{"id": "int", "role": "str", "username": "str", "school_id": "int"})
		if me["role"] != "school_admin" || jnum(me, "id") != admin.ID || jnum(me, "school_id") != sc.ID {
			t.Fatalf("me = %v", me)
		}
	})
	t.Run("refreshSpendsOld", func(t *testing.T) {
		next := decodeObject(t, s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt}).want(t, 200).Body)
		checkShape(t, "refresh", next, tokenShape)
		if next["refresh_token"] == rt {
			t.Fatal("refresh answered the same refresh token")
		}
		// A retry within the grace replays the pair; once the pair's refresh
		// token is spent, the old one is a reuse.
		again := decodeObject(t, s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt}).want(t, 200).Body)
		if again["refresh_token"] != next["refresh_token"] || again["access_token"] != next["access_token"] {
			t.Fatal("a retry within the grace answered another pair")
		}
		s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": next["refresh_token"].(string)}).want(t, 200)
		checkError(t, s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt}), 401, "")
	})
	t.Run("parentMeChildren", func(t *testing.T) {
		me := decodeObject(t, s.do("GET", "/api/v1/me", s.token(parent), nil).want(t, 200).Body)
		checkShape(t, "parent me", me, shape{"id": "int", "role": "str", "children": "arr"})
		kids := me["children"].([]any)
		if len(kids) != 1 {
			t.Fatalf("children = %v", kids)
		}
		checkShape(t, "child", kids[0].(map[string]any), studentShape)
	})
	t.Run("badLogin401", func(t *testing.T) {
		checkError(t, s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *admin.Username, "password": "wrong-pass1"}), 401, "")
	})
}

// TestContractTenancy: regions, schools and users take SPEC's bodies.
func TestContractTenancy(t *testing.T) {
	s := newTestServer(t)
	platform := s.token(modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0))

	root := decodeObject(t, s.do("POST", "/api/v1/regions", platform, `{"name": "示范省", "code": "C-P1"}`).want(t, 201).Body)
	checkShape(t, "region", root, shape{"id": "int", "name": "str", "code": "str", "parent_id": "int?"})
	if root["parent_id"] != nil || root["name"] != "示范省" || root["code"] != "C-P1" {
		t.Fatalf("region = %v", root)
	}
	county := decodeObject(t, s.do("POST", "/api/v1/regions", platform,
		fmt.Sprintf(`{"name": "示范县", "code": "C-C1", "parent_id": %d}`, jnum(root, "id"))).want(t, 201).Body)
	if jnum(county, "parent_id") != jnum(root, "id") {
		t.Fatalf("county = %v", county)
	}
	countyID := jnum(county, "id")

	var schoolID int64
	t.Run("schoolWithoutCode", func(t *testing.T) {
		sc := decodeObject(t, s.do("POST", "/api/v1/schools", platform, fmt.Sprintf(`{"name": "实验小学", "region_id": %d}`, countyID)).want(t, 201).Body)
		checkShape(t, "school", sc, shape{"id": "int", "name": "str", "region_id": "int"})
		schoolID = jnum(sc, "id")
	})
	t.Run("schoolWithCode", func(t *testing.T) {
		sc := decodeObject(t, s.do("POST", "/api/v1/schools", platform, fmt.Sprintf(`{"name": "二小", "region_id": %d, "code": "S-2"}`, countyID)).want(t, 201).Body)
		if sc["code"] != "S-2" || jnum(sc, "region_id") != countyID {
			t.Fatalf("school = %v", sc)
		}
		got := decodeObject(t, s.do("GET", fmt.Sprintf("/api/v1/schools/%d", jnum(sc, "id")), platform, nil).want(t, 200).Body)
		checkShape(t, "GET school", got, shape{"id": "int", "name": "str", "region_id": "int", "code": "str?"})
		// Staff in scope: the school's teacher, the region's bureau admin.
		teacher := modelstest.Staff(t, s.db, models.RoleTeacher, jnum(sc, "id"), 0)
		bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, countyID)
		for _, tok := range []string{s.token(teacher), s.token(bureau)} {
			s.do("GET", fmt.Sprintf("/api/v1/schools/%d", jnum(sc, "id")), tok, nil).want(t, 200)
		}
	})
	t.Run("users", func(t *testing.T) {
		for _, c := range []struct {
			name, body string
			want       shape
		}{
			{"schoolAdmin", fmt.Sprintf(`{"username": "c_admin", "password": "Passw0rd1", "role": "school_admin", "school_id": %d}`, schoolID),
				shape{"id": "int", "username": "str", "role": "str", "school_id": "int"}},
			{"bureauAdmin", fmt.Sprintf(`{"username": "c_bureau", "password": "Passw0rd1", "role": "bureau_admin", "region_id": %d}`, countyID),
				shape{"id": "int", "username": "str", "role": "str", "region_id": "int"}},
			{"platformAdmin", `{"username": "c_platform", "password": "Passw0rd1", "role": "platform_admin"}`,
				shape{"id": "int", "username": "str", "role": "str"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				u := decodeObject(t, s.do("POST", "/api/v1/users", platform, c.body).want(t, 201).Body)
				checkShape(t, "user", u, c.want)
				if _, leaked := u["password"]; leaked {
					t.Fatal("password in answer")
				}
				if _, leaked := u["password_hash"]; leaked {
					t.Fatal("password hash in answer")
				}
			})
		}
		checkError(t, s.do("POST", "/api/v1/users", platform, `{"username": "c_admin", "password": "Passw0rd1", "role": "platform_admin"}`), 409, "")
	})
}

// TestContractRoster: SPEC's roster columns and rules, and the student
// object of API answers.
func TestContractRoster(t *testing.T) {
	s := newTestServer(t)
	r := modelstest.Region(t, s.db, nil)
	sc := modelstest.School(t, s.db, r.ID)
	tok := s.token(modelstest.Staff(t, s.db, models.RoleSchoolAdmin, sc.ID, 0))
	path := fmt.Sprintf("/api/v1/schools/%d/roster", sc.ID)
	csv := "student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\n" +
		"20260101,张小明,男,3,2班,张伟,13812345678,父亲\n" +
		"20260101,张小明,男,3,2班,李娜,13912345678,母亲\n" +
		"20260102,王芳,F,1,1班,王强,13700001111,祖父\n" +
		"20260103,赵磊,M,9,3班,赵军,15800002222,\n"
	res := decodeObject(t, s.do("POST", path, tok, csv, "Content-Type", "text/csv").want(t, 200).Body)
	checkShape(t, "roster result", res, shape{"created": "int", "updated": "int"})
	if jnum(res, "created") != 3 || jnum(res, "updated") != 0 {
		t.Fatalf("result = %v", res)
	}
	list := s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", sc.ID), tok, nil).want(t, 200)
	items := checkList(t, "students", list.Body, studentShape)
	want := map[string][3]any{"20260101": {"男", int64(3), "2班"}, "20260102": {"女", int64(1), "1班"}, "20260103": {"男", int64(9), "3班"}}
	for _, it := range items {
		w, ok := want[it["student_no"].(string)]
		if !ok || it["gender"] != w[0] || jnum(it, "grade") != w[1] || it["class"] != w[2] || jnum(it, "school_id") != sc.ID {
			t.Errorf("student %v, want %v", it, w)
		}
		delete(want, it["student_no"].(string))
	}
	if len(want) != 0 {
		t.Fatalf("students missing: %v", want)
	}
	for _, phone := range []string{"13812345678", "13912345678"} {
		if bytes.Contains(list.Body, []byte(phone)) {
			t.Fatal("guardian phone in the students list")
		}
	}
	t.Run("pagedByNextCursor", func(t *testing.T) {
		seen := map[string]bool{}
		next := ""
		for page := 0; page < 5; page++ {
			r := s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students?limit=2&cursor=%s", sc.ID, next), tok, nil).want(t, 200)
			for _, it := range checkList(t, "students page", r.Body, studentShape) {
				if seen[it["student_no"].(string)] {
					t.Fatalf("student %v on two pages", it["student_no"])
				}
				seen[it["student_no"].(string)] = true
			}
			if next = decodeObject(t, r.Body)["next_cursor"].(string); next == "" {
				break
			}
		}
		if len(seen) != 3 || next != "" {
			t.Fatalf("paged through %d students, last cursor %q", len(seen), next)
		}
	})
	t.Run("reimportIdenticalUpdatesNothing", func(t *testing.T) {
		res := decodeObject(t, s.do("POST", path, tok, csv, "Content-Type", "text/csv").want(t, 200).Body)
		if jnum(res, "created") != 0 || jnum(res, "updated") != 0 {
			t.Fatalf("result = %v", res)
		}
	})
	t.Run("badRows422FromRow1", func(t *testing.T) {
		bad := "student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\n" +
			"20260201,甲,X,3,1班,家长,13812345678,母亲\n" +
			"20260202,乙,女,10,1班,家长,13812345679,母亲\n"
		m := checkError(t, s.do("POST", path, tok, bad, "Content-Type", "text/csv"), 422, "")
		checkShape(t, "roster 422", m, shape{"errors": "arr"})
		got := map[int64]string{}
		for _, e := range m["errors"].([]any) {
			row := e.(map[string]any)
			checkShape(t, "row error", row, shape{"row": "int", "field": "str", "message": "str"})
			got[jnum(row, "row")] = row["field"].(string)
		}
		if got[1] != "gender" || got[2] != "grade" {
			t.Fatalf("row errors = %v, want row 1 gender and row 2 grade", m["errors"])
		}
		var n int64
		s.db.R.Raw("SELECT COUNT(*) FROM students WHERE school_id = ?", sc.ID).Scan(&n)
		if n != 3 {
			t.Fatalf("%d students after a rejected file", n)
		}
	})
}

// TestContractOperations: /healthz, /readyz, /metrics, /openapi.yaml answer
// without a token.
func TestContractOperations(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct{ path, ctype string }{
		{"/healthz", "application/json"}, {"/readyz", "application/json"},
		{"/metrics", "text/plain"}, {"/openapi.yaml", "application/yaml"},
	} {
		t.Run(c.path, func(t *testing.T) {
			r := s.do("GET", c.path, "", nil).want(t, 200)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), c.ctype) || len(r.Body) == 0 {
				t.Fatalf("%s: %s, %d bytes", c.path, r.Header.Get("Content-Type"), len(r.Body))
			}
		})
	}
}

// TestContractUserAddCommand: `kehou user add` with SPEC's flags creates a
// user in the database the server reads, who can then log in.
func TestContractUserAddCommand(t *testing.T) {
	url := modelstest.URL(t)
	env := envFor("DATABASE_URL", url)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "add", "--username", "first_admin", "--password", "Passw0rd1",
		"--role", "platform_admin"}, env, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	db := modelstest.Open(t, url)
	s := newTestServerOn(t, db, testConfig(t, url))
	pair := decodeObject(t, s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "first_admin", "password": "Passw0rd1"}).want(t, 200).Body)
	tok := pair["access_token"].(string)
	reg := decodeObject(t, s.do("POST", "/api/v1/regions", tok, map[string]any{"name": "县", "code": "UA-1"}).want(t, 201).Body)
	sc := decodeObject(t, s.do("POST", "/api/v1/schools", tok, map[string]any{"name": "校", "region_id": jnum(reg, "id")}).want(t, 201).Body)
	for _, args := range [][]string{
		{"--username", "cli_school", "--password", "Passw0rd1", "--role", "school_admin", "--school-id", fmt.Sprint(jnum(sc, "id"))},
		{"--username", "cli_bureau", "--password", "Passw0rd1", "--role", "bureau_admin", "--region-id", fmt.Sprint(jnum(reg, "id"))},
	} {
		if err := run(context.Background(), append([]string{"user", "add"}, args...), env, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatalf("user add %v: %v", args, err)
		}
		me := decodeObject(t, s.do("GET", "/api/v1/me", decodeObject(t, s.do("POST", "/api/v1/auth/login", "",
			map[string]string{"username": args[1], "password": "Passw0rd1"}).want(t, 200).Body)["access_token"].(string), nil).want(t, 200).Body)
		if me["role"] != args[5] {
			t.Fatalf("me = %v", me)
		}
	}
	if err := run(context.Background(), []string{"user", "add", "--username", "x"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("user add without password and role succeeded")
	}
}
