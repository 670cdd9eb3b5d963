package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// surveyWorld: province › city › {county1, county2}; school a in county1,
// school b in county2; students a1, a2 (siblings, one parent) in a, b1 in b
// with its own parent.
type surveyWorld struct {
	s                        *testServer
	city, county1, county2   models.Region
	a, b                     models.School
	a1, a2, b1               models.Student
	parentA, parentB         models.User
	bureauCity, bureauCounty models.User
	bureauCounty2            models.User
	adminA, adminB, teacherA models.User
}

func newSurveyWorld(t *testing.T) surveyWorld {
	t.Helper()
	s := newTestServer(t)
	w := surveyWorld{s: s}
	db := s.db
	province := modelstest.Region(t, db, nil)
	w.city = modelstest.Region(t, db, &province.ID)
	w.county1 = modelstest.Region(t, db, &w.city.ID)
	w.county2 = modelstest.Region(t, db, &w.city.ID)
	w.a = modelstest.School(t, db, w.county1.ID)
	w.b = modelstest.School(t, db, w.county2.ID)
	w.a1 = modelstest.Student(t, db, w.a.ID, 3, "")
	w.a2 = modelstest.Student(t, db, w.a.ID, 5, "")
	w.b1 = modelstest.Student(t, db, w.b.ID, 3, "")
	w.parentA = modelstest.Parent(t, db, w.a1.ID, w.a2.ID)
	w.parentB = modelstest.Parent(t, db, w.b1.ID)
	w.bureauCity = modelstest.Staff(t, db, models.RoleBureauAdmin, 0, w.city.ID)
	w.bureauCounty = modelstest.Staff(t, db, models.RoleBureauAdmin, 0, w.county1.ID)
	w.bureauCounty2 = modelstest.Staff(t, db, models.RoleBureauAdmin, 0, w.county2.ID)
	w.adminA = modelstest.Staff(t, db, models.RoleSchoolAdmin, w.a.ID, 0)
	w.adminB = modelstest.Staff(t, db, models.RoleSchoolAdmin, w.b.ID, 0)
	w.teacherA = modelstest.Staff(t, db, models.RoleTeacher, w.a.ID, 0)
	return w
}

func rfc(t time.Time) string { return t.Format(time.RFC3339) }

// createSurvey posts a survey open from `from` to `to` relative to now.
func (w surveyWorld) createSurvey(t *testing.T, by models.User, target string, id int64, from, to time.Duration) int64 {
	t.Helper()
	now := time.Now()
	r := w.s.do("POST", "/api/v1/surveys", w.s.token(by), map[string]any{
		target: id, "title": "课后服务家长满意度调查", "opens_at": rfc(now.Add(from)), "closes_at": rfc(now.Add(to))})
	r.want(t, 201)
	return int64(r.JSON()["id"].(float64))
}

func TestCreateSurvey(t *testing.T) {
	w := newSurveyWorld(t)
	s := w.s
	now := time.Now()
	body := func(kv ...any) map[string]any {
		m := map[string]any{"title": "问卷", "opens_at": rfc(now), "closes_at": rfc(now.Add(24 * time.Hour))}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	var termA int64
	if err := s.db.W.Raw(`INSERT INTO terms (school_id, name, starts_on, ends_on, max_clubs, created_at)
		VALUES (?, '秋季', '2026-09-01', '2027-01-20', 2, ?) RETURNING id`, w.a.ID, time.Now().UTC()).Scan(&termA).Error; err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		by     models.User
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"bureauOwnRegion201", w.bureauCity, body("region_id", w.city.ID), 201, "", ""},
		{"bureauSubregion201", w.bureauCity, body("region_id", w.county2.ID), 201, "", ""},
		{"bureauParentRegion404", w.bureauCounty, body("region_id", w.city.ID), 404, "not_found", ""},
		{"bureauSiblingRegion404", w.bureauCounty, body("region_id", w.county2.ID), 404, "not_found", ""},
		{"bureauSchool404", w.bureauCity, body("school_id", w.a.ID), 404, "not_found", ""},
		{"schoolAdminOwnSchool201", w.adminA, body("school_id", w.a.ID, "term_id", termA), 201, "", ""},
		{"schoolAdminOtherSchool404", w.adminB, body("school_id", w.a.ID), 404, "not_found", ""},
		{"schoolAdminRegion404", w.adminA, body("region_id", w.county1.ID), 404, "not_found", ""},
		{"termOfOtherSchool422", w.adminB, body("school_id", w.b.ID, "term_id", termA), 422, "invalid_field", "term_id"},
		{"bothTargets422", w.bureauCity, body("region_id", w.city.ID, "school_id", w.a.ID), 422, "invalid_field", "region_id"},
		{"noTarget422", w.bureauCity, body(), 422, "invalid_field", "region_id"},
		{"closesBeforeOpens422", w.bureauCity, body("region_id", w.city.ID, "closes_at", rfc(now.Add(-time.Hour))), 422, "invalid_field", "closes_at"},
		{"badTime422", w.bureauCity, body("region_id", w.city.ID, "opens_at", "tomorrow"), 422, "invalid_field", "opens_at"},
		{"emptyTitle422", w.bureauCity, body("region_id", w.city.ID, "title", " "), 422, "invalid_field", "title"},
		{"teacher403", w.teacherA, body("school_id", w.a.ID), 403, "forbidden", ""},
		{"parent403", w.parentA, body("school_id", w.a.ID), 403, "forbidden", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("POST", "/api/v1/surveys", s.token(c.by), c.body)
			if c.code == "" {
				r.want(t, c.status)
			} else {
				r.want(t, c.status, c.code)
			}
			if c.field != "" {
				if f, _ := r.JSON()["fields"].(map[string]any); f[c.field] == nil {
					t.Fatalf("fields %v lack %s", r.JSON()["fields"], c.field)
				}
			}
		})
	}
}

func TestSurveyResponses(t *testing.T) {
	w := newSurveyWorld(t)
	s := w.s
	county1 := w.createSurvey(t, w.bureauCounty, "region_id", w.county1.ID, -time.Hour, time.Hour)
	schoolA := w.createSurvey(t, w.adminA, "school_id", w.a.ID, -time.Hour, time.Hour)
	closed := w.createSurvey(t, w.bureauCity, "region_id", w.city.ID, -2*time.Hour, -time.Hour)
	future := w.createSurvey(t, w.bureauCity, "region_id", w.city.ID, time.Hour, 2*time.Hour)
	answer := func(student int64, kv ...any) map[string]any {
		m := map[string]any{"student_id": student, "support": "support", "satisfaction": "satisfied", "comment": "很好"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	path := func(id int64) string { return fmt.Sprintf("/api/v1/surveys/%d/responses", id) }
	cases := []struct {
		name   string
		by     models.User
		survey int64
		body   map[string]any
		status int
		code   string
	}{
		{"guardian201", w.parentA, county1, answer(w.a1.ID), 201, ""},
		{"secondForSameStudent409", w.parentA, county1, answer(w.a1.ID, "support", "oppose"), 409, "already_responded"},
		{"siblingOwnResponse201", w.parentA, county1, answer(w.a2.ID, "satisfaction", "basically_satisfied"), 201, ""},
		{"schoolSurvey201", w.parentA, schoolA, answer(w.a1.ID, "comment", ""), 201, ""},
		{"notGuardian404", w.parentB, county1, answer(w.a1.ID), 404, "not_found"},
		{"studentOutsideSurveyScope404", w.parentB, county1, answer(w.b1.ID), 404, "not_found"},
		{"otherSchoolSurvey404", w.parentB, schoolA, answer(w.b1.ID), 404, "not_found"},
		{"closed409", w.parentA, closed, answer(w.a1.ID), 409, "survey_closed"},
		{"notYetOpen409", w.parentB, future, answer(w.b1.ID), 409, "survey_closed"},
		{"noSuchSurvey404", w.parentA, 999999, answer(w.a1.ID), 404, "not_found"},
		{"badSupport422", w.parentB, closed, answer(w.b1.ID, "support", "yes"), 422, "invalid_field"},
		{"badSatisfaction422", w.parentB, closed, answer(w.b1.ID, "satisfaction", "happy"), 422, "invalid_field"},
		{"commentTooLong422", w.parentB, closed, answer(w.b1.ID, "comment", strings.Repeat("好", 501)), 422, "invalid_field"},
		{"teacher403", w.teacherA, county1, answer(w.a1.ID), 403, "forbidden"},
		{"bureau403", w.bureauCity, county1, answer(w.a1.ID), 403, "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("POST", path(c.survey), s.token(c.by), c.body)
			if c.code == "" {
				r.want(t, c.status)
			} else {
				r.want(t, c.status, c.code)
			}
		})
	}
	t.Run("comment500RunesAccepted", func(t *testing.T) {
		open := w.createSurvey(t, w.bureauCity, "region_id", w.city.ID, -time.Hour, time.Hour)
		s.do("POST", path(open), s.token(w.parentB), answer(w.b1.ID, "comment", strings.Repeat("好", 500))).want(t, 201)
	})
	t.Run("fieldsNamed", func(t *testing.T) {
		r := s.do("POST", path(county1), s.token(w.parentA), answer(w.a2.ID, "support", "maybe", "satisfaction", "x"))
		f, _ := r.JSON()["fields"].(map[string]any)
		if f["support"] == nil || f["satisfaction"] == nil {
			t.Fatalf("fields = %v", r.JSON())
		}
	})
	t.Run("storedOncePerStudent", func(t *testing.T) {
		var n int64
		s.db.R.Raw("SELECT COUNT(*) FROM survey_responses WHERE survey_id = ? AND student_id = ?", county1, w.a1.ID).Scan(&n)
		if n != 1 {
			t.Fatalf("%d responses stored", n)
		}
	})
}

func TestListSurveys(t *testing.T) {
	w := newSurveyWorld(t)
	s := w.s
	city := w.createSurvey(t, w.bureauCity, "region_id", w.city.ID, -time.Hour, time.Hour)
	county2 := w.createSurvey(t, w.bureauCounty2, "region_id", w.county2.ID, -time.Hour, time.Hour)
	schoolA := w.createSurvey(t, w.adminA, "school_id", w.a.ID, -time.Hour, time.Hour)
	closedA := w.createSurvey(t, w.adminA, "school_id", w.a.ID, -2*time.Hour, -time.Hour)
	s.do("POST", fmt.Sprintf("/api/v1/surveys/%d/responses", city), s.token(w.parentA),
		map[string]any{"student_id": w.a1.ID, "support": "support", "satisfaction": "satisfied"}).want(t, 201)

	ids := func(r resp) map[int64]map[string]any {
		out := map[int64]map[string]any{}
		for _, it := range r.JSON()["items"].([]any) {
			m := it.(map[string]any)
			out[int64(m["id"].(float64))] = m
		}
		return out
	}
	t.Run("parentSeesOpenSurveysOfChildren", func(t *testing.T) {
		got := ids(s.do("GET", "/api/v1/surveys", s.token(w.parentA), nil).want(t, 200))
		if len(got) != 2 || got[city] == nil || got[schoolA] == nil {
			t.Fatalf("parent A sees %v, want the city's and school A's open surveys", got)
		}
		if fmt.Sprint(got[city]["student_ids"]) != fmt.Sprintf("[%d %d]", w.a1.ID, w.a2.ID) ||
			fmt.Sprint(got[city]["responded_student_ids"]) != fmt.Sprintf("[%d]", w.a1.ID) {
			t.Fatalf("city survey for parent A = %v", got[city])
		}
		gotB := ids(s.do("GET", "/api/v1/surveys", s.token(w.parentB), nil).want(t, 200))
		if len(gotB) != 2 || gotB[city] == nil || gotB[county2] == nil {
			t.Fatalf("parent B sees %v", gotB)
		}
	})
	t.Run("staffScope", func(t *testing.T) {
		cases := []struct {
			name string
			by   models.User
			want []int64
		}{
			{"cityBureau", w.bureauCity, []int64{city, county2, schoolA, closedA}},
			{"county2Bureau", w.bureauCounty2, []int64{county2}},
			{"county1Bureau", w.bureauCounty, []int64{schoolA, closedA}},
			{"schoolAdminA", w.adminA, []int64{city, schoolA, closedA}},
			{"schoolAdminB", w.adminB, []int64{city, county2}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := ids(s.do("GET", "/api/v1/surveys", s.token(c.by), nil).want(t, 200))
				if len(got) != len(c.want) {
					t.Fatalf("sees %d surveys, want %v", len(got), c.want)
				}
				for _, id := range c.want {
					if got[id] == nil {
						t.Fatalf("does not see survey %d", id)
					}
				}
			})
		}
	})
	t.Run("noComments", func(t *testing.T) {
		r := s.do("GET", "/api/v1/surveys", s.token(w.bureauCity), nil).want(t, 200)
		if strings.Contains(string(r.Body), "comment") {
			t.Fatal("survey list leaks comments")
		}
	})
}
