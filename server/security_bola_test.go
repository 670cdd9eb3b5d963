package main

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// bolaTenant is one school in its own region, fully populated.
type bolaTenant struct {
	region                 models.Region
	school                 models.School
	admin, teacher, bureau models.User
	student, sibling       models.Student
	parent                 models.User
	termID, offeringID     int64
	draftID, enrollmentID  int64
	surveyID, regionSurvey int64
}

// bolaWorld is two tenants in sibling regions, plus a parent of another
// family in school A and a platform admin.
type bolaWorld struct {
	*testServer
	a, b        bolaTenant
	province    models.Region // the parent of both tenants' regions
	otherFamily models.User   // parent of a different child of school A
	otherChild  models.Student
	platform    models.User
}

func newBolaTenant(t *testing.T, s *testServer, province int64, phone string) bolaTenant {
	t.Helper()
	var x bolaTenant
	x.region = modelstest.Region(t, s.db, &province)
	x.school = modelstest.School(t, s.db, x.region.ID)
	x.admin = modelstest.Staff(t, s.db, models.RoleSchoolAdmin, x.school.ID, 0)
	x.teacher = modelstest.Staff(t, s.db, models.RoleTeacher, x.school.ID, 0)
	x.bureau = modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, x.region.ID)
	x.student = modelstest.Student(t, s.db, x.school.ID, 3, phone)
	x.sibling = modelstest.Student(t, s.db, x.school.ID, 4, "")
	x.parent = modelstest.Parent(t, s.db, x.student.ID, x.sibling.ID)
	adm := s.token(x.admin)
	x.termID = jnum(s.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", x.school.ID), adm, map[string]any{
		"name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201).JSON(), "id")
	body := func(name string) map[string]any {
		return map[string]any{"term_id": x.termID, "kind": "club", "name": name, "category": "sports",
			"weekdays": []int{2, 4}, "start_time": "16:30", "end_time": "18:00", "capacity": 30,
			"grades": []int{3, 4, 5, 6}, "mode": "fcfs", "waitlist": true,
			"enroll_opens_at":  time.Now().Add(-time.Hour).Format(time.RFC3339),
			"enroll_closes_at": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}
	}
	path := fmt.Sprintf("/api/v1/schools/%d/offerings", x.school.ID)
	x.offeringID = jnum(s.do("POST", path, adm, body("篮球社")).want(t, 201).JSON(), "id")
	s.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", x.offeringID), adm, nil).want(t, 200)
	x.draftID = jnum(s.do("POST", path, adm, body("草稿社")).want(t, 201).JSON(), "id")
	x.enrollmentID = jnum(s.do("POST", "/api/v1/enrollments", s.token(x.parent),
		map[string]any{"student_id": x.student.ID, "offering_id": x.offeringID}).want(t, 201).JSON(), "id")
	now := time.Now()
	survey := func(by models.User, target string, id int64) int64 {
		return jnum(s.do("POST", "/api/v1/surveys", s.token(by), map[string]any{target: id, "title": "满意度调查",
			"opens_at": rfc(now.Add(-time.Hour)), "closes_at": rfc(now.Add(24 * time.Hour))}).want(t, 201).JSON(), "id")
	}
	x.surveyID = survey(x.admin, "school_id", x.school.ID)
	x.regionSurvey = survey(x.bureau, "region_id", x.region.ID)
	s.do("POST", fmt.Sprintf("/api/v1/surveys/%d/responses", x.surveyID), s.token(x.parent), map[string]any{
		"student_id": x.student.ID, "support": "support", "satisfaction": "satisfied"}).want(t, 201)
	return x
}

func newBolaWorld(t *testing.T) *bolaWorld {
	t.Helper()
	s := newTestServer(t)
	w := &bolaWorld{testServer: s}
	w.province = modelstest.Region(t, s.db, nil)
	w.a = newBolaTenant(t, s, w.province.ID, "13800000001")
	w.b = newBolaTenant(t, s, w.province.ID, "13900000002")
	w.otherChild = modelstest.Student(t, s.db, w.a.school.ID, 3, "13700000003")
	w.otherFamily = modelstest.Parent(t, s.db, w.otherChild.ID)
	w.platform = modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	// Snapshots for today, so a stats 404 below is the tenancy check and
	// not a missing snapshot.
	s.do("POST", "/api/v1/jobs/stats/run", s.token(w.platform), nil).want(t, 200)
	return w
}

// fingerprint is every count and state a forbidden request could change.
func (w *bolaWorld) fingerprint(t *testing.T) map[string]string {
	t.Helper()
	qs := map[string]string{
		"users":          "SELECT COUNT(*) FROM users",
		"regions":        "SELECT COUNT(*) FROM regions",
		"schools":        "SELECT COUNT(*) FROM schools",
		"students":       "SELECT COUNT(*) || ':' || COALESCE(SUM(grade), 0) FROM students",
		"guardians":      "SELECT COUNT(*) FROM guardians",
		"links":          "SELECT COUNT(*) FROM parent_students",
		"terms":          "SELECT COUNT(*) FROM terms",
		"offerings":      "SELECT COUNT(*) FROM offerings",
		"offeringStates": "SELECT COALESCE(SUM(id * LENGTH(status) + capacity + enrolled_count * 7 + waitlisted_count * 11 + term_id), 0) FROM offerings",
		"offeringNames":  "SELECT COALESCE(SUM(LENGTH(name)), 0) FROM offerings",
		"enrollments":    "SELECT COUNT(*) FROM enrollments",
		"liveEnrolled":   "SELECT COUNT(*) FROM enrollments WHERE status = 'enrolled'",
		"surveys":        "SELECT COUNT(*) FROM surveys",
		"responses":      "SELECT COUNT(*) FROM survey_responses",
		"bindingCodes":   "SELECT COUNT(*) FROM binding_codes",
		"draws":          "SELECT COUNT(*) FROM lottery_draws",
		"outbox":         "SELECT COUNT(*) FROM outbox",
	}
	out := map[string]string{}
	for k, q := range qs {
		var v string
		if err := w.db.W.Raw(q).Row().Scan(&v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = v
	}
	var st string
	w.db.W.Raw("SELECT status FROM enrollments WHERE id = ?", w.a.enrollmentID).Row().Scan(&st)
	out["enrollmentA"] = st
	return out
}

var idPattern = regexp.MustCompile(`([/=])\d+`)

// TestCrossTenantAccess: every route that takes an object id or a scope
// parameter, called by the actors of tenant B (a sibling region) and by a
// parent of another family in school A on tenant A's objects, answers 404
// (403 for a role never allowed there), and the database is unchanged.
func TestCrossTenantAccess(t *testing.T) {
	w := newBolaWorld(t)
	a, b := w.a, w.b
	actors := map[string]string{
		"adminB": w.token(b.admin), "teacherB": w.token(b.teacher), "bureauB": w.token(b.bureau),
		"parentB": w.token(b.parent), "otherFamilyA": w.token(w.otherFamily),
	}
	type req struct {
		method, path string
		body         any
		// want maps actor → status; actors not listed are not run.
		want map[string]int
		// owner, when set, is a tenant-A actor that gets 200 (a control:
		// the route works, so the refusals above are the tenancy check).
		owner string
	}
	const nf, fb, bad = http.StatusNotFound, http.StatusForbidden, http.StatusUnprocessableEntity
	staffNF := map[string]int{"adminB": nf, "teacherB": nf, "bureauB": nf, "parentB": fb, "otherFamilyA": fb}
	schoolStaffNF := map[string]int{"adminB": nf, "teacherB": nf, "bureauB": fb, "parentB": fb, "otherFamilyA": fb}
	adminNF := map[string]int{"adminB": nf, "teacherB": fb, "bureauB": fb, "parentB": fb, "otherFamilyA": fb}
	everyoneNF := map[string]int{"adminB": nf, "teacherB": nf, "bureauB": nf, "parentB": nf}
	guardianNF := map[string]int{"adminB": nf, "teacherB": nf, "bureauB": fb, "parentB": nf, "otherFamilyA": nf}
	statsNF := map[string]int{"adminB": nf, "teacherB": fb, "bureauB": nf, "parentB": fb, "otherFamilyA": fb}
	platformOnly := map[string]int{"adminB": fb, "teacherB": fb, "bureauB": fb, "parentB": fb, "otherFamilyA": fb}
	now := time.Now()
	surveyBody := func(target string, id int64) map[string]any {
		return map[string]any{target: id, "title": "越权问卷", "opens_at": rfc(now), "closes_at": rfc(now.Add(time.Hour))}
	}
	reqs := []req{
		{"GET", fmt.Sprintf("/api/v1/schools/%d", a.school.ID), nil, staffNF, "adminA"},
		{"GET", fmt.Sprintf("/api/v1/schools/%d/students", a.school.ID), nil, schoolStaffNF, "teacherA"},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/roster", a.school.ID),
			"student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\nX1,入侵者,男,3,1班,某人,13600000000,父亲\n",
			adminNF, ""},
		{"POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", a.student.ID), nil, adminNF, ""},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/terms", a.school.ID),
			map[string]any{"name": "越权学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2},
			map[string]int{"adminB": nf, "teacherB": fb, "bureauB": fb, "parentB": fb, "otherFamilyA": fb}, ""},
		{"GET", fmt.Sprintf("/api/v1/schools/%d/terms", a.school.ID), nil, everyoneNF, "parentA"},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", a.school.ID, a.termID), nil, adminNF, ""},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", b.school.ID, a.termID), nil,
			map[string]int{"adminB": nf}, ""},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/offerings", a.school.ID), map[string]any{"term_id": a.termID, "name": "越权"},
			adminNF, ""},
		{"GET", fmt.Sprintf("/api/v1/schools/%d/offerings", a.school.ID), nil, everyoneNF, "parentA"},
		{"GET", fmt.Sprintf("/api/v1/offerings/%d", a.offeringID), nil, everyoneNF, "parentA"},
		{"GET", fmt.Sprintf("/api/v1/offerings/%d", a.draftID), nil,
			map[string]int{"adminB": nf, "teacherB": nf, "bureauB": nf, "parentB": nf, "otherFamilyA": nf, "parentA": nf}, "teacherA"},
		{"PATCH", fmt.Sprintf("/api/v1/offerings/%d", a.offeringID), map[string]any{"name": "改名", "capacity": 1}, adminNF, ""},
		{"POST", fmt.Sprintf("/api/v1/offerings/%d/publish", a.draftID), nil, adminNF, ""},
		{"POST", fmt.Sprintf("/api/v1/offerings/%d/close", a.offeringID), nil, adminNF, ""},
		{"POST", fmt.Sprintf("/api/v1/offerings/%d/cancel", a.offeringID), nil, adminNF, ""},
		{"GET", fmt.Sprintf("/api/v1/offerings/%d/roster", a.offeringID), nil, schoolStaffNF, "teacherA"},
		{"POST", "/api/v1/enrollments", map[string]any{"student_id": a.sibling.ID, "offering_id": a.offeringID}, guardianNF, ""},
		{"POST", "/api/v1/enrollments", map[string]any{"student_id": b.student.ID, "offering_id": a.offeringID},
			map[string]int{"parentB": nf, "adminB": nf, "teacherB": nf}, ""},
		// A parent cannot learn that a draft exists by enrolling in it.
		{"POST", "/api/v1/enrollments", map[string]any{"student_id": a.sibling.ID, "offering_id": a.draftID},
			map[string]int{"parentA": nf}, ""},
		{"DELETE", fmt.Sprintf("/api/v1/enrollments/%d", a.enrollmentID), nil, guardianNF, ""},
		{"GET", fmt.Sprintf("/api/v1/students/%d/enrollments", a.student.ID), nil, guardianNF, "parentA"},
		{"POST", "/api/v1/surveys", surveyBody("school_id", a.school.ID),
			map[string]int{"adminB": nf, "teacherB": fb, "bureauB": nf, "parentB": fb, "otherFamilyA": fb}, ""},
		{"POST", "/api/v1/surveys", surveyBody("region_id", a.region.ID),
			map[string]int{"adminB": nf, "teacherB": fb, "bureauB": nf, "parentB": fb, "otherFamilyA": fb}, ""},
		{"POST", fmt.Sprintf("/api/v1/surveys/%d/responses", a.surveyID),
			map[string]any{"student_id": b.student.ID, "support": "oppose", "satisfaction": "unsatisfied"},
			map[string]int{"parentB": nf, "adminB": fb, "teacherB": fb, "bureauB": fb}, ""},
		{"POST", fmt.Sprintf("/api/v1/surveys/%d/responses", a.surveyID),
			map[string]any{"student_id": a.sibling.ID, "support": "oppose", "satisfaction": "unsatisfied"},
			map[string]int{"parentB": nf, "otherFamilyA": nf}, ""},
		{"POST", fmt.Sprintf("/api/v1/surveys/%d/responses", a.regionSurvey),
			map[string]any{"student_id": b.student.ID, "support": "oppose", "satisfaction": "unsatisfied"},
			map[string]int{"parentB": nf}, ""},
		{"GET", fmt.Sprintf("/api/v1/stats/overview?school_id=%d", a.school.ID), nil, statsNF, "adminA"},
		{"GET", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", a.region.ID), nil, statsNF, "bureauA"},
		{"GET", fmt.Sprintf("/api/v1/stats/schools?region_id=%d", a.region.ID), nil,
			map[string]int{"adminB": fb, "teacherB": fb, "bureauB": nf, "parentB": fb}, "bureauA"},
		{"GET", fmt.Sprintf("/api/v1/stats/schools?region_id=%d&format=csv", a.region.ID), nil,
			map[string]int{"bureauB": nf}, "bureauA"},
		{"GET", fmt.Sprintf("/api/v1/stats/trend?metric=students&school_id=%d", a.school.ID), nil, statsNF, "adminA"},
		{"GET", fmt.Sprintf("/api/v1/stats/trend?metric=students&region_id=%d", a.region.ID), nil, statsNF, "bureauA"},
		{"GET", fmt.Sprintf("/api/v1/stats/breakdown?by=grade&school_id=%d", a.school.ID), nil, statsNF, "adminA"},
		{"GET", fmt.Sprintf("/api/v1/stats/breakdown?by=category&region_id=%d", a.region.ID), nil, statsNF, "bureauA"},
		{"GET", "/api/v1/jobs/runs", nil, platformOnly, ""},
		{"POST", "/api/v1/jobs/stats/run", nil, platformOnly, ""},
		{"POST", "/api/v1/regions", map[string]any{"name": "越权区", "code": "X1", "parent_id": a.region.ID}, platformOnly, ""},
		// Ids of another tenant in a body: a field error that says
		// nothing about whether the object exists.
		{"POST", "/api/v1/schools", map[string]any{"name": "越权学校", "region_id": a.region.ID},
			map[string]int{"bureauB": bad, "adminB": fb, "parentB": fb}, ""},
		{"POST", "/api/v1/users", map[string]any{"username": "intruder1", "password": "passw0rd1", "role": "teacher",
			"school_id": a.school.ID}, map[string]int{"adminB": bad, "bureauB": bad, "teacherB": fb, "parentB": fb}, ""},
		{"POST", "/api/v1/users", map[string]any{"username": "intruder2", "password": "passw0rd1", "role": "bureau_admin",
			"region_id": a.region.ID}, map[string]int{"adminB": fb, "bureauB": bad}, ""},
		{"POST", "/api/v1/users", map[string]any{"username": "intruder3", "password": "passw0rd1", "role": "platform_admin"},
			map[string]int{"adminB": fb, "bureauB": fb}, ""},
		// Above one's own scope: a bureau admin of the parent region.
		{"POST", "/api/v1/users", map[string]any{"username": "intruder4", "password": "passw0rd1", "role": "bureau_admin",
			"region_id": w.province.ID}, map[string]int{"bureauB": bad}, ""},
		{"GET", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", w.province.ID), nil, map[string]int{"bureauB": nf, "adminB": nf}, ""},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/offerings", b.school.ID), map[string]any{"term_id": a.termID, "kind": "club",
			"name": "借用学期", "weekdays": []int{1}, "start_time": "16:00", "end_time": "17:00", "capacity": 5, "grades": []int{3},
			"enroll_opens_at": rfc(now), "enroll_closes_at": rfc(now.Add(time.Hour))}, map[string]int{"adminB": bad}, ""},
		{"PATCH", fmt.Sprintf("/api/v1/offerings/%d", b.draftID), map[string]any{"term_id": a.termID},
			map[string]int{"adminB": bad}, ""},
		{"POST", "/api/v1/surveys", map[string]any{"school_id": b.school.ID, "term_id": a.termID, "title": "借用学期",
			"opens_at": rfc(now), "closes_at": rfc(now.Add(time.Hour))}, map[string]int{"adminB": bad}, ""},
	}
	owners := map[string]string{"adminA": w.token(a.admin), "teacherA": w.token(a.teacher), "bureauA": w.token(a.bureau),
		"parentA": w.token(a.parent)}
	actors["parentA"] = owners["parentA"]
	before := w.fingerprint(t)
	for _, r := range reqs {
		route := r.method + " " + idPattern.ReplaceAllString(r.path, "${1}{id}")
		for actor, status := range r.want {
			t.Run(route+"/"+actor, func(t *testing.T) {
				var hdr []string
				if _, csv := r.body.(string); csv {
					hdr = []string{"Content-Type", "text/csv"}
				}
				got := w.do(r.method, r.path, actors[actor], r.body, hdr...)
				if got.Status != status {
					t.Fatalf("got %d %s, want %d", got.Status, got.Body, status)
				}
			})
		}
		if r.owner != "" {
			t.Run(route+"/"+r.owner+"Control", func(t *testing.T) {
				w.do(r.method, r.path, owners[r.owner], r.body).want(t, 200)
			})
		}
	}
	t.Run("GET /surveys/listsNoOtherTenantSurveys", func(t *testing.T) {
		for _, actor := range []string{"adminB", "teacherB", "bureauB", "parentB"} {
			r := w.do("GET", "/api/v1/surveys", actors[actor], nil).want(t, 200)
			for _, it := range r.JSON()["items"].([]any) {
				id := jnum(it.(map[string]any), "id")
				if id == a.surveyID || id == a.regionSurvey {
					t.Errorf("%s sees tenant A's survey %d", actor, id)
				}
			}
		}
	})
	t.Run("GET /schools/{id}/offerings/otherFamilyANoDrafts", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings", a.school.ID), actors["otherFamilyA"], nil).want(t, 200)
		items := r.JSON()["items"].([]any)
		if len(items) != 1 || jnum(items[0].(map[string]any), "id") != a.offeringID {
			t.Fatalf("parent sees %s", r.Body)
		}
	})
	t.Run("databaseUnchanged", func(t *testing.T) {
		after := w.fingerprint(t)
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s changed: %s → %s", k, v, after[k])
			}
		}
		if after["enrollmentA"] != string(models.StatusEnrolled) {
			t.Errorf("enrollment A is %q", after["enrollmentA"])
		}
	})
}
