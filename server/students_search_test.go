package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestStudentsSearchAndWaiver: GET /schools/{id}/students takes q (part
// of the name, or the student number from its start, either case, bounded
// and checked as the orders list's q) and names each student's waiver; the
// roster import counts the waivers its file set.
func TestStudentsSearchAndWaiver(t *testing.T) {
	f := newRosterFixture(t)
	body := "student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship,fee_waiver,waiver_reason\n" +
		"Sa2026001,张小明,男,3,2班,张伟,13812345678,父亲,全免,低保\n" +
		"SA2026002,Lily Wang,女,3,2班,王强,13712345678,父亲,,\n" +
		"B2026003,小明明,男,4,1班,李强,13612345678,父亲,减半,建档立卡\n" +
		"B2026004,100%赵,男,4,1班,赵强,13512345678,父亲,无,\n"
	r := f.csv(t, body).want(t, 200).JSON()
	if r["created"] != float64(4) || r["waivers"] != float64(2) {
		t.Fatalf("import answer %v, want 4 created and 2 waivers", r)
	}
	path := fmt.Sprintf("/api/v1/schools/%d/students", f.school.ID)
	names := func(t *testing.T, q string) string {
		t.Helper()
		m := f.s.do("GET", path+"?q="+url.QueryEscape(q), f.token, nil).want(t, 200).JSON()
		var out []string
		for _, it := range m["items"].([]any) {
			out = append(out, it.(map[string]any)["student_no"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ name, q, want string }{
		{"partOfName", "小明", "Sa2026001,B2026003"},
		{"nameEitherCase", "lily", "SA2026002"},
		{"numberFromStartEitherCase", "sA2026", "Sa2026001,SA2026002"},
		{"numberNotInside", "2026", ""},
		{"wildcardsLiteral", "100%", "B2026004"},
		{"underscoreLiteral", "_", ""},
		{"blankIsAll", "  ", "Sa2026001,SA2026002,B2026003,B2026004"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := names(t, c.q); got != c.want {
				t.Fatalf("q=%q: %q, want %q", c.q, got, c.want)
			}
		})
	}
	t.Run("searchPages", func(t *testing.T) {
		m := f.s.do("GET", path+"?limit=1&q=sa2026", f.token, nil).want(t, 200).JSON()
		if len(m["items"].([]any)) != 1 || m["next_cursor"] == "" {
			t.Fatalf("first page %v", m)
		}
		m = f.s.do("GET", path+"?limit=1&q=sa2026&cursor="+m["next_cursor"].(string), f.token, nil).want(t, 200).JSON()
		if it := m["items"].([]any); len(it) != 1 || it[0].(map[string]any)["student_no"] != "SA2026002" {
			t.Fatalf("second page %v", m)
		}
	})
	t.Run("waiverColumn", func(t *testing.T) {
		m := f.s.do("GET", path, f.token, nil).want(t, 200).JSON()
		got := map[string]string{}
		for _, it := range m["items"].([]any) {
			s := it.(map[string]any)
			got[s["student_no"].(string)] = s["fee_waiver"].(string) + "/" + s["waiver_reason"].(string)
		}
		want := map[string]string{"Sa2026001": "full/dibao", "SA2026002": "none/", "B2026003": "half/poverty_registered", "B2026004": "none/"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("waivers %v, want %v", got, want)
		}
	})
	t.Run("teacherNoWaiver200", func(t *testing.T) {
		// A waiver's reason is health or social-assistance data: a
		// teacher of the school reads the roster without it.
		teacher := modelstest.Staff(t, f.s.db, models.RoleTeacher, f.school.ID, 0)
		m := f.s.do("GET", path, f.s.token(teacher), nil).want(t, 200).JSON()
		items := m["items"].([]any)
		if len(items) != 4 {
			t.Fatalf("a teacher's roster = %v", m)
		}
		for _, it := range items {
			s := it.(map[string]any)
			if _, has := s["fee_waiver"]; has {
				t.Fatalf("a teacher reads %s's waiver: %v", s["student_no"], s)
			}
			if _, has := s["waiver_reason"]; has {
				t.Fatalf("a teacher reads %s's waiver reason: %v", s["student_no"], s)
			}
		}
	})
	t.Run("tooLong422", func(t *testing.T) {
		f.s.do("GET", path+"?q="+url.QueryEscape(strings.Repeat("长", 41)), f.token, nil).want(t, 422, "invalid_field")
	})
	t.Run("badText422", func(t *testing.T) {
		f.s.do("GET", path+"?q=%FF", f.token, nil).want(t, 422, "invalid_field")
	})
	t.Run("anotherSchool404", func(t *testing.T) {
		other := modelstest.Staff(t, f.s.db, models.RoleSchoolAdmin, modelstest.School(t, f.s.db, f.school.RegionID).ID, 0)
		f.s.do("GET", path+"?q=a", f.s.token(other), nil).want(t, 404)
	})
	t.Run("reimportCountsNoWaiver", func(t *testing.T) {
		if r := f.csv(t, body).want(t, 200).JSON(); r["waivers"] != float64(0) {
			t.Fatalf("the same file again = %v, want 0 waivers", r)
		}
	})
}
