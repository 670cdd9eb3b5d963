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
