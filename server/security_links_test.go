package main

import (
	"fmt"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestGuardianLinkRevocation: the school removes a link, a guardian unlinks
// a child, a guardian asks for the child's data to be deleted and the
// school confirms — each answered by the routes, with tenancy, and each
// taking effect at the next request.
func TestGuardianLinkRevocation(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	at := s.token(modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0))
	teacher := s.token(modelstest.Staff(t, s.db, models.RoleTeacher, school.ID, 0))
	otherAdmin := s.token(modelstest.Staff(t, s.db, models.RoleSchoolAdmin, modelstest.School(t, s.db, region.ID).ID, 0))
	const mother, father = "13922220002", "13811110001"
	roster := rosterHeader + "\nV1,吴一,女,3,1班,吴母," + mother + ",母亲\nV1,吴一,女,3,1班,吴父," + father + ",父亲\n"
	url := fmt.Sprintf("/api/v1/schools/%d/roster", school.ID)
	s.do("POST", url, at, roster, "Content-Type", "text/csv").want(t, 200)
	var studentID int64
	s.db.R.Raw("SELECT id FROM students WHERE school_id = ? AND student_no = 'V1'", school.ID).Scan(&studentID)
	login := func(openid, phone string) (string, int64) {
		r := s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(openid, "")}).want(t, 200).JSON()
		tok := r["access_token"].(string)
		s.do("POST", "/api/v1/me/phone", tok, map[string]string{"code": f.PhoneCode(phone)}).want(t, 200)
		return tok, int64(r["user"].(map[string]any)["id"].(float64))
	}
	motherTok, motherID := login("oMotherV", mother)
	fatherTok, _ := login("oFatherV", father)
	child := fmt.Sprintf("/api/v1/students/%d/enrollments", studentID)
	links := fmt.Sprintf("/api/v1/students/%d/guardian-links", studentID)
	s.do("GET", child, motherTok, nil).want(t, 200)

	t.Run("listLinks200", func(t *testing.T) {
		items := s.do("GET", links, at, nil).want(t, 200).JSON()["items"].([]any)
		first := items[0].(map[string]any)
		if len(items) != 2 || first["via"] != "phone" || first["phone_masked"] == mother {
			t.Fatalf("links %v", items)
		}
	})
	t.Run("listLinksTeacher403", func(t *testing.T) { s.do("GET", links, teacher, nil).want(t, 403) })
	t.Run("listLinksOtherSchool404", func(t *testing.T) { s.do("GET", links, otherAdmin, nil).want(t, 404) })
	t.Run("removeOtherSchool404", func(t *testing.T) {
		s.do("DELETE", fmt.Sprintf("%s/%d", links, motherID), otherAdmin, nil).want(t, 404)
		s.do("GET", child, motherTok, nil).want(t, 200)
	})
	t.Run("schoolRemovesLink204", func(t *testing.T) {
		s.do("DELETE", fmt.Sprintf("%s/%d", links, motherID), at, nil).want(t, 204)
		s.do("GET", child, motherTok, nil).want(t, 404)
		s.do("DELETE", fmt.Sprintf("%s/%d", links, motherID), at, nil).want(t, 404)
		// Proving the phone again does not restore it: its guardian went too.
		kids := s.do("POST", "/api/v1/me/phone", motherTok, map[string]string{"code": f.PhoneCode(mother)}).want(t, 200).JSON()["children"].([]any)
		if len(kids) != 0 {
			t.Fatalf("children after re-proving %v", kids)
		}
	})
	t.Run("guardianUnlinks204", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/me/children/%d", studentID)
		s.do("DELETE", path, fatherTok, nil).want(t, 204)
		s.do("GET", child, fatherTok, nil).want(t, 404)
		s.do("DELETE", path, fatherTok, nil).want(t, 404)
		s.do("DELETE", path, at, nil).want(t, 403)
	})
	t.Run("deletionRequestConfirmed", func(t *testing.T) {
		s.do("POST", url, at, roster, "Content-Type", "text/csv").want(t, 200)
		s.do("POST", "/api/v1/me/phone", motherTok, map[string]string{"code": f.PhoneCode(mother)}).want(t, 200)
		s.do("GET", child, motherTok, nil).want(t, 200)
		req := fmt.Sprintf("/api/v1/me/children/%d/deletion-request", studentID)
		id := int64(s.do("POST", req, motherTok, map[string]string{"reason": "转学"}).want(t, 201).JSON()["id"].(float64))
		s.do("POST", req, motherTok, nil).want(t, 409, "deletion_pending")
		list := s.do("GET", fmt.Sprintf("/api/v1/schools/%d/deletion-requests?status=pending&limit=1", school.ID), at, nil).want(t, 200).JSON()
		if items := list["items"].([]any); len(items) != 1 || list["next_cursor"] != "" {
			t.Fatalf("pending requests %v", list)
		}
		confirm := fmt.Sprintf("/api/v1/deletion-requests/%d/confirm", id)
		s.do("POST", confirm, otherAdmin, nil).want(t, 404)
		s.do("POST", confirm, at, nil).want(t, 200)
		s.do("POST", confirm, at, nil).want(t, 409, "deletion_not_pending")
		s.do("GET", child, motherTok, nil).want(t, 404)
		var name string
		s.db.R.Raw("SELECT name FROM students WHERE id = ?", studentID).Scan(&name)
		if name != models.ErasedName {
			t.Fatalf("name after erasure %q", name)
		}
	})
}
