package main

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// checkSummary fails unless m["offering"] is the club's summary.
func checkSummary(t *testing.T, what string, m map[string]any, id int64, name string) {
	t.Helper()
	o, ok := m["offering"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no offering summary in %v", what, m)
	}
	if jnum(o, "id") != id || o["name"] != name || o["kind"] != "club" || o["category"] != "sports" || o["teacher"] != "王老师" ||
		o["venue"] != "操场" || fmt.Sprint(o["weekdays"]) != "[2 4]" || o["start_time"] != "16:30" || o["end_time"] != "18:00" ||
		o["term_name"] != "2026秋季学期" || o["term_id"] == nil || o["status"] == nil {
		t.Fatalf("%s: summary %v", what, o)
	}
}

// TestParentScreensShapes: the children come with the login and /me, each
// with its live enrollments; every enrollment and session names its club
// by one summary; a withdrawal says why; a cancelled club stays readable
// to its former families.
func TestParentScreensShapes(t *testing.T) {
	w := newEnrollWorld(t)
	f := withTemplates(t, w.testServer, nil)
	oid := w.publishedOffering(t, nil)

	t.Run("enrollAnswerNamesTheClub", func(t *testing.T) {
		e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201).JSON()
		checkSummary(t, "POST /enrollments", e, oid, "篮球社")
	})
	t.Run("meChildrenWithEnrollments", func(t *testing.T) {
		me := w.do("GET", "/api/v1/me", w.parentTok, nil).want(t, 200).JSON()
		kids := me["children"].([]any)
		if len(kids) != 1 {
			t.Fatalf("children %v", kids)
		}
		ens := kids[0].(map[string]any)["enrollments"].([]any)
		if len(ens) != 1 {
			t.Fatalf("enrollments %v", ens)
		}
		checkSummary(t, "GET /me", ens[0].(map[string]any), oid, "篮球社")
	})
	t.Run("loginAnswersChildren", func(t *testing.T) {
		r := w.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(*w.parent.OpenID, "")}).want(t, 200).JSON()
		kids, _ := r["children"].([]any)
		if len(kids) != 1 || len(kids[0].(map[string]any)["enrollments"].([]any)) != 1 {
			t.Fatalf("login answer children %v", r["children"])
		}
	})
	t.Run("newParentLoginEmptyChildren", func(t *testing.T) {
		r := w.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("oBrandNew", "")}).want(t, 200)
		if kids, ok := r.JSON()["children"].([]any); !ok || len(kids) != 0 {
			t.Fatalf("answer %s", r.Body)
		}
	})
	t.Run("studentEnrollmentsAndSessionsNameTheClub", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok, nil).want(t, 200).JSON()
		checkSummary(t, "student enrollments", r["items"].([]any)[0].(map[string]any), oid, "篮球社")
		s := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?limit=1", oid), w.parentTok, nil).want(t, 200).JSON()
		if items := s["items"].([]any); len(items) > 0 {
			checkSummary(t, "sessions", items[0].(map[string]any), oid, "篮球社")
		}
	})

	// A second child, enrolled by the school and withdrawn by it; the
	// club is then cancelled under the first.
	other := modelstest.Student(t, w.db, w.schoolID, 4, "")
	if err := w.db.Tx(context.Background(), func(tx *gorm.DB) error { return models.LinkParent(tx, w.parent.ID, other.ID, "phone") }); err != nil {
		t.Fatal(err)
	}
	e2 := w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": other.ID, "offering_id": oid}).want(t, 201).JSON()
	t.Run("withdrawReasonSchool", func(t *testing.T) {
		r := w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(e2, "id")), w.adminTok, nil).want(t, 200).JSON()
		if r["withdraw_reason"] != models.WithdrawnBySchool {
			t.Fatalf("answer %v", r)
		}
	})
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/cancel", oid), w.adminTok, map[string]any{"reason": "教练调离"}).want(t, 200)
	t.Run("withdrawReasonOfferingCancelled", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok, nil).want(t, 200).JSON()
		e := r["items"].([]any)[0].(map[string]any)
		if e["status"] != "withdrawn" || e["withdraw_reason"] != models.WithdrawnOfferingCancelled {
			t.Fatalf("enrollment %v", e)
		}
		if o := e["offering"].(map[string]any); o["status"] != "cancelled" {
			t.Fatalf("summary %v", o)
		}
	})
	t.Run("cancelledClubReadableToFormerFamily", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), w.parentTok, nil).want(t, 200)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions", oid), w.parentTok, nil).want(t, 200)
	})
	t.Run("cancelledClub404ToOthers", func(t *testing.T) {
		stranger := modelstest.Parent(t, w.db, modelstest.Student(t, w.db, w.schoolID, 3, "").ID)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), w.token(stranger), nil).want(t, 404)
	})
	t.Run("withdrawReasonParent", func(t *testing.T) {
		o2 := w.publishedOffering(t, func(m map[string]any) { m["name"] = "美术社"; m["weekdays"] = []int{1} })
		e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": o2}).want(t, 201).JSON()
		r := w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(e, "id")), w.parentTok, nil).want(t, 200).JSON()
		if r["withdraw_reason"] != models.WithdrawnByParent {
			t.Fatalf("answer %v", r)
		}
	})
}
