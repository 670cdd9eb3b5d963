package main

import (
	"fmt"
	"testing"
	"time"
)

func TestTermsHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	path := fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID)
	good := func() map[string]any {
		return map[string]any{"name": "2027春季学期", "starts_on": "2027-02-20", "ends_on": "2027-07-01", "max_clubs": 2,
			"no_service_days": []string{"2027-04-05"}}
	}
	t.Run("create201", func(t *testing.T) {
		got := w.do("POST", path, w.adminTok, good()).want(t, 201).JSON()
		if got["name"] != "2027春季学期" || jnum(got, "school_id") != w.schoolID || jnum(got, "max_clubs") != 2 ||
			len(got["no_service_days"].([]any)) != 1 || got["created_at"] == "" {
			t.Fatalf("term = %v", got)
		}
	})
	for name, tc := range map[string]struct {
		mod   func(map[string]any)
		field string
	}{
		"invalidEndsBeforeStarts": {func(m map[string]any) { m["ends_on"] = "2027-01-01" }, "ends_on"},
		"invalidDate":             {func(m map[string]any) { m["starts_on"] = "2027/02/20" }, "starts_on"},
		"invalidMaxClubs":         {func(m map[string]any) { m["max_clubs"] = 11 }, "max_clubs"},
		"invalidMaxClubsMissing":  {func(m map[string]any) { delete(m, "max_clubs") }, "max_clubs"},
		"invalidNoServiceDay":     {func(m map[string]any) { m["no_service_days"] = []string{"2026-01-01"} }, "no_service_days"},
		"invalidName":             {func(m map[string]any) { m["name"] = " " }, "name"},
	} {
		t.Run(name, func(t *testing.T) {
			b := good()
			tc.mod(b)
			r := w.do("POST", path, w.adminTok, b).want(t, 422, "invalid_field")
			if _, ok := r.JSON()["fields"].(map[string]any)[tc.field]; !ok {
				t.Fatalf("fields = %s", r.Body)
			}
		})
	}
	t.Run("forbiddenTeacher", func(t *testing.T) { w.do("POST", path, w.teacherTok, good()).want(t, 403) })
	t.Run("forbiddenParent", func(t *testing.T) { w.do("POST", path, w.parentTok, good()).want(t, 403) })
	t.Run("notFoundOtherSchoolAdmin", func(t *testing.T) { w.do("POST", path, w.otherAdminTok, good()).want(t, 404) })
	t.Run("list", func(t *testing.T) {
		for _, tok := range []string{w.adminTok, w.teacherTok, w.parentTok, w.bureauTok} {
			if items := w.do("GET", path, tok, nil).want(t, 200).JSON()["items"].([]any); len(items) < 1 {
				t.Fatal("no terms listed")
			}
		}
		w.do("GET", path, w.otherParentTok, nil).want(t, 404)
		w.do("GET", path, w.otherTeacherTok, nil).want(t, 404)
	})
}

func TestOfferingsHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	path := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
	var draftID int64
	t.Run("create201", func(t *testing.T) {
		got := w.do("POST", path, w.adminTok, w.offeringBody(nil)).want(t, 201).JSON()
		draftID = jnum(got, "id")
		if got["status"] != "draft" || jnum(got, "school_id") != w.schoolID || jnum(got, "remaining") != 30 ||
			jnum(got, "enrolled") != 0 || jnum(got, "waitlisted") != 0 || got["start_time"] != "16:30" ||
			fmt.Sprint(got["weekdays"]) != "[2 4]" || fmt.Sprint(got["grades"]) != "[3 4 5 6]" || got["created_at"] == "" {
			t.Fatalf("offering = %v", got)
		}
	})
	otherTerm := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.otherSchoolID), w.otherAdminTok, map[string]any{
		"name": "别校学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201).JSON()
	for name, tc := range map[string]struct {
		set   func(map[string]any)
		field string
	}{
		"invalidCapacityZero":    {func(m map[string]any) { m["capacity"] = 0 }, "capacity"},
		"invalidCapacityHuge":    {func(m map[string]any) { m["capacity"] = 100000 }, "capacity"},
		"invalidEndBeforeStart":  {func(m map[string]any) { m["end_time"] = "16:00" }, "end_time"},
		"invalidClock":           {func(m map[string]any) { m["start_time"] = "4:30pm" }, "start_time"},
		"invalidWeekdaySaturday": {func(m map[string]any) { m["weekdays"] = []int{6} }, "weekdays"},
		"invalidWeekdayRepeated": {func(m map[string]any) { m["weekdays"] = []int{2, 2} }, "weekdays"},
		"invalidWeekdaysEmpty":   {func(m map[string]any) { m["weekdays"] = []int{} }, "weekdays"},
		"invalidGrade":           {func(m map[string]any) { m["grades"] = []int{0, 10} }, "grades"},
		"invalidWindow":          {func(m map[string]any) { m["enroll_closes_at"] = time.Now().Add(-2 * time.Hour).Format(time.RFC3339) }, "enroll_closes_at"},
		"invalidWindowFormat":    {func(m map[string]any) { m["enroll_opens_at"] = "2026-09-01 08:00" }, "enroll_opens_at"},
		"invalidKind":            {func(m map[string]any) { m["kind"] = "camp" }, "kind"},
		"invalidMode":            {func(m map[string]any) { m["mode"] = "random" }, "mode"},
		"invalidTermOtherSchool": {func(m map[string]any) { m["term_id"] = otherTerm["id"] }, "term_id"},
		"invalidTypeCapacity":    {func(m map[string]any) { m["capacity"] = "thirty" }, "capacity"},
	} {
		t.Run(name, func(t *testing.T) {
			r := w.do("POST", path, w.adminTok, w.offeringBody(tc.set)).want(t, 422, "invalid_field")
			if _, ok := r.JSON()["fields"].(map[string]any)[tc.field]; !ok {
				t.Fatalf("fields = %s", r.Body)
			}
		})
	}
	t.Run("forbiddenTeacher", func(t *testing.T) { w.do("POST", path, w.teacherTok, w.offeringBody(nil)).want(t, 403) })
	t.Run("forbiddenParent", func(t *testing.T) { w.do("POST", path, w.parentTok, w.offeringBody(nil)).want(t, 403) })
	t.Run("notFoundOtherSchoolAdmin", func(t *testing.T) { w.do("POST", path, w.otherAdminTok, w.offeringBody(nil)).want(t, 404) })

	pubID := w.publishedOffering(t, func(m map[string]any) { m["kind"] = "basic"; m["name"] = "作业辅导"; m["grades"] = []int{1, 2} })
	t.Run("listStaffSeesAll", func(t *testing.T) {
		items := w.do("GET", path, w.teacherTok, nil).want(t, 200).JSON()["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("staff saw %d offerings, want 2", len(items))
		}
	})
	t.Run("listParentSeesPublished", func(t *testing.T) {
		items := w.do("GET", path, w.parentTok, nil).want(t, 200).JSON()["items"].([]any)
		if len(items) != 1 || jnum(items[0].(map[string]any), "id") != pubID {
			t.Fatalf("parent saw %v", items)
		}
	})
	t.Run("listFilters", func(t *testing.T) {
		for q, want := range map[string]int{"?kind=club": 1, "?kind=basic": 1, "?grade=1": 1, "?grade=5": 1, "?grade=7": 0,
			fmt.Sprintf("?term_id=%d", w.termID): 2, fmt.Sprintf("?term_id=%d", w.termID+100): 0} {
			if items := w.do("GET", path+q, w.adminTok, nil).want(t, 200).JSON()["items"].([]any); len(items) != want {
				t.Errorf("%s: %d items, want %d", q, len(items), want)
			}
		}
		w.do("GET", path+"?grade=10", w.adminTok, nil).want(t, 400, "bad_param")
		w.do("GET", path+"?kind=x", w.adminTok, nil).want(t, 400, "bad_param")
	})
	t.Run("listNotFoundOutsiders", func(t *testing.T) {
		w.do("GET", path, w.otherParentTok, nil).want(t, 404)
		w.do("GET", path, w.otherTeacherTok, nil).want(t, 404)
	})
	t.Run("getVisibility", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", pubID), w.parentTok, nil).want(t, 200)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", draftID), w.parentTok, nil).want(t, 404)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", draftID), w.teacherTok, nil).want(t, 200)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", pubID), w.otherParentTok, nil).want(t, 404)
		w.do("GET", "/api/v1/offerings/999999", w.adminTok, nil).want(t, 404)
	})
	t.Run("patch", func(t *testing.T) {
		p := fmt.Sprintf("/api/v1/offerings/%d", draftID)
		got := w.do("PATCH", p, w.adminTok, map[string]any{"capacity": 12, "name": "篮球社（初级）"}).want(t, 200).JSON()
		if jnum(got, "capacity") != 12 || got["name"] != "篮球社（初级）" || got["venue"] != "操场" {
			t.Fatalf("patched = %v", got)
		}
		w.do("PATCH", p, w.adminTok, map[string]any{"end_time": "15:00"}).want(t, 422, "invalid_field")
		w.do("PATCH", p, w.teacherTok, map[string]any{"capacity": 5}).want(t, 403)
		w.do("PATCH", p, w.otherAdminTok, map[string]any{"capacity": 5}).want(t, 404)
		w.do("PATCH", fmt.Sprintf("/api/v1/offerings/%d", pubID), w.adminTok, map[string]any{"mode": "lottery"}).want(t, 422, "invalid_field")
	})
	t.Run("lifecycle", func(t *testing.T) {
		p := fmt.Sprintf("/api/v1/offerings/%d", draftID)
		w.do("POST", p+"/close", w.adminTok, nil).want(t, 409, "invalid_status")
		w.do("POST", p+"/publish", w.otherAdminTok, nil).want(t, 404)
		w.do("POST", p+"/publish", w.teacherTok, nil).want(t, 403)
		if got := w.do("POST", p+"/publish", w.adminTok, nil).want(t, 200).JSON(); got["status"] != "published" {
			t.Fatalf("published = %v", got)
		}
		w.do("POST", p+"/publish", w.adminTok, nil).want(t, 409, "invalid_status")
		if got := w.do("POST", p+"/close", w.adminTok, nil).want(t, 200).JSON(); got["status"] != "closed" {
			t.Fatalf("closed = %v", got)
		}
		w.do("POST", p+"/cancel", w.otherAdminTok, nil).want(t, 404)
		if got := w.do("POST", p+"/cancel", w.adminTok, nil).want(t, 200).JSON(); got["status"] != "cancelled" {
			t.Fatalf("cancelled = %v", got)
		}
		w.do("POST", p+"/cancel", w.adminTok, nil).want(t, 409, "invalid_status")
		w.do("PATCH", p, w.adminTok, map[string]any{"name": "x"}).want(t, 409, "invalid_status")
	})
}
