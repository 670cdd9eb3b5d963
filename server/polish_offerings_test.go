package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestReopenOfferingHTTP: a school admin reopens a closed club (closed →
// published); reopening a published one is 409, a teacher gets 403.
func TestReopenOfferingHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	id := w.publishedOffering(t, nil)
	path := fmt.Sprintf("/api/v1/offerings/%d/reopen", id)
	w.do("POST", path, w.adminTok, nil).want(t, 409, "invalid_status")
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/close", id), w.adminTok, nil).want(t, 200)
	w.do("POST", path, w.teacherTok, nil).want(t, 403)
	w.do("POST", path, w.otherAdminTok, nil).want(t, 404)
	got := w.do("POST", path, w.adminTok, nil).want(t, 200).JSON()
	if got["status"] != "published" {
		t.Fatalf("status %v", got["status"])
	}
}

// TestOfferingCategoryHTTP: answers carry the category's Chinese label; an
// unknown category is 422 on create and on PATCH; the breakdown by
// category has one row per code, with its label.
func TestOfferingCategoryHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	create := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
	r := w.do("POST", create, w.adminTok, w.offeringBody(func(b map[string]any) { b["category"] = "体育" })).want(t, 201).JSON()
	if r["category"] != "sports" || r["category_label"] != "体育" {
		t.Fatalf("category %v label %v", r["category"], r["category_label"])
	}
	m := checkError(t, w.do("POST", create, w.adminTok, w.offeringBody(func(b map[string]any) { b["category"] = "篮球" })), 422, "invalid_field")
	if f, _ := m["fields"].(map[string]any); f["category"] == nil {
		t.Fatalf("no category field error: %v", m)
	}
	id := w.publishedOffering(t, nil)
	w.do("PATCH", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok, map[string]any{"category": "球类"}).want(t, 422, "invalid_field")
	got := w.do("PATCH", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok, map[string]any{"category": "music"}).want(t, 200).JSON()
	if got["category_label"] != "音乐" {
		t.Fatalf("label %v", got["category_label"])
	}
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": id}).want(t, 201)
	platform := w.token(modelstest.Staff(t, w.db, models.RolePlatformAdmin, 0, 0))
	w.do("POST", create, w.adminTok, w.offeringBody(func(b map[string]any) { b["category"] = "sports" })).want(t, 201)
	w.do("POST", "/api/v1/jobs/stats/run", platform, nil).want(t, 200)
	b := w.do("GET", fmt.Sprintf("/api/v1/stats/breakdown?by=category&school_id=%d", w.schoolID), w.adminTok, nil).want(t, 200).JSON()
	items, _ := b["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("breakdown rows %v (only the published music club runs)", items)
	}
	row := items[0].(map[string]any)
	if row["category"] != "music" || row["category_label"] != "音乐" {
		t.Fatalf("row %v", row)
	}
}

// TestSchoolAndTermEditsHTTP: a bureau admin renames and closes a school
// (409 on a taken name, 403 for a school admin); a school admin edits a
// term's name after it started (409 for its dates), deletes an unused term
// (204) and not one with offerings (409).
func TestSchoolAndTermEditsHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	school := fmt.Sprintf("/api/v1/schools/%d", w.schoolID)
	var other models.School
	w.db.R.Raw("SELECT * FROM schools WHERE id = ?", w.otherSchoolID).Scan(&other)
	w.do("PATCH", school, w.bureauTok, map[string]any{"name": other.Name}).want(t, 409, "school_name_taken")
	w.do("PATCH", school, w.adminTok, map[string]any{"name": "新名"}).want(t, 403)
	w.do("PATCH", school, w.bureauTok, map[string]any{"status": "gone"}).want(t, 422, "invalid_field")
	got := w.do("PATCH", school, w.bureauTok, map[string]any{"name": "城关第一小学", "status": "closed"}).want(t, 200).JSON()
	if got["name"] != "城关第一小学" || got["status"] != "closed" || got["closed_at"] == nil {
		t.Fatalf("school %v", got)
	}
	w.do("POST", "/api/v1/schools", w.bureauTok, map[string]any{"name": "城关第一小学", "region_id": other.RegionID}).want(t, 409, "school_name_taken")

	term := fmt.Sprintf("/api/v1/schools/%d/terms/%d", w.schoolID, w.termID) // started 2026-09-01
	w.do("PATCH", term, w.adminTok, map[string]any{"ends_on": "2027-01-25"}).want(t, 409, "term_started")
	if r := w.do("PATCH", term, w.adminTok, map[string]any{"name": "秋季学期"}).want(t, 200).JSON(); r["name"] != "秋季学期" {
		t.Fatalf("term %v", r)
	}
	w.do("PATCH", term, w.teacherTok, map[string]any{"name": "x"}).want(t, 403)
	w.do("PATCH", term, w.otherAdminTok, map[string]any{"name": "x"}).want(t, 404)
	w.publishedOffering(t, nil)
	w.do("DELETE", term, w.adminTok, nil).want(t, 409, "term_has_offerings")
	spare := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok, map[string]any{
		"name": "2027春季学期", "starts_on": "2027-02-20", "ends_on": "2027-07-10", "max_clubs": 0}).want(t, 422).JSON()
	if f, _ := spare["fields"].(map[string]any); f["max_clubs"] == nil {
		t.Fatalf("max_clubs 0: %v", spare)
	}
	id := jnum(w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok, map[string]any{
		"name": "2027春季学期", "starts_on": "2027-02-20", "ends_on": "2027-07-10", "max_clubs": 1}).want(t, 201).JSON(), "id")
	spareTerm := fmt.Sprintf("/api/v1/schools/%d/terms/%d", w.schoolID, id)
	w.do("PATCH", spareTerm, w.adminTok, map[string]any{"starts_on": "2027-02-25", "max_clubs": 3}).want(t, 200)
	w.do("DELETE", spareTerm, w.adminTok, nil).want(t, 204)
	w.do("DELETE", spareTerm, w.adminTok, nil).want(t, 404)
}

// TestInvisibleCharactersInNamesHTTP: an offering name, teacher or venue
// with a bidi override or a zero-width space is 422 naming the field, on
// create and on PATCH, and nothing is written.
func TestInvisibleCharactersInNamesHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	create := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
	for _, tc := range []struct{ field, value string }{
		{"name", "篮球\u202e社"},
		{"name", "\u200b"},
		{"teacher", "王\u200b老师"},
		{"venue", "操场\u2066"},
	} {
		m := checkError(t, w.do("POST", create, w.adminTok, w.offeringBody(func(b map[string]any) { b[tc.field] = tc.value })), 422, "invalid_field")
		if f, _ := m["fields"].(map[string]any); f[tc.field] == nil {
			t.Fatalf("%s %q: no field error: %v", tc.field, tc.value, m)
		}
	}
	id := w.publishedOffering(t, nil)
	w.do("PATCH", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok, map[string]any{"name": "美术\u202e社"}).want(t, 422, "invalid_field")
	got := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok, nil).want(t, 200).JSON()
	if s, _ := got["name"].(string); !models.PlainText(s) {
		t.Fatalf("name written: %q", s)
	}
}
