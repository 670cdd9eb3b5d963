package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestContractSurveys: SPEC's survey and response examples.
func TestContractSurveys(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	st := modelstest.Student(t, s.db, school.ID, 3, "")
	parent := modelstest.Parent(t, s.db, st.ID)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	opens, closes := time.Now().Add(-time.Hour).Format(time.RFC3339), time.Now().Add(24*time.Hour).Format(time.RFC3339)
	surveyShape := shape{"id": "int", "title": "str", "opens_at": "time", "closes_at": "time", "region_id": "int?", "school_id": "int?"}

	r := s.do("POST", "/api/v1/surveys", s.token(bureau), fmt.Sprintf(`{"region_id": %d, "title": "课后服务家长满意度调查",
 "opens_at": %q, "closes_at": %q}`, region.ID, opens, closes)).want(t, 201)
	sv := decodeObject(t, r.Body)
	checkShape(t, "survey", sv, surveyShape)
	if jnum(sv, "region_id") != region.ID || sv["school_id"] != nil || sv["title"] != "课后服务家长满意度调查" {
		t.Fatalf("survey = %s", r.Body)
	}
	t.Run("schoolSurvey", func(t *testing.T) {
		m := decodeObject(t, s.do("POST", "/api/v1/surveys", s.token(admin), fmt.Sprintf(`{"school_id": %d, "title": "校内问卷",
 "opens_at": %q, "closes_at": %q}`, school.ID, opens, closes)).want(t, 201).Body)
		checkShape(t, "school survey", m, surveyShape)
		if jnum(m, "school_id") != school.ID || m["region_id"] != nil {
			t.Fatalf("survey = %v", m)
		}
	})
	t.Run("response", func(t *testing.T) {
		r := s.do("POST", fmt.Sprintf("/api/v1/surveys/%d/responses", jnum(sv, "id")), s.token(parent),
			fmt.Sprintf(`{"student_id": %d, "support": "support", "satisfaction": "satisfied",
 "comment": "…"}`, st.ID)).want(t, 201)
		m := decodeObject(t, r.Body)
		checkShape(t, "response", m, shape{"student_id": "int", "support": "str", "satisfaction": "str", "comment": "str"})
		if jnum(m, "student_id") != st.ID || m["support"] != "support" || m["satisfaction"] != "satisfied" || m["comment"] != "…" {
			t.Fatalf("response = %s", r.Body)
		}
		checkError(t, s.do("POST", fmt.Sprintf("/api/v1/surveys/%d/responses", jnum(sv, "id")), s.token(parent),
			fmt.Sprintf(`{"student_id": %d, "support": "support", "satisfaction": "satisfied"}`, st.ID)), 409, "")
	})
	t.Run("list", func(t *testing.T) {
		checkList(t, "surveys (staff)", s.do("GET", "/api/v1/surveys", s.token(bureau), nil).want(t, 200).Body, surveyShape)
		// A parent's list says which children each survey concerns and which
		// are answered, [] when none: present either way.
		other := modelstest.Parent(t, s.db, modelstest.Student(t, s.db, school.ID, 4, "").ID)
		for _, tok := range []string{s.token(parent), s.token(other)} {
			items := checkList(t, "surveys (parent)", s.do("GET", "/api/v1/surveys", tok, nil).want(t, 200).Body,
				shape{"id": "int", "title": "str", "opens_at": "time", "closes_at": "time", "student_ids": "arr", "responded_student_ids": "arr"})
			if len(items) != 2 {
				t.Fatalf("parent sees %d surveys", len(items))
			}
		}
	})
}

// TestContractStats: a job run answers its record; the dashboards answer
// SPEC's statistics with every field name of the overview example.
func TestContractStats(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	a, b := modelstest.School(t, s.db, region.ID), modelstest.School(t, s.db, region.ID)
	modelstest.Student(t, s.db, a.ID, 3, "")
	modelstest.Student(t, s.db, a.ID, 4, "")
	modelstest.Student(t, s.db, b.ID, 5, "")
	bureau := s.token(modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID))
	admin := s.token(modelstest.Staff(t, s.db, models.RoleSchoolAdmin, a.ID, 0))
	platform := s.token(modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0))

	run := decodeObject(t, s.do("POST", "/api/v1/jobs/stats/run", platform, nil).want(t, 200).Body)
	checkShape(t, "job run", run, shape{"id": "int", "name": "str", "status": "str", "started_at": "time",
		"ended_at": "time?", "error": "str?"})
	if run["name"] != "stats" || run["status"] != "succeeded" || run["ended_at"] == nil || run["error"] != nil {
		t.Fatalf("run = %v", run)
	}
	today := models.LocalDate(time.Now())

	t.Run("overviewRegion", func(t *testing.T) {
		o := decodeObject(t, s.do("GET", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", region.ID), bureau, nil).want(t, 200).Body)
		checkShape(t, "overview", o, statsShape)
		if o["as_of"] != today || jnum(o, "schools") != 2 || jnum(o, "students") != 3 {
			t.Fatalf("overview = %v", o)
		}
	})
	t.Run("overviewSchoolDate", func(t *testing.T) {
		o := decodeObject(t, s.do("GET", fmt.Sprintf("/api/v1/stats/overview?school_id=%d&date=%s", a.ID, today), admin, nil).want(t, 200).Body)
		checkShape(t, "overview", o, statsShape)
		if o["as_of"] != today || jnum(o, "students") != 2 {
			t.Fatalf("overview = %v", o)
		}
		checkError(t, s.do("GET", "/api/v1/stats/overview?date=10-09-2026", admin, nil), 400, "")
	})
	t.Run("schoolsOneRowEach", func(t *testing.T) {
		r := s.do("GET", fmt.Sprintf("/api/v1/stats/schools?region_id=%d&date=%s", region.ID, today), bureau, nil).want(t, 200)
		row := shape{"school_id": "int"}
		for k, v := range statsShape {
			row[k] = v
		}
		items := checkList(t, "stats/schools", r.Body, row)
		seen := map[int64]int{}
		for _, it := range items {
			seen[jnum(it, "school_id")]++
		}
		if len(items) != 2 || seen[a.ID] != 1 || seen[b.ID] != 1 {
			t.Fatalf("rows = %s", r.Body)
		}
	})
	t.Run("trend", func(t *testing.T) {
		r := s.do("GET", fmt.Sprintf("/api/v1/stats/trend?metric=participation_rate&region_id=%d&from=%s&to=%s", region.ID, today, today), bureau, nil).want(t, 200)
		var pts []map[string]any
		d := json.NewDecoder(strings.NewReader(string(r.Body)))
		d.UseNumber()
		if err := d.Decode(&pts); err != nil {
			t.Fatalf("trend is not [{date,value}]: %s", r.Body)
		}
		if len(pts) != 1 {
			t.Fatalf("trend = %s", r.Body)
		}
		checkShape(t, "trend point", pts[0], shape{"date": "date", "value": "num?"})
		s.do("GET", fmt.Sprintf("/api/v1/stats/trend?metric=students&school_id=%d", a.ID), admin, nil).want(t, 200)
	})
	t.Run("jobRunsList", func(t *testing.T) {
		checkList(t, "job runs", s.do("GET", "/api/v1/jobs/runs", platform, nil).want(t, 200).Body, shape{"id": "int", "status": "str"})
	})
}

// TestContractStatsValues: SPEC's definitions, end to end through the API:
// offerings, enrollments and survey answers in, the stats job, the
// overview's figures out.
func TestContractStatsValues(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	a, b := modelstest.School(t, s.db, region.ID), modelstest.School(t, s.db, region.ID)
	s1, s2 := modelstest.Student(t, s.db, a.ID, 3, ""), modelstest.Student(t, s.db, a.ID, 3, "")
	modelstest.Student(t, s.db, a.ID, 3, "")
	modelstest.Student(t, s.db, b.ID, 3, "")
	parent := s.token(modelstest.Parent(t, s.db, s1.ID, s2.ID))
	admin := s.token(modelstest.Staff(t, s.db, models.RoleSchoolAdmin, a.ID, 0))
	bureau := s.token(modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID))
	platform := s.token(modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0))

	today := time.Now().In(models.Zone)
	term := decodeObject(t, s.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", a.ID), admin, map[string]any{"name": "本学期",
		"starts_on": today.AddDate(0, 0, -30).Format(time.DateOnly), "ends_on": today.AddDate(0, 0, 60).Format(time.DateOnly), "max_clubs": 2}).want(t, 201).Body)
	offering := func(m map[string]any) int64 {
		body := map[string]any{"term_id": jnum(term, "id"), "grades": []int{3}, "mode": "fcfs", "waitlist": true,
			"enroll_opens_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "enroll_closes_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
		for k, v := range m {
			body[k] = v
		}
		id := jnum(decodeObject(t, s.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", a.ID), admin, body).want(t, 201).Body), "id")
		s.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", id), admin, nil).want(t, 200)
		return id
	}
	basic := offering(map[string]any{"kind": "basic", "name": "托管", "weekdays": []int{1, 2, 3, 4, 5},
		"start_time": "16:00", "end_time": "18:00", "capacity": 10})
	club := offering(map[string]any{"kind": "club", "name": "篮球社", "category": "sports", "weekdays": []int{2},
		"start_time": "18:00", "end_time": "19:00", "capacity": 1})
	enroll := func(st, o int64, status string) {
		e := decodeObject(t, s.do("POST", "/api/v1/enrollments", parent, map[string]any{"student_id": st, "offering_id": o}).want(t, 201).Body)
		if e["status"] != status {
			t.Fatalf("enrollment %v, want %s", e, status)
		}
	}
	enroll(s1.ID, basic, "enrolled")
	enroll(s2.ID, basic, "enrolled")
	enroll(s1.ID, club, "enrolled")
	enroll(s2.ID, club, "waitlisted")
	sv := decodeObject(t, s.do("POST", "/api/v1/surveys", bureau, map[string]any{"region_id": region.ID, "title": "满意度",
		"opens_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes_at": time.Now().Add(time.Hour).Format(time.RFC3339)}).want(t, 201).Body)
	for st, answer := range map[int64][2]string{s1.ID: {"support", "satisfied"}, s2.ID: {"neutral", "basically_satisfied"}} {
		s.do("POST", fmt.Sprintf("/api/v1/surveys/%d/responses", jnum(sv, "id")), parent,
			map[string]any{"student_id": st, "support": answer[0], "satisfaction": answer[1]}).want(t, 201)
	}
	if run := decodeObject(t, s.do("POST", "/api/v1/jobs/stats/run", platform, nil).want(t, 200).Body); run["status"] != "succeeded" {
		t.Fatalf("run = %v", run)
	}
	o := decodeObject(t, s.do("GET", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", region.ID), bureau, nil).want(t, 200).Body)
	checkShape(t, "overview", o, statsShape)
	wantInt := map[string]int64{"schools": 2, "schools_offering": 1, "schools_5plus2": 1, "students": 4, "participants": 2,
		"basic_participants": 2, "club_participants": 1, "clubs": 1, "seats": 1, "seats_filled": 1, "waitlisted": 1, "responses": 2}
	for k, v := range wantInt {
		if jnum(o, k) != v {
			t.Errorf("%s = %v, want %d", k, o[k], v)
		}
	}
	wantRate := map[string]float64{"coverage_rate": 0.5, "participation_rate": 0.5, "fill_rate": 1, "parent_support_rate": 0.5, "satisfaction_rate": 1}
	for k, v := range wantRate {
		if f, _ := o[k].(json.Number).Float64(); f != v {
			t.Errorf("%s = %v, want %v", k, o[k], v)
		}
	}
	// No roll taken and no teacher: no data, not 0 — null beside its zero
	// counts, in the overview, the trend and the export.
	for _, k := range []string{"attendance_rate", "teacher_participation_rate"} {
		if v, ok := o[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
	if jnum(o, "attendance_marked") != 0 || jnum(o, "teachers") != 0 {
		t.Errorf("counts behind the null rates: %v %v", o["attendance_marked"], o["teachers"])
	}
	asOf := o["as_of"].(string)
	var pts []map[string]any
	body := s.do("GET", fmt.Sprintf("/api/v1/stats/trend?metric=attendance_rate&region_id=%d&from=%s&to=%s", region.ID, asOf, asOf), bureau, nil).want(t, 200).Body
	if err := json.Unmarshal(body, &pts); err != nil || len(pts) != 1 || pts[0]["value"] != nil {
		t.Errorf("trend of a rate without data: %s", body)
	}
	csv := string(s.do("GET", fmt.Sprintf("/api/v1/stats/schools?region_id=%d&format=csv", region.ID), bureau, nil).want(t, 200).Body)
	if !strings.Contains(csv, ",—,") {
		t.Errorf("the export shows no \"—\" for a rate without data:\n%s", csv)
	}
}
