package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"kehou/models"
	"kehou/models/modelstest"
)

// dashboardWorld is the survey world with snapshots for yesterday (a: 2
// students, b: 1) and today (a third student in a).
func dashboardWorld(t *testing.T) (surveyWorld, string, string) {
	t.Helper()
	w := newSurveyWorld(t)
	now := time.Now()
	today := models.LocalDate(now)
	yesterday := models.LocalDate(now.In(models.Zone).AddDate(0, 0, -1))
	ctx := context.Background()
	if _, err := models.ComputeStats(ctx, w.s.db, yesterday, now); err != nil {
		t.Fatal(err)
	}
	modelstest.Student(t, w.s.db, w.a.ID, 3, "")
	if _, err := models.ComputeStats(ctx, w.s.db, today, now); err != nil {
		t.Fatal(err)
	}
	return w, yesterday, today
}

func TestStatsOverviewScope(t *testing.T) {
	w, yesterday, today := dashboardWorld(t)
	s := w.s
	platform := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	cases := []struct {
		name     string
		by       models.User
		query    string
		status   int
		code     string
		students float64
	}{
		{"bureauOwnRegionByDefault", w.bureauCity, "", 200, "", 4},
		{"bureauSubregion", w.bureauCity, fmt.Sprintf("region_id=%d", w.county1.ID), 200, "", 3},
		{"bureauSchoolInSubtree", w.bureauCity, fmt.Sprintf("school_id=%d", w.b.ID), 200, "", 1},
		{"bureauEarlierDate", w.bureauCity, "date=" + yesterday, 200, "", 3},
		{"bureauParentRegion404", w.bureauCounty, fmt.Sprintf("region_id=%d", w.city.ID), 404, "not_found", 0},
		{"bureauOtherRegion404", w.bureauCounty, fmt.Sprintf("region_id=%d", w.county2.ID), 404, "not_found", 0},
		{"bureauOtherRegionSchool404", w.bureauCounty, fmt.Sprintf("school_id=%d", w.b.ID), 404, "not_found", 0},
		{"schoolAdminOwnByDefault", w.adminA, "", 200, "", 3},
		{"schoolAdminOwnExplicit", w.adminA, fmt.Sprintf("school_id=%d", w.a.ID), 200, "", 3},
		{"schoolAdminOtherSchool404", w.adminA, fmt.Sprintf("school_id=%d", w.b.ID), 404, "not_found", 0},
		{"schoolAdminRegion404", w.adminA, fmt.Sprintf("region_id=%d", w.county1.ID), 404, "not_found", 0},
		{"noSnapshot404", w.bureauCity, "date=2020-01-01", 404, "no_snapshot", 0},
		{"badDate400", w.bureauCity, "date=2026-13-01", 400, "bad_param", 0},
		{"bothScopes422", w.bureauCity, fmt.Sprintf("region_id=%d&school_id=%d", w.city.ID, w.a.ID), 422, "invalid_field", 0},
		{"teacher403", w.teacherA, "", 403, "forbidden", 0},
		{"parent403", w.parentA, "", 403, "forbidden", 0},
		{"platformAdmin403", platform, "", 403, "forbidden", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("GET", "/api/v1/stats/overview?"+c.query, s.token(c.by), nil)
			if c.code != "" {
				r.want(t, c.status, c.code)
				return
			}
			r.want(t, c.status)
			m := r.JSON()
			if m["students"] != c.students {
				t.Fatalf("students = %v, want %v", m["students"], c.students)
			}
			for _, k := range []string{"as_of", "schools", "schools_offering", "coverage_rate", "schools_5plus2",
				"participants", "participation_rate", "basic_participants", "club_participants", "clubs", "seats",
				"seats_filled", "fill_rate", "waitlisted", "responses", "parent_support_rate", "satisfaction_rate",
				"attendance_rate"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("overview lacks %s: %v", k, m)
				}
			}
			if !strings.Contains(c.query, "date=") && m["as_of"] != today {
				t.Fatalf("as_of = %v, want today %s", m["as_of"], today)
			}
		})
	}
	t.Run("unauthenticated401", func(t *testing.T) {
		s.do("GET", "/api/v1/stats/overview", "", nil).want(t, 401)
	})
}

func TestStatsSchools(t *testing.T) {
	w, _, today := dashboardWorld(t)
	s := w.s
	t.Run("json", func(t *testing.T) {
		r := s.do("GET", "/api/v1/stats/schools", s.token(w.bureauCity), nil).want(t, 200)
		items := r.JSON()["items"].([]any)
		if len(items) != 2 || r.JSON()["as_of"] != today {
			t.Fatalf("got %s", r.Body)
		}
		first := items[0].(map[string]any)
		if int64(first["school_id"].(float64)) != w.a.ID || first["students"] != 3.0 || first["school_name"] != w.a.Name {
			t.Fatalf("first row %v", first)
		}
	})
	t.Run("subregion", func(t *testing.T) {
		r := s.do("GET", fmt.Sprintf("/api/v1/stats/schools?region_id=%d", w.county2.ID), s.token(w.bureauCity), nil).want(t, 200)
		if items := r.JSON()["items"].([]any); len(items) != 1 {
			t.Fatalf("got %s", r.Body)
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := s.do("GET", "/api/v1/stats/schools?format=csv", s.token(w.bureauCity), nil).want(t, 200)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("content type %s", r.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[0][1] != "学校" || recs[1][1] != w.a.Name || recs[1][2] != "3" {
			t.Fatalf("csv %v", recs)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		r := s.do("GET", "/api/v1/stats/schools?format=xlsx", s.token(w.bureauCity), nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[2][1] != w.b.Name || rows[2][2] != "1" {
			t.Fatalf("xlsx %v", rows)
		}
	})
	cases := []struct {
		name   string
		by     models.User
		query  string
		status int
		code   string
	}{
		{"bureauParentRegion404", w.bureauCounty, fmt.Sprintf("region_id=%d", w.city.ID), 404, "not_found"},
		{"bureauSiblingRegion404", w.bureauCounty, fmt.Sprintf("region_id=%d", w.county2.ID), 404, "not_found"},
		{"schoolAdmin403", w.adminA, "", 403, "forbidden"},
		{"parent403", w.parentA, "", 403, "forbidden"},
		{"noSnapshot404", w.bureauCity, "date=2020-01-01", 404, "no_snapshot"},
		{"badFormat400", w.bureauCity, "format=pdf", 400, "bad_param"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.do("GET", "/api/v1/stats/schools?"+c.query, s.token(c.by), nil).want(t, c.status, c.code)
		})
	}
}

func TestStatsTrend(t *testing.T) {
	w, yesterday, today := dashboardWorld(t)
	s := w.s
	t.Run("series", func(t *testing.T) {
		r := s.do("GET", fmt.Sprintf("/api/v1/stats/trend?metric=students&from=%s&to=%s", yesterday, today), s.token(w.bureauCity), nil).want(t, 200)
		var pts []struct {
			Date  string  `json:"date"`
			Value float64 `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &pts); err != nil {
			t.Fatal(err)
		}
		if len(pts) != 2 || pts[0].Date != yesterday || pts[0].Value != 3 || pts[1].Date != today || pts[1].Value != 4 {
			t.Fatalf("trend %+v", pts)
		}
	})
	t.Run("defaultRangeEndsToday", func(t *testing.T) {
		r := s.do("GET", "/api/v1/stats/trend?metric=participation_rate", s.token(w.adminA), nil).want(t, 200)
		if !strings.Contains(string(r.Body), today) {
			t.Fatalf("trend %s", r.Body)
		}
	})
	cases := []struct {
		name   string
		by     models.User
		query  string
		status int
		code   string
	}{
		{"unknownMetric422", w.bureauCity, "metric=happiness", 422, "invalid_field"},
		{"rangeTooLong422", w.bureauCity, "metric=students&from=2025-01-01&to=2026-01-02", 422, "invalid_field"},
		{"fromAfterTo422", w.bureauCity, "metric=students&from=2026-02-01&to=2026-01-01", 422, "invalid_field"},
		{"badDate400", w.bureauCity, "metric=students&from=yesterday", 400, "bad_param"},
		{"bureauOtherRegion404", w.bureauCounty2, fmt.Sprintf("metric=students&region_id=%d", w.county1.ID), 404, "not_found"},
		{"schoolAdminOtherSchool404", w.adminB, fmt.Sprintf("metric=students&school_id=%d", w.a.ID), 404, "not_found"},
		{"parent403", w.parentA, "metric=students", 403, "forbidden"},
		{"teacher403", w.teacherA, "metric=students", 403, "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.do("GET", "/api/v1/stats/trend?"+c.query, s.token(c.by), nil).want(t, c.status, c.code)
		})
	}
	t.Run("366DaysAccepted", func(t *testing.T) {
		s.do("GET", "/api/v1/stats/trend?metric=students&from=2025-01-01&to=2026-01-01", s.token(w.bureauCity), nil).want(t, 200)
	})
}

func TestStatsBreakdown(t *testing.T) {
	w, _, _ := dashboardWorld(t)
	s := w.s
	t.Run("byGrade", func(t *testing.T) {
		r := s.do("GET", fmt.Sprintf("/api/v1/stats/breakdown?school_id=%d&by=grade", w.a.ID), s.token(w.adminA), nil).want(t, 200)
		items := r.JSON()["items"].([]any)
		// school a: a1 and the new student in grade 3, a2 in grade 5.
		if len(items) != 2 || items[0].(map[string]any)["grade"] != 3.0 || items[0].(map[string]any)["students"] != 2.0 ||
			items[1].(map[string]any)["grade"] != 5.0 {
			t.Fatalf("breakdown %s", r.Body)
		}
	})
	t.Run("byCategory", func(t *testing.T) {
		r := s.do("GET", "/api/v1/stats/breakdown?by=category", s.token(w.bureauCity), nil).want(t, 200)
		if items := r.JSON()["items"].([]any); len(items) != 0 || r.JSON()["by"] != "category" {
			t.Fatalf("breakdown %s", r.Body)
		}
	})
	cases := []struct {
		name   string
		by     models.User
		query  string
		status int
		code   string
	}{
		{"badBy422", w.bureauCity, "by=gender", 422, "invalid_field"},
		{"bureauOtherRegion404", w.bureauCounty2, fmt.Sprintf("by=grade&region_id=%d", w.county1.ID), 404, "not_found"},
		{"schoolAdminOtherSchool404", w.adminB, fmt.Sprintf("by=grade&school_id=%d", w.a.ID), 404, "not_found"},
		{"noSnapshot404", w.bureauCity, "by=grade&date=2020-01-01", 404, "no_snapshot"},
		{"parent403", w.parentA, "by=grade", 403, "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.do("GET", "/api/v1/stats/breakdown?"+c.query, s.token(c.by), nil).want(t, c.status, c.code)
		})
	}
}
