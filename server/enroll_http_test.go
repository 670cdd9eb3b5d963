package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestEnrollHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, func(m map[string]any) { m["capacity"] = 1 })
	body := func(studentID, offeringID int64) map[string]any {
		return map[string]any{"student_id": studentID, "offering_id": offeringID}
	}
	var enrollmentID int64
	t.Run("enroll201", func(t *testing.T) {
		got := w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, oid)).want(t, 201).JSON()
		enrollmentID = jnum(got, "id")
		if got["status"] != "enrolled" || jnum(got, "student_id") != w.student.ID || jnum(got, "offering_id") != oid ||
			jnum(got, "applied_by") != w.parent.ID || got["created_at"] == "" || got["waitlist_position"] != nil {
			t.Fatalf("enrollment = %v", got)
		}
	})
	t.Run("alreadyEnrolled409", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, oid)).want(t, 409, "already_enrolled")
	})
	second := modelstest.Student(t, w.db, w.schoolID, 4, "")
	t.Run("waitlisted201", func(t *testing.T) {
		got := w.do("POST", "/api/v1/enrollments", w.teacherTok, body(second.ID, oid)).want(t, 201).JSON()
		if got["status"] != "waitlisted" || jnum(got, "waitlist_position") != 1 {
			t.Fatalf("enrollment = %v", got)
		}
	})
	t.Run("full409", func(t *testing.T) {
		noWait := w.publishedOffering(t, func(m map[string]any) { m["capacity"] = 1; m["waitlist"] = false; m["weekdays"] = []int{1} })
		w.do("POST", "/api/v1/enrollments", w.adminTok, body(second.ID, noWait)).want(t, 201)
		third := modelstest.Student(t, w.db, w.schoolID, 4, "")
		w.do("POST", "/api/v1/enrollments", w.adminTok, body(third.ID, noWait)).want(t, 409, "full")
	})
	t.Run("gradeNotEligible422", func(t *testing.T) {
		young := modelstest.Student(t, w.db, w.schoolID, 1, "")
		w.do("POST", "/api/v1/enrollments", w.adminTok, body(young.ID, oid)).want(t, 422, "grade_not_eligible")
	})
	t.Run("windowClosed409", func(t *testing.T) {
		late := w.publishedOffering(t, func(m map[string]any) {
			m["weekdays"] = []int{5}
			m["enroll_opens_at"] = time.Now().Add(time.Hour).Format(time.RFC3339)
			m["enroll_closes_at"] = time.Now().Add(2 * time.Hour).Format(time.RFC3339)
		})
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, late)).want(t, 409, "window_closed")
		// Staff may override the window.
		got := w.do("POST", "/api/v1/enrollments", w.teacherTok, body(w.student.ID, late)).want(t, 201).JSON()
		w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(got, "id")), w.parentTok, nil).want(t, 200)
	})
	t.Run("notOpen409", func(t *testing.T) {
		draft := jnum(w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok,
			w.offeringBody(nil)).want(t, 201).JSON(), "id")
		w.do("POST", "/api/v1/enrollments", w.adminTok, body(w.student.ID, draft)).want(t, 409, "not_open")
	})
	t.Run("scheduleConflict409", func(t *testing.T) {
		clash := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{4}; m["start_time"] = "17:00"; m["end_time"] = "18:30" })
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, clash)).want(t, 409, "schedule_conflict")
	})
	t.Run("limitReached409", func(t *testing.T) {
		mon := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{1}; m["name"] = "美术" })
		wed := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{3}; m["name"] = "合唱" })
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, mon)).want(t, 201)
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, wed)).want(t, 409, "limit_reached")
		basic := w.publishedOffering(t, func(m map[string]any) { m["kind"] = "basic"; m["weekdays"] = []int{1, 2, 3, 4, 5} })
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, basic)).want(t, 201)
	})
	t.Run("invalidBody", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": 0}).want(t, 422, "invalid_field")
		w.do("POST", "/api/v1/enrollments", w.parentTok, "{").want(t, 400)
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": "x", "offering_id": 1}).want(t, 422)
	})
	t.Run("outsiders", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", w.otherParentTok, body(w.student.ID, oid)).want(t, 404)
		w.do("POST", "/api/v1/enrollments", w.otherTeacherTok, body(w.student.ID, oid)).want(t, 404)
		w.do("POST", "/api/v1/enrollments", w.bureauTok, body(w.student.ID, oid)).want(t, 403)
		// A linked parent cannot enroll its child in another school's offering.
		otherOffering := w.otherSchoolOffering(t)
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, otherOffering)).want(t, 404)
		w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", enrollmentID), w.otherParentTok, nil).want(t, 404)
		w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", enrollmentID), w.otherTeacherTok, nil).want(t, 404)
		w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.otherParentTok, nil).want(t, 404)
		w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.otherTeacherTok, nil).want(t, 404)
	})
	t.Run("studentEnrollments", func(t *testing.T) {
		items := w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok, nil).want(t, 200).JSON()["items"].([]any)
		if len(items) < 3 {
			t.Fatalf("items = %v", items)
		}
		last := items[len(items)-1].(map[string]any)
		if last["offering_name"] != "篮球社" || last["kind"] != "club" || last["start_time"] != "16:30" || last["status"] != "enrolled" {
			t.Fatalf("first enrollment = %v", last)
		}
		w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.teacherTok, nil).want(t, 200)
	})
	t.Run("withdrawPromotes", func(t *testing.T) {
		got := w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", enrollmentID), w.parentTok, nil).want(t, 200).JSON()
		if got["status"] != "withdrawn" || jnum(got, "withdrawn_by") != w.parent.ID {
			t.Fatalf("withdrawn = %v", got)
		}
		o := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), w.adminTok, nil).want(t, 200).JSON()
		if jnum(o, "enrolled") != 1 || jnum(o, "waitlisted") != 0 || jnum(o, "remaining") != 0 {
			t.Fatalf("offering after promotion = %v", o)
		}
		w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", enrollmentID), w.parentTok, nil).want(t, 409, "not_live")
	})
}

// otherSchoolOffering publishes an offering in the other school.
func (w *enrollWorld) otherSchoolOffering(t *testing.T) int64 {
	t.Helper()
	term := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.otherSchoolID), w.otherAdminTok, map[string]any{
		"name": "别校学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201).JSON()
	b := w.offeringBody(nil)
	b["term_id"] = term["id"]
	o := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.otherSchoolID), w.otherAdminTok, b).want(t, 201).JSON()
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", jnum(o, "id")), w.otherAdminTok, nil).want(t, 200)
	return jnum(o, "id")
}

// TestEnrollIdempotencyHTTP: 20 concurrent POSTs with one key make one
// enrollment and get 20 identical 201 answers; another body with the key
// gets 422 idempotency_key_reused.
func TestEnrollIdempotencyHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, nil)
	b := map[string]any{"student_id": w.student.ID, "offering_id": oid}
	var wg sync.WaitGroup
	answers := make([]resp, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = w.do("POST", "/api/v1/enrollments", w.parentTok, b, "Idempotency-Key", "tap-1")
		}()
	}
	wg.Wait()
	replays := 0
	for i, r := range answers {
		if r.Status != 201 || !bytes.Equal(r.Body, answers[0].Body) {
			t.Fatalf("answer %d: %d %s, want 201 %s", i, r.Status, r.Body, answers[0].Body)
		}
		if r.Header.Get("Idempotent-Replayed") == "true" {
			replays++
		}
	}
	if replays != 19 {
		t.Fatalf("%d replays, want 19", replays)
	}
	var n int64
	w.db.R.Raw("SELECT COUNT(*) FROM enrollments WHERE student_id = ?", w.student.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d enrollments", n)
	}
	other := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{1} })
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": other},
		"Idempotency-Key", "tap-1").want(t, 422, "idempotency_key_reused")
	w.do("POST", "/api/v1/enrollments", w.parentTok, b, "Idempotency-Key", strings.Repeat("k", 101)).want(t, 400, "bad_idempotency_key")
}

func TestRosterExport(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, func(m map[string]any) { m["capacity"] = 1 })
	second := modelstest.Student(t, w.db, w.schoolID, 4, "13700001111")
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201)
	w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": second.ID, "offering_id": oid}).want(t, 201)
	path := fmt.Sprintf("/api/v1/offerings/%d/roster", oid)
	t.Run("json", func(t *testing.T) {
		r := w.do("GET", path, w.teacherTok, nil).want(t, 200)
		items := r.JSON()["items"].([]any)
		first, last := items[0].(map[string]any), items[1].(map[string]any)
		if len(items) != 2 || first["status"] != "enrolled" || first["guardian_phone"] != "138****5678" ||
			first["student_no"] != w.student.StudentNo || last["status"] != "waitlisted" || jnum(last, "waitlist_position") != 1 {
			t.Fatalf("roster = %s", r.Body)
		}
		if bytes.Contains(r.Body, []byte("13812345678")) {
			t.Fatal("unmasked phone in roster")
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := w.do("GET", path+"?format=csv", w.adminTok, nil).want(t, 200)
		if !bytes.HasPrefix(r.Body, []byte("\xEF\xBB\xBF学号,姓名")) || !bytes.Contains(r.Body, []byte("137****1111")) ||
			bytes.Contains(r.Body, []byte("13700001111")) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv = %q", r.Body)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		r := w.do("GET", path+"?format=xlsx", w.adminTok, nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows(f.GetSheetName(0))
		if len(rows) != 3 || rows[1][0] != w.student.StudentNo || rows[1][5] != "138****5678" || rows[2][7] != "1" {
			t.Fatalf("xlsx rows = %v", rows)
		}
	})
	t.Run("badFormat400", func(t *testing.T) { w.do("GET", path+"?format=pdf", w.adminTok, nil).want(t, 400, "bad_param") })
	t.Run("forbiddenParent", func(t *testing.T) { w.do("GET", path, w.parentTok, nil).want(t, 403) })
	t.Run("notFoundOtherSchool", func(t *testing.T) { w.do("GET", path, w.otherTeacherTok, nil).want(t, 404) })
	t.Run("accessLogged", func(t *testing.T) {
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = 'offering_roster' AND user_id = ?", w.teacher.ID).Scan(&n)
		if n < 1 {
			t.Fatal("roster read not logged")
		}
		if bytes.Contains(w.logs.Bytes(), []byte("13812345678")) {
			t.Fatal("phone number in logs")
		}
	})
}

func TestLotteryHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	lot := func(m map[string]any) { m["mode"] = "lottery"; m["capacity"] = 1 }
	oid := w.publishedOffering(t, lot)
	got := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid, "rank": 1}).want(t, 201).JSON()
	if got["status"] != "applied" || jnum(got, "rank") != 1 {
		t.Fatalf("application = %v", got)
	}
	second := modelstest.Student(t, w.db, w.schoolID, 4, "")
	w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": second.ID, "offering_id": oid}).want(t, 201)
	path := fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", w.schoolID, w.termID)
	t.Run("windowOpen409", func(t *testing.T) { w.do("POST", path, w.adminTok, nil).want(t, 409, "nothing_to_draw") })
	closes := time.Now().Add(-time.Second).UTC()
	if err := w.db.W.Exec("UPDATE offerings SET enroll_closes_at = ?, enroll_opens_at = ? WHERE id = ?", closes, closes.Add(-time.Hour), oid).Error; err != nil {
		t.Fatal(err)
	}
	t.Run("forbiddenTeacher", func(t *testing.T) { w.do("POST", path, w.teacherTok, nil).want(t, 403) })
	t.Run("forbiddenParent", func(t *testing.T) { w.do("POST", path, w.parentTok, nil).want(t, 403) })
	t.Run("notFoundOtherAdmin", func(t *testing.T) { w.do("POST", path, w.otherAdminTok, nil).want(t, 404) })
	t.Run("draw200", func(t *testing.T) {
		w.do("POST", path, w.adminTok, map[string]any{"seed": "x1"}).want(t, 422, "invalid_field")
		// Nobody picks the seed (whoever could would try seeds until a
		// favoured child wins): it was committed at publication.
		w.do("POST", path, w.adminTok, map[string]any{"seed": "99"}).want(t, 422, "invalid_field")
		platform := w.token(modelstest.Staff(t, w.db, models.RolePlatformAdmin, 0, 0))
		w.do("POST", path, platform, map[string]any{"seed": "99"}).want(t, 422, "invalid_field")
		d := w.do("POST", path, platform, nil).want(t, 200).JSON()
		if d["seed"] == "" || jnum(d, "assigned") != 1 || jnum(d, "rejected") != 1 {
			t.Fatalf("draw = %v", d)
		}
		w.do("POST", path, w.adminTok, nil).want(t, 409, "nothing_to_draw")
		o := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), w.parentTok, nil).want(t, 200).JSON()
		if jnum(o, "enrolled") != 1 || jnum(o, "applied") != 0 || o["drawn_at"] == nil {
			t.Fatalf("offering = %v", o)
		}
	})
}

// TestEnrollEndpointsKeepOutsiders: a parent of another family and school
// gets 404 or 403, never a 2xx, on every endpoint of this feature.
func TestEnrollEndpointsKeepOutsiders(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, nil)
	e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201).JSON()
	s, eid := w.schoolID, jnum(e, "id")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", fmt.Sprintf("/api/v1/schools/%d/terms", s), map[string]any{"name": "x", "starts_on": "2026-09-01", "ends_on": "2027-01-01", "max_clubs": 1}},
		{"GET", fmt.Sprintf("/api/v1/schools/%d/terms", s), nil},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", s, w.termID), nil},
		{"POST", fmt.Sprintf("/api/v1/schools/%d/offerings", s), w.offeringBody(nil)},
		{"GET", fmt.Sprintf("/api/v1/schools/%d/offerings", s), nil},
		{"GET", fmt.Sprintf("/api/v1/offerings/%d", oid), nil},
		{"PATCH", fmt.Sprintf("/api/v1/offerings/%d", oid), map[string]any{"capacity": 5}},
		{"POST", fmt.Sprintf("/api/v1/offerings/%d/publish", oid), nil},
		{"POST", fmt.Sprintf("/api/v1/offerings/%d/close", oid), nil},
		{"POST", fmt.Sprintf("/api/v1/offerings/%d/cancel", oid), nil},
		{"GET", fmt.Sprintf("/api/v1/offerings/%d/roster", oid), nil},
		{"POST", "/api/v1/enrollments", map[string]any{"student_id": w.student.ID, "offering_id": oid}},
		{"DELETE", fmt.Sprintf("/api/v1/enrollments/%d", eid), nil},
		{"GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), nil},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			for _, tok := range []string{w.otherParentTok, w.otherAdminTok, w.otherTeacherTok} {
				if r := w.do(c.method, c.path, tok, c.body); r.Status != 404 && r.Status != 403 {
					t.Fatalf("outsider got %d %s", r.Status, r.Body)
				}
			}
			if r := w.do(c.method, c.path, "", c.body); r.Status != 401 {
				t.Fatalf("anonymous got %d", r.Status)
			}
		})
	}
}

// TestEnrollStudentOfAnotherSchool: a student and an offering of different
// schools answer 422 school_mismatch to a caller who may see both (a
// platform admin; a parent with children in both schools), and 404 to one
// who may not see the offering (the other school's staff or parents).
func TestEnrollStudentOfAnotherSchool(t *testing.T) {
	w := newEnrollWorld(t)
	id := w.publishedOffering(t, nil)
	platform := w.token(modelstest.Staff(t, w.db, models.RolePlatformAdmin, 0, 0))
	both := modelstest.Parent(t, w.db, w.student.ID, w.otherStudent.ID)
	body := map[string]any{"student_id": w.otherStudent.ID, "offering_id": id}
	cases := []struct {
		name   string
		tok    string
		status int
		code   string
	}{
		{"platformAdmin422", platform, 422, "school_mismatch"},
		{"parentOfBoth422", w.token(both), 422, "school_mismatch"},
		{"otherSchoolAdmin404", w.otherAdminTok, 404, "not_found"},
		{"otherParent404", w.otherParentTok, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkError(t, w.do("POST", "/api/v1/enrollments", c.tok, body), c.status, c.code)
		})
	}
}

// TestPatchOfferingEnrolledConflicts: PATCH of a published offering whose
// new grades leave an enrolled student out answers 409 enrolled_conflicts
// listing the student; with force it answers 200.
func TestPatchOfferingEnrolledConflicts(t *testing.T) {
	w := newEnrollWorld(t)
	id := w.publishedOffering(t, nil)
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": id}).want(t, 201)
	path := fmt.Sprintf("/api/v1/offerings/%d", id)
	r := w.do("PATCH", path, w.adminTok, map[string]any{"grades": []int{5, 6}})
	body := checkError(t, r, 409, "enrolled_conflicts")
	cs, _ := body["conflicts"].([]any)
	if len(cs) != 1 || jnum(cs[0].(map[string]any), "student_id") != w.student.ID {
		t.Fatalf("conflicts = %v, want student %d", body["conflicts"], w.student.ID)
	}
	w.do("PATCH", path, w.adminTok, map[string]any{"grades": []int{5, 6}, "force": true}).want(t, 200)
}
